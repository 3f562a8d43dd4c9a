"""A homework kit on backpropagation: reference solutions, student versions, an autograder.

``bprop exercises make OUT_DIR`` writes one file per exercise with the
solution blocks replaced by hints (`kit.make`); ``bprop exercises grade DIR``
loads the student's files, runs each exercise's checks against the
library's own layers and the gradient checker, and prints a table
(`grading.grade`). The reference solutions, with their ``# BEGIN SOLUTION``
markers, live in ``bprop/exercises/solutions/``; the checks in
``bprop/exercises/checks/``, one module per exercise.
"""

from .checks import EXERCISES
from .grading import GradeReport, grade
from .kit import keep_solutions, make, strip_solutions

__all__ = ["EXERCISES", "GradeReport", "grade", "keep_solutions", "make", "strip_solutions"]
