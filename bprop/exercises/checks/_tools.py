"""Helpers shared by the checks: comparing arrays and naming known mistakes."""

from __future__ import annotations

import numpy as np

from ..spec import Outcome, StudentOutputError

RTOL = 1e-6


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest ``|a - b| / (|a| + |b|)``, relative at every scale (as the gradient checker).

    Entries far below the array's largest (1e-9 of it) are compared on that
    scale instead: rounding leaves 1e-17 where the truth has 0.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    floor = 1e-9 * max(float(np.max(np.abs(b))), float(np.max(np.abs(a))), 1e-300)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))


def compare(what: str, actual, expected: np.ndarray, mistakes: dict[str, np.ndarray]) -> Outcome:
    """Compare a student's array with the truth; on failure, name the mistake.

    ``mistakes`` maps a message to the wrong answer that mistake produces;
    the first one the student's answer matches (shape and values) is
    reported, so a message can say *which* bug it is rather than only that
    the numbers differ.
    """
    try:
        actual = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        return Outcome(False, f"{what} must be a numeric array, got {type(actual).__name__}")
    for message, wrong in mistakes.items():
        wrong = np.asarray(wrong, dtype=np.float64)
        if actual.shape == wrong.shape and rel_error(actual, wrong) < RTOL:
            if not (actual.shape == expected.shape and rel_error(actual, expected) < RTOL):
                return Outcome(False, f"{what}: {message}")
    if actual.shape != expected.shape:
        return Outcome(False, f"{what} has shape {actual.shape}, expected {expected.shape}")
    if not np.all(np.isfinite(actual)):
        return Outcome(False, f"{what} contains nan or inf")
    err = rel_error(actual, expected)
    if err >= RTOL:
        return Outcome(False, f"{what} is wrong: largest relative error {err:.1e}")
    return Outcome(True)


def own_array(what: str, value) -> np.ndarray:
    """A private float64 copy of an array the student's code returned or set.

    Only a plain numeric ``numpy.ndarray`` (or a Python/numpy number) is
    accepted, and it is copied *before* the check computes what it expects:
    an object whose ``__array__`` or ``__float__`` runs code could otherwise
    read the expected values from the grader's frames.

    Raises
    ------
    StudentOutputError
        If ``value`` is anything else (a subclass, a list, an object array).
    """
    if type(value) in (float, int, np.float64, np.float32, np.int64, np.int32):
        return np.array(float(value))
    if type(value) is not np.ndarray or value.dtype.kind not in "biuf":
        shown = type(value).__name__
        if type(value) is np.ndarray:
            shown = f"an array of dtype {value.dtype}"
        raise StudentOutputError(f"{what} must be a numpy array of numbers (np.ndarray), "
                                 f"got {shown}")
    return np.array(value, dtype=np.float64, copy=True)


def own_float(what: str, value) -> float:
    """`own_array` for one number (a ``Value``'s data or grad)."""
    array = own_array(what, value)
    if array.shape != ():
        raise StudentOutputError(f"{what} must be one number, got an array of shape "
                                 f"{array.shape}")
    return float(array)


def seeded(seed: int) -> np.random.Generator:
    """Every check draws from its own seeded generator: grades are reproducible."""
    return np.random.default_rng(seed)


def accumulation_outcome(params, first: list[np.ndarray]) -> Outcome:
    """After two identical passes: "+=" only if a gradient that was not 0 doubled.

    A gradient that stayed 0 (never set) doubles trivially, and one that
    changed otherwise (a random layer, an input changed in place) is another
    mistake: neither is reported as accumulation.
    """
    for p, g in zip(params, first, strict=True):
        now = own_array(f"{p.name}.grad", p.grad)
        if now.shape != g.shape:
            return Outcome(False, f"{p.name}.grad has shape {now.shape} after a second "
                                  f"backward, {g.shape} after the first")
        if np.any(g != 0) and np.allclose(now, 2 * g) and not np.allclose(now, g):
            return Outcome(False, f"{p.name}.grad doubled on a second identical "
                                  "forward/backward: gradients accumulate across calls; set "
                                  ".grad = ..., do not +=")
        if not np.allclose(now, g):
            return Outcome(False, f"{p.name}.grad changed on a second identical "
                                  "forward/backward: does backward keep state between calls?")
    return Outcome(True)


def generators(obj) -> list[np.random.Generator]:
    """Every numpy Generator among ``obj``'s attributes (a layer drawing its own noise)."""
    return [v for v in vars(obj).values() if isinstance(v, np.random.Generator)]
