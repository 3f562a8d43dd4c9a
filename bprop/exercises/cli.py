"""``bprop exercises make|grade|grade-class``: the command line of the homework kit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .checks import EXERCISES


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``exercises`` command (make, grade, grade-class) to ``subparsers``."""
    parser = subparsers.add_parser(
        "exercises",
        help="make the student version of the backprop exercises, or grade it",
        description="Homework kit: write the exercises for students, then grade their files.",
    )
    commands = parser.add_subparsers(dest="exercises_command",
                                     metavar="{make,grade,grade-class}")
    commands.required = True
    make = commands.add_parser("make", help="write the student version to OUT_DIR")
    make.add_argument("out_dir", metavar="OUT_DIR", help="directory to create or fill")
    make.add_argument("--solutions", action="store_true",
                      help="write the reference solutions instead (for teachers)")
    make.add_argument("--format", choices=["py", "ipynb"], default="py",
                      help="Python files (default) or one Jupyter notebook per exercise")
    make.add_argument("--force", action="store_true", help="overwrite existing files")

    grade = commands.add_parser("grade", help="grade the exercise files in DIR")
    grade.add_argument("dir", metavar="DIR", help="directory holding the student's files")
    grade.add_argument("--only", action="append", metavar="NAME",
                       choices=[e.name for e in EXERCISES],
                       help="grade only this exercise (repeatable)")
    grade.add_argument("--json", metavar="PATH", help="where to write the grades "
                       "(default: DIR/grades.json; feedback.md goes beside it)")
    _limits(grade)

    klass = commands.add_parser(
        "grade-class", help="grade every student's sub-directory of SUBMISSIONS",
        description="Grade SUBMISSIONS/<student>/ for every student, each in a process of "
                    "its own; write grades.json and feedback.md into each directory and "
                    "one CSV row per student.")
    klass.add_argument("submissions", metavar="SUBMISSIONS", help="one sub-directory per student")
    klass.add_argument("--csv", metavar="PATH", default="grades.csv",
                       help="the gradebook to write (default grades.csv)")
    _limits(klass)
    parser.set_defaults(run=run)
    return parser


def _limits(parser: argparse.ArgumentParser) -> None:
    from .grading import MEMORY_MB, TIME_LIMIT

    parser.add_argument("--teacher", metavar="FILE",
                        help="teacher file with POINTS and hidden CHECKS (not in the kit)")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT, metavar="SECONDS",
                        help=f"for importing each file and for each check (default {TIME_LIMIT:g})")
    parser.add_argument("--memory", type=int, default=MEMORY_MB, metavar="MIB",
                        help=f"memory limit of each grading process (default {MEMORY_MB})")


def run(args: argparse.Namespace) -> int:
    """Run ``make``, ``grade`` or ``grade-class``.

    Exit status: ``make`` 0; ``grade`` 0 when every exercise passed, 1 when
    some failed; ``grade-class`` 0 when every submission was graded (whatever
    its points), 1 when some grading process failed; 2 on a usage error.
    """
    from . import grading, kit  # imported here: `bprop --help` stays fast

    try:
        if args.exercises_command == "make":
            written = kit.make(args.out_dir, solutions=args.solutions, force=args.force,
                               fmt=args.format)
            kind = "reference solutions" if args.solutions else "student version"
            print(f"wrote the {kind} of {len(written) - 1} exercises to {args.out_dir}/")
            print(f"grade it with: bprop exercises grade {args.out_dir}")
            return 0
        if args.exercises_command == "grade-class":
            return _grade_class(args)
        report = grading.grade(args.dir, only=args.only, teacher=args.teacher,
                               time_limit=args.time_limit, memory_mb=args.memory)
    except (FileExistsError, FileNotFoundError, ValueError, ImportError, SyntaxError) as err:
        print(f"bprop exercises: error: {err}", file=sys.stderr)
        return 2
    print(report)
    json_path = Path(args.json) if args.json else Path(args.dir) / "grades.json"
    report.write_json(json_path)
    report.write_feedback(json_path.with_name("feedback.md"))
    print(f"\ngrades written to {json_path}, feedback to {json_path.with_name('feedback.md')}")
    return 0 if report.passed else 1


def _grade_class(args: argparse.Namespace) -> int:
    from .classroom import grade_class

    rows = grade_class(args.submissions, args.csv, teacher=args.teacher,
                       time_limit=args.time_limit, memory_mb=args.memory)
    for row in rows:
        note = f"  ({row.error})" if row.error else ""
        print(f"{row.student:<20} {row.report.points:>4}/{row.report.max_points}{note}")
    print(f"{len(rows)} submissions graded; wrote {args.csv}")
    return 1 if any(row.error for row in rows) else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m bprop.exercises make|grade|grade-class ...`` without the ``bprop`` command."""
    parser = argparse.ArgumentParser(prog="python -m bprop.exercises")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["exercises", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run(args)
    except BrokenPipeError:  # `... | head`: the reader left early; not an error
        return 1
