"""Grade a whole class: ``python exercises/grade_class.py SUBMISSIONS/ --csv grades.csv``.

The same as ``bprop exercises grade-class SUBMISSIONS/ --csv grades.csv``
(installed with the package; see `bprop.exercises.classroom`), kept for
scripts that call this file.
"""

from __future__ import annotations

import sys

from bprop.exercises.cli import main as exercises_main


def main(argv: list[str] | None = None) -> int:
    return exercises_main(["grade-class", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
