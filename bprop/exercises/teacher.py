"""The teacher's file: points per exercise or per check, and hidden checks.

A Python file kept out of the student kit and passed to
``bprop exercises grade DIR --teacher FILE``::

    from bprop.exercises import Check, Outcome

    POINTS = {
        "sigmoid": 20,                                      # the exercise is worth 20
        "linear": {"dx matches bprop.layers.Linear": 5},    # one check is worth 5
    }

    def stable_for_large_inputs(mod):                       # mod: the student's module
        import numpy as np
        layer = mod.Sigmoid()
        layer.forward(np.array([[800.0, -800.0]]))
        dx = layer.backward(np.ones((1, 2)))
        return Outcome(bool(np.isfinite(dx).all()), "backward overflows at |x| = 800")

    CHECKS = {"sigmoid": [Check("stable at |x| = 800", 2, stable_for_large_inputs)]}

An exercise's points are scaled to the given total (each check keeps its
share, rounded so that the total is exact). Hidden checks run after the
exercise's own, in the student's grading process; they may return an
`Outcome` or a bool.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .spec import Check, Exercise


@dataclass
class TeacherFile:
    """What a teacher file sets: ``points`` and hidden ``checks`` per exercise."""

    path: str
    points: dict[str, int | dict[str, int]] = field(default_factory=dict)
    checks: dict[str, list[Check]] = field(default_factory=dict)

    def apply(self, exercise: Exercise) -> Exercise:
        """The exercise with this file's points and hidden checks."""
        checks = list(exercise.checks)
        wanted = self.points.get(exercise.name)
        if isinstance(wanted, int):
            checks = _scaled(checks, wanted)
        elif isinstance(wanted, dict):
            known = {c.description for c in checks}
            for description in wanted:
                if description not in known:
                    raise ValueError(
                        f"{self.path}: POINTS[{exercise.name!r}] names the check "
                        f"{description!r}, which {exercise.name} does not have; its checks: "
                        + "; ".join(sorted(known)))
            checks = [dataclasses.replace(c, points=wanted.get(c.description, c.points))
                      for c in checks]
        hidden = [dataclasses.replace(c, hidden=True) for c in self.checks.get(exercise.name, [])]
        return dataclasses.replace(exercise, checks=tuple(checks + hidden))


def _scaled(checks: list[Check], total: int) -> list[Check]:
    """Each check's share of ``total``, rounded by largest remainders (sums exactly)."""
    old = sum(c.points for c in checks)
    exact = [c.points * total / old for c in checks]
    points = [int(x) for x in exact]
    order = sorted(range(len(checks)), key=lambda i: exact[i] - points[i], reverse=True)
    for i in order[: total - sum(points)]:
        points[i] += 1
    return [dataclasses.replace(c, points=p) for c, p in zip(checks, points, strict=True)]


def load(path: str | Path) -> TeacherFile:
    """Execute the teacher file and validate ``POINTS`` and ``CHECKS``.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If an exercise name is unknown or a value has the wrong type.
    """
    from .checks import EXERCISES

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such teacher file: {path}")
    spec = importlib.util.spec_from_file_location("bprop_teacher_file", path)
    module = importlib.util.module_from_spec(spec)
    # In sys.modules, where the grading process's fingerprint watches it.
    sys.modules["bprop_teacher_file"] = module
    spec.loader.exec_module(module)
    names = {e.name for e in EXERCISES}
    points = getattr(module, "POINTS", {})
    checks = getattr(module, "CHECKS", {})
    for what, table in (("POINTS", points), ("CHECKS", checks)):
        if not isinstance(table, dict):
            raise ValueError(f"{path}: {what} must be a dict keyed by exercise name")
        for name in table:
            if name not in names:
                raise ValueError(f"{path}: {what} names the exercise {name!r}; the exercises "
                                 f"are {', '.join(e.name for e in EXERCISES)}")
    for name, value in points.items():
        ok = (isinstance(value, int) and value >= 0) or (
            isinstance(value, dict)
            and all(isinstance(p, int) and p >= 0 for p in value.values()))
        if not ok:
            raise ValueError(f"{path}: POINTS[{name!r}] must be a total (int >= 0) or a dict "
                             f"of check description -> points, got {value!r}")
    for name, value in checks.items():
        if not isinstance(value, list | tuple) or not all(isinstance(c, Check) for c in value):
            raise ValueError(f"{path}: CHECKS[{name!r}] must be a list of "
                             "bprop.exercises.Check")
    return TeacherFile(str(path), dict(points), {k: list(v) for k, v in checks.items()})
