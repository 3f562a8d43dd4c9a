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


def all_finite(a: np.ndarray, chunk: int = 1 << 16) -> bool:
    """Whether ``a`` holds no NaN or inf, without a boolean copy of ``a``.

    Any NaN or inf makes the sum non-finite, so one reduction settles the usual
    case; only a sum that overflows (huge but finite values) needs the exact
    check, done in chunks so it allocates at most ``chunk`` rows' worth.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(a)):
            return True
    rows = a.reshape(a.shape[0], -1) if a.ndim else a.reshape(1, 1)
    return all(np.isfinite(rows[i : i + chunk]).all() for i in range(0, len(rows), chunk))


def check_data(
    X: Any, y: Any, sample_weight: Any, dtype: np.dtype, *, name: str = "X"
) -> tuple[np.ndarray, Any, Any]:
    """Validate training data at the boundary: X 2-D (or N-D), numeric and finite (cast to
    ``dtype`` once, no copy when it already is), targets and weights matching."""
    X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.ndim < 2:  # N-D samples (images) are for a model that starts with Flatten
        raise ValueError(f"{name} must be 2-D (samples, features), or (samples, ...) for a "
                         f"model that starts with Flatten; got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} has 0 samples; at least 1 is required")
    X = X.astype(dtype, copy=False)
    if not all_finite(X):
        raise ValueError(f"{name} contains NaN or infinity; clean or impute it before training")
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 0:
            raise ValueError(f"the targets of {name} must be an array with one row per sample, "
                             f"got the scalar {y!r}")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"{name} has {X.shape[0]} samples but its targets have {y.shape[0]}")
        if y.dtype.kind == "f":
            if not all_finite(y):
                raise ValueError(f"the targets of {name} contain NaN or infinity")
            y = y.astype(dtype, copy=False)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=dtype)
        if sample_weight.shape != (X.shape[0],):
            raise ValueError(
                f"sample_weight must have shape ({X.shape[0]},), got {sample_weight.shape}"
            )
        if not np.isfinite(sample_weight).all() or (sample_weight < 0).any():
            raise ValueError("sample_weight must be finite and >= 0")
        if not sample_weight.sum() > 0:
            raise ValueError("sample_weight is zero for every sample: nothing to train on")
    return X, y, sample_weight
