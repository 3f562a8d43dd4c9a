"""``bprop exercises make|grade``: the command line of the homework kit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .checks import EXERCISES


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``exercises`` command (with ``make`` and ``grade``) to ``subparsers``."""
    parser = subparsers.add_parser(
        "exercises",
        help="make the student version of the backprop exercises, or grade it",
        description="Homework kit: write the exercises for students, then grade their files.",
    )
    commands = parser.add_subparsers(dest="exercises_command", metavar="{make,grade}")
    commands.required = True
    make = commands.add_parser("make", help="write the student version to OUT_DIR")
    make.add_argument("out_dir", metavar="OUT_DIR", help="directory to create or fill")
    make.add_argument("--solutions", action="store_true",
                      help="write the reference solutions instead (for teachers)")
    make.add_argument("--force", action="store_true", help="overwrite existing files")
    grade = commands.add_parser("grade", help="grade the exercise files in DIR")
    grade.add_argument("dir", metavar="DIR", help="directory holding the student's files")
    grade.add_argument("--only", action="append", metavar="NAME",
                       choices=[e.name for e in EXERCISES],
                       help="grade only this exercise (repeatable)")
    grade.add_argument("--json", metavar="PATH", help="where to write the grades "
                       "(default: DIR/grades.json)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``make`` or ``grade``; 0 on success (grade: every exercise passed),
    1 when some exercise failed, 2 on a usage error."""
    from . import grading, kit  # imported here: `bprop --help` stays fast

    try:
        if args.exercises_command == "make":
            written = kit.make(args.out_dir, solutions=args.solutions, force=args.force)
            kind = "reference solutions" if args.solutions else "student version"
            print(f"wrote the {kind} of {len(written) - 1} exercises to {args.out_dir}/")
            print(f"grade it with: bprop exercises grade {args.out_dir}")
            return 0
        report = grading.grade(args.dir, only=args.only)
    except (FileExistsError, FileNotFoundError, ValueError) as err:
        print(f"bprop exercises: error: {err}", file=sys.stderr)
        return 2
    print(report)
    json_path = Path(args.json) if args.json else Path(args.dir) / "grades.json"
    report.write_json(json_path)
    print(f"\ngrades written to {json_path}")
    return 0 if all(e.passed for e in report.exercises) else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m bprop.exercises make|grade ...`` without the main ``bprop`` command."""
    parser = argparse.ArgumentParser(prog="python -m bprop.exercises")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["exercises", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run(args)
    except BrokenPipeError:  # `... | head`: the reader left early; not an error
        return 1
