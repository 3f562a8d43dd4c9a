"""What an exercise is: a student file and the checks that grade it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType


@dataclass
class Outcome:
    """The result of one check.

    Attributes
    ----------
    passed : bool
    message : str
        On failure, what went wrong, naming the likely mistake when the
        wrong answer matches a known one.
    grad_error : float or None
        Largest relative error against finite differences, if the check
        compared gradients numerically.
    """

    passed: bool
    message: str = ""
    grad_error: float | None = None


@dataclass(frozen=True)
class Check:
    """One graded property: ``run(student_module)`` returns an `Outcome` (or raises).

    A teacher's hidden check may also return a bool.
    """

    description: str
    points: int
    run: Callable[[ModuleType], Outcome]
    hidden: bool = False


@dataclass(frozen=True)
class Exercise:
    """An exercise: the file the student edits and the checks that grade it.

    Attributes
    ----------
    name, title, filename : str
    checks : tuple of Check
    own : tuple of str
        Names the student's file must define as *their own* code.
    library : tuple of str
        ``"module:Class"`` of the library's implementations of what is graded
        (``"registry:layer"``: every registered layer). A graded name that is,
        subclasses or calls one of these scores 0 for the exercise.
    """

    name: str
    title: str
    filename: str
    checks: tuple[Check, ...]
    own: tuple[str, ...] = ()
    library: tuple[str, ...] = ()

    @property
    def points(self) -> int:
        return sum(c.points for c in self.checks)


class StudentOutputError(Exception):
    """What the student's code returned is not the plain type a check needs.

    Raised by a check before it uses (or computes anything to compare with)
    the student's output, so nothing the student returns can run code while
    the grader's expected values exist; the runner turns it into that check's
    failure with this message.
    """
