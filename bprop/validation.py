"""Argument checks at the boundary: one clear message per mistake.

- constructors' arguments: `check_int`, `check_positive`, `check_nonnegative`,
  `check_unit_interval` (a ``ValueError`` naming the argument);
- the estimators' parameters, checked in ``fit`` against a declarative table
  (``_parameter_constraints``) by `validate_params`, with scikit-learn's
  wording so that code matching on it keeps working::

      The 'alpha' parameter of MLPClassifier must be a float in the range
      [0.0, inf). Got -1 instead.

  (scikit-learn keeps its own machinery private, so `Interval`, `Options`,
  `InstanceOf` are a small re-implementation of the kinds the MLPs need);
- data: `check_data`, `check_sample_weight` (scikit-learn's messages), `all_finite`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any, Protocol, runtime_checkable

import numpy as np
from scipy.sparse import issparse


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


def check_sample_weight(sample_weight: Any, n_samples: int, dtype: Any) -> np.ndarray:
    """Per-sample weights as a fresh 1-D array of ``dtype``, with scikit-learn's messages.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or float
        One weight per sample; a single number weighs every sample the same.
    n_samples : int
        How many samples the weights belong to.
    dtype : float32 or float64
        The dtype of the returned array (the training data's).

    Returns
    -------
    w : ndarray of shape (n_samples,)
        A copy: the caller's array is never changed.

    Raises
    ------
    ValueError
        If a weight is NaN or infinite, negative, the shape is not
        ``(n_samples,)``, or every weight is zero (worded as scikit-learn's
        ``_check_sample_weight``; unlike scikit-learn's MLP, a negative weight
        is refused, as it makes the loss unbounded below).
    """
    if is_number(sample_weight):
        w = np.full(n_samples, sample_weight, dtype=dtype)
    else:
        w = np.array(sample_weight, dtype=dtype)
    if np.isnan(w).any():
        raise ValueError("Input sample_weight contains NaN.")
    if np.isinf(w).any():
        raise ValueError(
            f"Input sample_weight contains infinity or a value too large for {w.dtype!r}."
        )
    if w.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {w.ndim}D array. Expected "
            f"either a scalar value or a 1D array of length {n_samples}."
        )
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n_samples,)}!")
    if (w < 0).any():
        raise ValueError("Negative values in data passed to `sample_weight`")
    if not (w > 0).any():
        raise ValueError(
            "Sample weights must contain at least one non-zero number: sample_weight is "
            "zero for every sample, nothing to train on."
        )
    return w


@runtime_checkable
class RowSource(Protocol):
    """Training data that is not held in memory: rows are read when a batch needs them.

    `bprop.config.data.MappedRows` (a memory-mapped ``.npy`` file, standardized
    row by row) is one. The Trainer gathers minibatches with ``X[idx]`` and
    predicts in slices ``X[i:j]``; both return dense float arrays of ``dtype``.
    The source checks its values (finite) once, when it is built.
    """

    shape: tuple[int, ...]
    dtype: np.dtype

    def __getitem__(self, rows: Any) -> np.ndarray: ...

    def astype(self, dtype: Any, copy: bool = True) -> RowSource: ...


def check_data(
    X: Any, y: Any, sample_weight: Any, dtype: np.dtype, *, name: str = "X"
) -> tuple[Any, Any, Any]:
    """Validate training data at the boundary: X 2-D (or N-D), numeric and finite (cast to
    ``dtype`` once, no copy when it already is), targets and weights matching.

    Parameters
    ----------
    X : array-like, scipy.sparse matrix or RowSource, shape (n_samples, ...)
        A sparse X stays sparse: it comes back as CSR (a CSC matrix is
        converted once, so that minibatches are row slices), never densified.
        A `RowSource` is taken as it is (its rows are checked as it reads them).
    y : array-like, shape (n_samples,) or (n_samples, k), or None
    sample_weight : array-like, shape (n_samples,), float, or None
    dtype : float32 or float64
    name : str
        What X is called in messages.

    Returns
    -------
    X, y, sample_weight
        X as an ndarray, a CSR matrix or the RowSource, in ``dtype``.

    Raises
    ------
    ValueError
        For non-numeric, empty, non-finite or mismatched data.
    """
    if issparse(X):
        X = _check_sparse(X, dtype, name)
    elif isinstance(X, RowSource) and not isinstance(X, np.ndarray):
        X = X.astype(dtype, copy=False)
    else:
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise ValueError(f"{name} must be numeric, got dtype {X.dtype}")
        if X.ndim < 2:  # N-D samples (images) are for a model that starts with Flatten
            raise ValueError(f"{name} must be 2-D (samples, features), or (samples, ...) for a "
                             f"model that starts with Flatten; got shape {X.shape}")
        X = X.astype(dtype, copy=False)
        if X.shape[0] and not all_finite(X):
            raise ValueError(f"{name} contains NaN or infinity; clean or impute it before "
                             "training")
    if X.shape[0] == 0:
        raise ValueError(f"{name} has 0 samples; at least 1 is required")
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
        sample_weight = check_sample_weight(sample_weight, X.shape[0], dtype)
    return X, y, sample_weight


def _check_sparse(X: Any, dtype: np.dtype, name: str) -> Any:
    """A scipy.sparse X as CSR of ``dtype``: copies only the non-zeros, and only if needed."""
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.format not in ("csr", "csc"):
        raise ValueError(f"{name} is a sparse {X.format.upper()} matrix; pass CSR or CSC "
                         "(X.tocsr())")
    X = X.tocsr().astype(dtype, copy=False)  # minibatches are rows: CSR gathers them cheaply
    if not all_finite(X.data):
        raise ValueError(f"{name} contains NaN or infinity; clean or impute it before training")
    return X


# --- the estimators' parameters, in scikit-learn's words ---


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter with a bad type or value.

    Inherits from both ValueError and TypeError, as scikit-learn's error of the
    same name does, so ``except ValueError`` and ``except TypeError`` both
    catch it.
    """


class Constraint:
    """A rule a parameter value may satisfy; ``str()`` says it in words."""

    def is_satisfied_by(self, value: Any) -> bool:
        """Whether ``value`` obeys the rule.

        Parameters
        ----------
        value : object
            A constructor parameter's value.

        Returns
        -------
        bool
        """
        raise NotImplementedError


class Interval(Constraint):
    """A number of ``kind`` between ``left`` and ``right``.

    Parameters
    ----------
    kind : {numbers.Integral, numbers.Real}
    left, right : float or None
        The bounds; None is infinite.
    closed : {"left", "right", "both", "neither"}, default="left"
        Which bounds belong to the interval.
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
    """One of a few values.

    Parameters
    ----------
    kind : {str, float}
        str for names, float for ``inf``.
    options : set
        The allowed values.
    """

    def __init__(self, kind: type, options: set[Any]) -> None:
        self.kind, self.options = kind, options

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.kind) and value in self.options

    def __str__(self) -> str:
        article = "a str" if self.kind is str else "a float"
        items = ", ".join(repr(o) for o in sorted(self.options))
        return f"{article} among {{{items}}}"


class InstanceOf(Constraint):
    """An instance of a type.

    Parameters
    ----------
    kind : type or tuple of type
    name : str
        How the message spells the type (``"list"``).
    """

    def __init__(self, kind: type | tuple[type, ...], name: str) -> None:
        self.kind, self.name = kind, name

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.kind)

    def __str__(self) -> str:
        return f"an instance of {self.name!r}"


class _Named(Constraint):
    """A rule given as a test function and its wording."""

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
