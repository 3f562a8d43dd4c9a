"""Helpers shared by the checks: comparing arrays and naming known mistakes."""

from __future__ import annotations

import numpy as np

from ..spec import Outcome

RTOL = 1e-6


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest ``|a - b| / max(|a|, |b|, 1)``: the gradient checker's measure."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1.0)))


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


def seeded(seed: int) -> np.random.Generator:
    """Every check draws from its own seeded generator: grades are reproducible."""
    return np.random.default_rng(seed)
