"""Grade a whole class: one sub-directory per student, one CSV row each.

Run: ``python exercises/grade_class.py SUBMISSIONS_DIR [--csv grades.csv]``

``SUBMISSIONS_DIR/alice/``, ``SUBMISSIONS_DIR/bob/``, ... each hold a
student's copy of the files written by ``bprop exercises make``. Each is
graded as ``bprop exercises grade`` would (its ``grades.json`` is written
beside the files), and the CSV has one column of points per exercise.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from bprop.exercises import EXERCISES, grade


def grade_class(submissions: Path, csv_path: Path) -> list[dict[str, object]]:
    """Grade every sub-directory of ``submissions``; write and return the rows."""
    rows = []
    for directory in sorted(p for p in submissions.iterdir() if p.is_dir()):
        report = grade(directory)
        report.write_json(directory / "grades.json")
        row: dict[str, object] = {"student": directory.name}
        row.update({e.name: e.points for e in report.exercises})
        row["total"] = report.points
        rows.append(row)
    fields = ["student", *(e.name for e in EXERCISES), "total"]
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", type=Path, help="one sub-directory per student")
    parser.add_argument("--csv", type=Path, default=Path("grades.csv"), help="output CSV")
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        print(f"grade_class: error: no such directory: {args.submissions}", file=sys.stderr)
        return 2
    rows = grade_class(args.submissions, args.csv)
    max_total = sum(e.points for e in EXERCISES)
    for row in rows:
        print(f"{row['student']:<20} {row['total']:>3}/{max_total}")
    print(f"{len(rows)} submissions graded; wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
