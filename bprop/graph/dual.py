"""`Dual`: forward-mode automatic differentiation with dual numbers."""

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
        other = _as_dual(other)
        return Dual(self.value + other.value, self.deriv + other.deriv)

    def __mul__(self, other: Dual | Number) -> Dual:
        other = _as_dual(other)
        return Dual(self.value * other.value, self.deriv * other.value + self.value * other.deriv)

    def __truediv__(self, other: Dual | Number) -> Dual:
        other = _as_dual(other)
        if other.value == 0:
            raise ZeroDivisionError(f"division by zero: {self.value:g} / {other.value:g} "
                                    "(the denominator's value is 0)")
        # Quotient rule: (a/b)' = (a' b - a b') / b**2
        deriv = (self.deriv * other.value - self.value * other.deriv) / other.value**2
        return Dual(self.value / other.value, deriv)

    def __rtruediv__(self, other: Number) -> Dual:
        return _as_dual(other) / self

    def __pow__(self, other: Dual | Number) -> Dual:
        """``x ** n``: PyTorch's values (0 ** 0 = 1 with slope 0, slope inf for 0 ** 0.5)."""
        other = _as_dual(other)
        x, n = self.value, other.value
        y = _pow_value(x, n)
        deriv = _pow_slope(x, n) * self.deriv if self.deriv else 0.0
        if other.deriv:  # d/dn x**n = x**n log x: 0 at x = 0, nan for x < 0 (as torch.pow)
            deriv += (y * math.log(x) if x > 0 else 0.0 if x == 0 else math.nan) * other.deriv
        return Dual(y, deriv)

    def __rpow__(self, base: Number) -> Dual:
        return _as_dual(base) ** self

    def _chain(self, y: float, dy_dx: float) -> Dual:
        """``g(x)`` with value ``y`` and ``g'(x) = dy_dx``: the chain rule, forwards."""
        return Dual(y, dy_dx * self.deriv)

    def exp(self) -> Dual:
        y = _exp(self.value)
        return self._chain(y, y)

    def log(self) -> Dual:
        return self._chain(_log(self.value), 1.0 / self.value)

    def sin(self) -> Dual:
        return self._chain(math.sin(self.value), math.cos(self.value))

    def cos(self) -> Dual:
        return self._chain(math.cos(self.value), -math.sin(self.value))

    def tanh(self) -> Dual:
        y = math.tanh(self.value)
        return self._chain(y, 1.0 - y * y)

    def sigmoid(self) -> Dual:
        y = 0.5 * (1.0 + math.tanh(0.5 * self.value))  # overflow-free sigmoid
        return self._chain(y, y * (1.0 - y))

    def relu(self) -> Dual:
        return self._chain(max(self.value, 0.0), float(self.value > 0))

    def abs(self) -> Dual:
        sign = float(self.value > 0) - float(self.value < 0)
        return self._chain(abs(self.value), sign)

    def max(self, other: Dual | Number) -> Dual:
        """The larger input, with its derivative (on a tie the mean, as ``torch.maximum``)."""
        other = _as_dual(other)
        if self.value == other.value:
            return Dual(self.value, 0.5 * (self.deriv + other.deriv))
        return self if self.value > other.value else other

    def __neg__(self) -> Dual:
        return Dual(-self.value, -self.deriv)

    def __radd__(self, other: Number) -> Dual:
        return self + other

    def __sub__(self, other: Dual | Number) -> Dual:
        return self + (-_as_dual(other))

    def __rsub__(self, other: Number) -> Dual:
        return _as_dual(other) + (-self)

    def __rmul__(self, other: Number) -> Dual:
        return self * other

    def __abs__(self) -> Dual:
        return self.abs()

    def __repr__(self) -> str:
        return f"Dual(value={self.value:.6g}, deriv={self.deriv:.6g})"


def derivative(f: Callable[[Dual], Dual], x: Number) -> tuple[float, float]:
    """``f(x)`` and ``f'(x)`` by one forward pass with the seed ``deriv = 1``.

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
    ``df/dxs[i]``: the cost grows with the number of inputs.
    """
    grad, value = [], 0.0
    for i in range(len(xs)):
        out = f(*(Dual(x, float(i == j)) for j, x in enumerate(xs)))
        grad.append(out.deriv)
        value = out.value
    return value, grad


def _as_dual(x: Dual | Number) -> Dual:
    return x if isinstance(x, Dual) else Dual(x)
