"""`Dual`: forward-mode automatic differentiation with dual numbers.

A dual number ``a + a' eps`` with ``eps**2 = 0`` (W. K. Clifford, 1873)
carries a value and its derivative together; evaluating ``f`` on
``x + 1 eps`` gives ``f(x) + f'(x) eps``, because the Taylor series of
``f(x + x' eps)`` stops after the linear term. This is forward-mode AD as
Baydin, Pearlmutter, Radul and Siskind describe it in "Automatic
differentiation in machine learning: a survey", JMLR 18(153), 2018,
section 3.1 (dual numbers: section 3.1.1). Every value is a Python float (a
scalar); a derivative is in units of the output per unit of the seeded input.

Each operation below states its forward rule as ``out.deriv = ...``; where a
derivative is not defined (kinks, ``0 ** n``) it takes the same value as
`bprop.graph.Value` (PyTorch's), so the two modes agree there too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from .value import _exp, _log, _pow_slope, _pow_value

Number = int | float


class Dual:
    """A dual number ``value + deriv * eps`` with ``eps**2 = 0``.

    Carrying the derivative along with the value applies the chain rule
    *forwards*, in the same order as the computation: for ``y = g(x)``,
    ``y.deriv = g'(x.value) * x.deriv``. Products follow from ``eps**2 = 0``::

        (a + a' eps)(b + b' eps) = ab + (a' b + a b') eps

    One pass gives the derivative of every intermediate quantity with respect
    to *one* input direction (the seed ``deriv``); a gradient of ``n`` inputs
    needs ``n`` passes, against one backward pass in reverse mode
    (`bprop.graph.Value`). No graph is stored, so memory stays constant.

    Parameters
    ----------
    value : float
        The primal value.
    deriv : float, default=0.0
        The tangent: the derivative of ``value`` along the seed direction.
        Seed the input you differentiate by with 1.0, the others with 0.0.

    Examples
    --------
    >>> x = Dual(3.0, 1.0)
    >>> y = x * x + 2 * x
    >>> y.value, y.deriv
    (15.0, 8.0)
    """

    __slots__ = ("value", "deriv")

    def __init__(self, value: Number, deriv: Number = 0.0) -> None:
        self.value = float(value)
        self.deriv = float(deriv)

    def __add__(self, other: Dual | Number) -> Dual:
        """``out = self + other``: ``out.deriv = self.deriv + other.deriv``.

        Parameters
        ----------
        other : Dual or float
            A number is a constant (``deriv = 0``).

        Returns
        -------
        Dual
        """
        other = _as_dual(other)
        return Dual(self.value + other.value, self.deriv + other.deriv)

    def __mul__(self, other: Dual | Number) -> Dual:
        """``out = self * other``, by ``eps**2 = 0``.

        ``out.deriv = self.deriv * other.value + self.value * other.deriv``
        (the product rule).

        Parameters
        ----------
        other : Dual or float

        Returns
        -------
        Dual
        """
        other = _as_dual(other)
        return Dual(self.value * other.value, self.deriv * other.value + self.value * other.deriv)

    def __truediv__(self, other: Dual | Number) -> Dual:
        """``out = self / other`` (the quotient rule).

        ``out.deriv = (self.deriv * other.value - self.value * other.deriv)
        / other.value**2``.

        Parameters
        ----------
        other : Dual or float

        Returns
        -------
        Dual

        Raises
        ------
        ZeroDivisionError
            Where ``other.value`` is 0.
        """
        other = _as_dual(other)
        if other.value == 0:
            raise ZeroDivisionError(f"division by zero: {self.value:g} / {other.value:g} "
                                    "(the denominator's value is 0)")
        # Quotient rule: (a/b)' = (a' b - a b') / b**2
        deriv = (self.deriv * other.value - self.value * other.deriv) / other.value**2
        return Dual(self.value / other.value, deriv)

    def __rtruediv__(self, other: Number) -> Dual:
        """``out = other / self`` for a number on the left (``1 / x``).

        ``out.deriv = -other * self.deriv / self.value**2``.

        Parameters
        ----------
        other : float

        Returns
        -------
        Dual

        Raises
        ------
        ZeroDivisionError
            Where ``self.value`` is 0.
        """
        return _as_dual(other) / self

    def __pow__(self, other: Dual | Number) -> Dual:
        """``out = x ** n`` with ``x = self``, ``n = other``.

        ``out.deriv = n x**(n - 1) * x.deriv + x**n log(x) * n.deriv``; the
        second term only for a `Dual` exponent with a nonzero ``deriv``, and
        0 at ``x = 0``, nan for ``x < 0`` (as ``torch.pow``). PyTorch's
        values at ``x = 0``: ``0 ** 0 = 1`` with slope 0, slope inf for
        ``0 ** 0.5``.

        Parameters
        ----------
        other : Dual or float
            The exponent n.

        Returns
        -------
        Dual

        Raises
        ------
        ZeroDivisionError
            For ``x = 0`` and ``n < 0``.
        ValueError
            For ``x < 0`` and a non-integer n (no real result).
        """
        other = _as_dual(other)
        x, n = self.value, other.value
        y = _pow_value(x, n)
        deriv = _pow_slope(x, n) * self.deriv if self.deriv else 0.0
        if other.deriv:  # d/dn x**n = x**n log x: 0 at x = 0, nan for x < 0 (as torch.pow)
            deriv += (y * math.log(x) if x > 0 else 0.0 if x == 0 else math.nan) * other.deriv
        return Dual(y, deriv)

    def __rpow__(self, base: Number) -> Dual:
        """``out = base ** self`` for a number base (``2 ** x``).

        ``out.deriv = out.value * log(base) * self.deriv`` (0 for
        ``base = 0``, nan for ``base < 0``, as `Value`).

        Parameters
        ----------
        base : float

        Returns
        -------
        Dual

        Raises
        ------
        ZeroDivisionError
            For ``base = 0`` and ``self.value < 0``.
        ValueError
            For ``base < 0`` and a non-integer ``self.value``.
        """
        return _as_dual(base) ** self

    def _chain(self, y: float, dy_dx: float) -> Dual:
        """``g(x)`` with value ``y`` and ``g'(x) = dy_dx``: the chain rule, forwards."""
        # A constant (deriv 0) stays constant, even where g' overflows to inf (inf * 0 is nan).
        return Dual(y, dy_dx * self.deriv if self.deriv else 0.0)

    def exp(self) -> Dual:
        """``out = e**self``: ``out.deriv = out.value * self.deriv``.

        Beyond float64's range ``out.value`` is inf, as `Value.exp`.

        Returns
        -------
        Dual
        """
        y = _exp(self.value)
        return self._chain(y, y)

    def log(self) -> Dual:
        """``out = ln(self)``: ``out.deriv = self.deriv / self.value``.

        Returns
        -------
        Dual

        Raises
        ------
        ValueError
            For ``self.value <= 0`` (no real logarithm).
        """
        return self._chain(_log(self.value), 1.0 / self.value)

    def sin(self) -> Dual:
        """``out = sin(self)``, in radians: ``out.deriv = cos(self.value) * self.deriv``.

        Returns
        -------
        Dual

        Raises
        ------
        ValueError
            For ``self.value = +-inf`` (``math.sin``'s domain).
        """
        return self._chain(math.sin(self.value), math.cos(self.value))

    def cos(self) -> Dual:
        """``out = cos(self)``, in radians: ``out.deriv = -sin(self.value) * self.deriv``.

        Returns
        -------
        Dual

        Raises
        ------
        ValueError
            For ``self.value = +-inf`` (``math.cos``'s domain).
        """
        return self._chain(math.cos(self.value), -math.sin(self.value))

    def tanh(self) -> Dual:
        """``out = tanh(self)``: ``out.deriv = (1 - out.value**2) * self.deriv``.

        Returns
        -------
        Dual
        """
        y = math.tanh(self.value)
        return self._chain(y, 1.0 - y * y)

    def sigmoid(self) -> Dual:
        """``out = 1 / (1 + e**-self)``: ``out.deriv = out.value (1 - out.value) * self.deriv``.

        The value is computed as ``(1 + tanh(x / 2)) / 2``, equal to the
        logistic function and free of overflow for any x.

        Returns
        -------
        Dual
        """
        y = 0.5 * (1.0 + math.tanh(0.5 * self.value))  # overflow-free sigmoid
        return self._chain(y, y * (1.0 - y))

    def relu(self) -> Dual:
        """``out = max(0, self)``: ``out.deriv = self.deriv`` where ``self.value > 0``, else 0.

        0 also at the kink, as `Value.relu`.

        Returns
        -------
        Dual
        """
        return self._chain(max(self.value, 0.0), float(self.value > 0))

    def abs(self) -> Dual:
        """``out = |self|``: ``out.deriv = sign(self.value) * self.deriv`` (0 at the kink).

        Returns
        -------
        Dual
        """
        sign = float(self.value > 0) - float(self.value < 0)
        return self._chain(abs(self.value), sign)

    def max(self, other: Dual | Number) -> Dual:
        """``out = max(self, other)``: the larger input, with its derivative.

        ``out.deriv`` is the larger input's ``deriv``; on a tie the mean of
        both, as ``torch.maximum`` (and `Value.max`) share the gradient.

        Parameters
        ----------
        other : Dual or float

        Returns
        -------
        Dual
            ``self`` or ``other`` itself when they differ, a new `Dual` on a tie.
        """
        other = _as_dual(other)
        if self.value == other.value:
            return Dual(self.value, 0.5 * (self.deriv + other.deriv))
        return self if self.value > other.value else other

    def __neg__(self) -> Dual:
        """``out = -self``: ``out.deriv = -self.deriv``.

        Returns
        -------
        Dual
        """
        return Dual(-self.value, -self.deriv)

    def __radd__(self, other: Number) -> Dual:
        """``out = other + self`` for a number on the left: ``out.deriv = self.deriv``.

        Parameters
        ----------
        other : float

        Returns
        -------
        Dual
        """
        return self + other

    def __sub__(self, other: Dual | Number) -> Dual:
        """``out = self - other``: ``out.deriv = self.deriv - other.deriv``.

        Parameters
        ----------
        other : Dual or float

        Returns
        -------
        Dual
        """
        return self + (-_as_dual(other))

    def __rsub__(self, other: Number) -> Dual:
        """``out = other - self`` for a number on the left: ``out.deriv = -self.deriv``.

        Parameters
        ----------
        other : float

        Returns
        -------
        Dual
        """
        return _as_dual(other) + (-self)

    def __rmul__(self, other: Number) -> Dual:
        """``out = other * self`` for a number on the left: ``out.deriv = other * self.deriv``.

        Parameters
        ----------
        other : float

        Returns
        -------
        Dual
        """
        return self * other

    def __abs__(self) -> Dual:
        """``abs(x)``, the same as `abs`: ``out.deriv = sign(self.value) * self.deriv``.

        Returns
        -------
        Dual
        """
        return self.abs()

    def __repr__(self) -> str:
        return f"Dual(value={self.value:.6g}, deriv={self.deriv:.6g})"


def derivative(f: Callable[[Dual], Dual], x: Number) -> tuple[float, float]:
    """``f(x)`` and ``f'(x)`` by one forward pass with the seed ``deriv = 1``.

    Parameters
    ----------
    f : callable
        ``f(Dual) -> Dual``, a scalar function built from `Dual` operations.
    x : float
        The point.

    Returns
    -------
    value : float
        ``f(x)``.
    deriv : float
        ``f'(x)``, in units of f per unit of x.

    Examples
    --------
    >>> derivative(lambda x: x.sin() * x, 0.0)
    (0.0, 0.0)
    """
    y = f(Dual(x, 1.0))
    return y.value, y.deriv


def forward_gradient(f: Callable[..., Dual], xs: Sequence[Number]) -> tuple[float, list[float]]:
    """``f(*xs)`` and its gradient by ``len(xs)`` forward passes, one seed each.

    Pass ``i`` seeds ``xs[i]`` with 1 and the others with 0, and yields
    ``df/dxs[i]``: the cost grows with the number of inputs, where reverse
    mode (`bprop.graph.gradient`) needs one backward pass (Baydin et al.
    2018, section 3.1).

    Parameters
    ----------
    f : callable
        ``f(*duals) -> Dual``, a scalar function of ``len(xs)`` arguments.
    xs : sequence of float
        The point.

    Returns
    -------
    value : float
        ``f(*xs)`` (0.0 for an empty ``xs``: ``f`` is then never called).
    grad : list of float
        ``df/dxs[i]`` for every i.

    Examples
    --------
    >>> forward_gradient(lambda x, y: x * y + y, [3.0, 2.0])
    (8.0, [2.0, 4.0])
    """
    grad, value = [], 0.0
    for i in range(len(xs)):
        out = f(*(Dual(x, float(i == j)) for j, x in enumerate(xs)))
        grad.append(out.deriv)
        value = out.value
    return value, grad


def _as_dual(x: Dual | Number) -> Dual:
    return x if isinstance(x, Dual) else Dual(x)
