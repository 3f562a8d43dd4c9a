"""Parameter and sample-weight validation with scikit-learn's messages.

The estimators validate their constructor parameters in ``fit`` (never in
``__init__``), from one declarative table per estimator. The messages read
exactly like scikit-learn's, so code that matches on them keeps working::

    The 'alpha' parameter of MLPClassifier must be a float in the range
    [0.0, inf). Got -1 instead.

scikit-learn keeps its own machinery private, so this is a small
re-implementation of the few constraint kinds the MLP estimators need.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils import check_array


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter with a bad type or value.

    Inherits from both ValueError and TypeError, as scikit-learn's error of the
    same name does, so ``except ValueError`` and ``except TypeError`` both
    catch it.
    """


class Constraint:
    """A rule a parameter value may satisfy; ``str()`` says it in words."""

    def is_satisfied_by(self, value: Any) -> bool:
        raise NotImplementedError


class Interval(Constraint):
    """A number of ``kind`` (Integral or Real) between ``left`` and ``right``.

    ``closed`` is one of "left", "right", "both", "neither"; None bounds are
    infinite.
    """

    def __init__(
        self, kind: type, left: float | None, right: float | None, closed: str = "left"
    ) -> None:
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def is_satisfied_by(self, value: Any) -> bool:
        if not isinstance(value, self.kind):
            return False
        if self.kind is Real and isinstance(value, Real) and np.isnan(value):
            return False
        lo = self.left is None or (
            value >= self.left if self.closed in ("left", "both") else value > self.left
        )
        hi = self.right is None or (
            value <= self.right if self.closed in ("right", "both") else value < self.right
        )
        return bool(lo and hi)

    def __str__(self) -> str:
        fmt = int if self.kind is Integral else float
        left = "-inf" if self.left is None else str(fmt(self.left))
        right = "inf" if self.right is None else str(fmt(self.right))
        lb = "[" if self.closed in ("left", "both") and self.left is not None else "("
        rb = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        article = "an int" if self.kind is Integral else "a float"
        return f"{article} in the range {lb}{left}, {right}{rb}"


class Options(Constraint):
    """One of a few values; ``kind`` is str (for names) or float (for ``inf``)."""

    def __init__(self, kind: type, options: set[Any]) -> None:
        self.kind, self.options = kind, options

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.kind) and value in self.options

    def __str__(self) -> str:
        article = "a str" if self.kind is str else "a float"
        items = ", ".join(repr(o) for o in sorted(self.options))
        return f"{article} among {{{items}}}"


class InstanceOf(Constraint):
    """An instance of one type; ``name`` is how the message spells it."""

    def __init__(self, kind: type | tuple[type, ...], name: str) -> None:
        self.kind, self.name = kind, name

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.kind)

    def __str__(self) -> str:
        return f"an instance of {self.name!r}"


class _Named(Constraint):
    def __init__(self, text: str, test: Any) -> None:
        self.text, self.test = text, test

    def is_satisfied_by(self, value: Any) -> bool:
        return bool(self.test(value))

    def __str__(self) -> str:
        return self.text


def _is_array_like(value: Any) -> bool:
    return not isinstance(value, str) and (
        hasattr(value, "__len__") or hasattr(value, "shape") or hasattr(value, "__array__")
    )


ARRAY_LIKE = _Named("an array-like", _is_array_like)
NONE = _Named("None", lambda v: v is None)
BOOLEAN = [InstanceOf(bool, "bool"), InstanceOf(np.bool_, "numpy.bool")]
RANDOM_STATE = [
    Interval(Integral, 0, 2**32 - 1, closed="both"),
    InstanceOf(np.random.RandomState, "numpy.random.mtrand.RandomState"),
    NONE,
]
VERBOSE = [Interval(Integral, 0, None), *BOOLEAN]


def _describe(constraints: Sequence[Constraint]) -> str:
    words = [str(c) for c in constraints]
    if len(words) == 1:
        return words[0]
    return f"{', '.join(words[:-1])} or {words[-1]}"


def validate_params(
    params: Mapping[str, Any], constraints: Mapping[str, Sequence[Constraint]], owner: str
) -> None:
    """Check every parameter that has constraints; raise on the first violation.

    Parameters
    ----------
    params : mapping
        Usually ``estimator.get_params(deep=False)``.
    constraints : mapping of str to list of Constraint
        A value is valid when it satisfies any one of its constraints.
    owner : str
        The estimator's class name, for the message.

    Raises
    ------
    InvalidParameterError
        With scikit-learn's wording.
    """
    for name, allowed in constraints.items():
        value = params[name]
        if not any(c.is_satisfied_by(value) for c in allowed):
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must be {_describe(allowed)}. "
                f"Got {value!r} instead."
            )


def check_sample_weight(sample_weight: Any, n_samples: int, dtype: np.dtype) -> np.ndarray:
    """Per-sample weights as a 1-D array of ``dtype``: ones for None.

    Raises
    ------
    ValueError
        If the shape is wrong, a weight is negative or not finite, or all are
        zero. (scikit-learn's MLP accepts negative weights; a negative weight
        makes the loss unbounded below, so bprop refuses it.)
    """
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    if isinstance(sample_weight, Real):
        w = np.full(n_samples, sample_weight, dtype=dtype)
    else:
        w = check_array(
            sample_weight, ensure_2d=False, dtype=dtype, copy=True, input_name="sample_weight"
        )
    if w.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {w.ndim}D array. Expected "
            f"either a scalar value or a 1D array of length {n_samples}."
        )
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n_samples,)}!")
    if np.any(w < 0):
        raise ValueError("Negative values in data passed to `sample_weight`")
    if not np.any(w > 0):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return w
