"""scikit-learn style constraints on the estimators' constructor parameters.

The estimators check their constructor parameters in ``fit`` (never in
``__init__``), against one declarative table per estimator
(``_parameter_constraints``). The messages read
exactly like scikit-learn's, so code that matches on them keeps working::

    The 'alpha' parameter of MLPClassifier must be a float in the range
    [0.0, inf). Got -1 instead.

scikit-learn keeps its own machinery private, so this is a small
re-implementation of the few constraint kinds the MLP estimators need. (The
data checks, sample weights included, are `bprop.validation`'s.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np


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
