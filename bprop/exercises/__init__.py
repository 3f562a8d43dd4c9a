"""A homework kit on backpropagation: reference solutions, student versions, an autograder.

``bprop exercises make OUT_DIR`` writes one file (or notebook) per exercise
with the solution blocks replaced by hints (`kit.make`); ``bprop exercises
grade DIR`` grades each of the student's files in a process of its own
against the library's layers and the gradient checker, and prints a table
(`grading.grade`); ``bprop exercises grade-class SUBMISSIONS/`` grades a
whole class (`classroom.grade_class`). The reference solutions, with their
``# BEGIN SOLUTION`` markers, live in ``bprop/exercises/solutions/``; the
checks in ``bprop/exercises/checks/``, one module per exercise; a teacher's
points and hidden checks in a file of their own (`teacher`).
"""

from .checks import EXERCISES
from .grading import GradeReport, grade
from .kit import keep_solutions, make, strip_solutions
from .spec import Check, Exercise, Outcome

__all__ = ["EXERCISES", "Check", "Exercise", "GradeReport", "Outcome", "grade",
           "keep_solutions", "make", "strip_solutions"]
