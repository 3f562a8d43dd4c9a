"""The autograder: run every check against a student's files, report a table and JSON."""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np

from .checks import EXERCISES
from .spec import Check, Exercise

_counter = itertools.count()


@dataclass
class CheckResult:
    description: str
    points: int
    max_points: int
    passed: bool
    message: str = ""
    grad_error: float | None = None


@dataclass
class ExerciseResult:
    name: str
    title: str
    filename: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(c.points for c in self.checks)

    @property
    def max_points(self) -> int:
        return sum(c.max_points for c in self.checks)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def grad_error(self) -> float | None:
        errors = [c.grad_error for c in self.checks if c.grad_error is not None]
        return max(errors) if errors else None

    @property
    def message(self) -> str:
        """The first failing check's message: the thing to fix first."""
        return next((c.message for c in self.checks if not c.passed), "")


@dataclass
class GradeReport:
    """Every exercise's result; ``str(report)`` is the table, `to_dict` the JSON."""

    directory: str
    exercises: list[ExerciseResult]

    @property
    def points(self) -> int:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> int:
        return sum(e.max_points for e in self.exercises)

    def to_dict(self) -> dict:
        return {
            "directory": self.directory,
            "points": self.points,
            "max_points": self.max_points,
            "exercises": [
                {
                    "name": e.name,
                    "title": e.title,
                    "file": e.filename,
                    "points": e.points,
                    "max_points": e.max_points,
                    "passed": e.passed,
                    "grad_error": e.grad_error,
                    "message": e.message,
                    "checks": [asdict(c) for c in e.checks],
                }
                for e in self.exercises
            ],
        }

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    def __str__(self) -> str:
        lines = [f"{'exercise':<14}{'points':>8}  {'result':<7}{'grad error':>11}  message"]
        for e in self.exercises:
            err = "-" if e.grad_error is None else f"{e.grad_error:.1e}"
            first_line = e.message.splitlines()[0] if e.message else ""
            lines.append(
                f"{e.name:<14}{f'{e.points}/{e.max_points}':>8}  "
                f"{'pass' if e.passed else 'FAIL':<7}{err:>11}  {first_line}"
            )
        lines.append(f"{'total':<14}{f'{self.points}/{self.max_points}':>8}")
        if not all(e.passed for e in self.exercises):
            lines.append("\nfailed checks:")
        for e in self.exercises:
            failed = [c for c in e.checks if not c.passed]
            # Checks failing for the same reason (say, not implemented) share one message.
            for message, group in itertools.groupby(failed, key=lambda c: c.message):
                lines.extend(f"  [{e.name}] 0/{c.max_points}  {c.description}" for c in group)
                lines.extend(f"      {line}" for line in message.splitlines())
        return "\n".join(lines)


def grade(directory: str | Path, only: list[str] | None = None) -> GradeReport:
    """Grade the student files in ``directory`` (those named by the exercises).

    Parameters
    ----------
    directory : str or Path
        Holds ``sigmoid.py``, ``linear.py``, ... as written by
        ``bprop exercises make``.
    only : list of str, optional
        Exercise names to grade; all by default.

    Returns
    -------
    GradeReport
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no such directory: {directory}")
    names = [e.name for e in EXERCISES]
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise ValueError(f"unknown exercise {unknown[0]!r}; choose from {', '.join(names)}")
    chosen = [e for e in EXERCISES if only is None or e.name in only]
    return GradeReport(str(directory), [grade_exercise(e, directory) for e in chosen])


def grade_exercise(exercise: Exercise, directory: Path, time_limit: float = 20.0) -> ExerciseResult:
    """Load the student's file in a fresh module and run each check, catching everything."""
    result = ExerciseResult(exercise.name, exercise.title, exercise.filename)
    path = directory / exercise.filename
    try:
        module = load_student_module(path)
    except Exception as err:  # a syntax error or a missing file costs this exercise only
        message = _describe(err, path, f"could not import {exercise.filename}")
        result.checks = [CheckResult(c.description, 0, c.points, False, message)
                         for c in exercise.checks]
        return result
    for check in exercise.checks:
        result.checks.append(_run_check(check, module, path, time_limit))
    return result


def load_student_module(path: Path) -> ModuleType:
    """Execute the file at ``path`` as a new module with a unique name.

    A fresh name each time means no state leaks between exercises or grading
    runs, and the student's file never shadows a real module.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path.name} is missing")
    name = f"bprop_student_{path.stem}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _run_check(check: Check, module: ModuleType, path: Path, time_limit: float) -> CheckResult:
    try:
        with _time_limit(time_limit), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            outcome = check.run(module)
    except NotImplementedError as err:
        hint = str(err)
        outcome_msg = "not implemented yet" + (f" (hint: {hint})" if hint else "")
        return CheckResult(check.description, 0, check.points, False, outcome_msg)
    except Exception as err:
        return CheckResult(check.description, 0, check.points, False, _describe(err, path))
    points = check.points if outcome.passed else 0
    return CheckResult(check.description, points, check.points, outcome.passed,
                       outcome.message, outcome.grad_error)


def _describe(err: BaseException, path: Path, prefix: str = "") -> str:
    """``ErrorType at line N of file: message``, pointing into the student's file."""
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    if isinstance(err, SyntaxError) and err.lineno is not None:
        line = err.lineno
    where = f" at line {line} of {path.name}" if line is not None else ""
    text = f"{type(err).__name__}{where}: {err}"
    return f"{prefix}: {text}" if prefix else text


class GradingTimeout(Exception):
    """A check ran longer than its time limit (an endless loop, say)."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    # SIGALRM exists on POSIX only and only in the main thread; elsewhere the
    # check simply runs without a limit.
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def _raise(signum, frame):
        raise GradingTimeout(f"stopped after {seconds:g} s: is there an endless loop?")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
