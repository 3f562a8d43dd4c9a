"""Argument checks shared by constructors: one clear message per mistake."""

from __future__ import annotations

from typing import Any

import numpy as np


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def check_int(name: str, x: Any, minimum: int = 1) -> int:
    """An integer >= minimum (bools are rejected)."""
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {x!r}")
    return int(x)


def check_positive(name: str, x: Any) -> float:
    """A finite number > 0 (learning rates, eps, ...)."""
    if not is_number(x) or not np.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {x!r}")
    return float(x)


def check_nonnegative(name: str, x: Any) -> float:
    if not is_number(x) or not np.isfinite(x) or x < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")
    return float(x)


def check_unit_interval(name: str, x: Any) -> float:
    """A number in [0, 1) (momentum, betas, dropout rates)."""
    if not is_number(x) or not 0 <= x < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {x!r}")
    return float(x)
