"""`Value`: reverse-mode automatic differentiation on scalars.

Every arithmetic operation on a `Value` builds a node that remembers its
inputs and how to pass a gradient back to them. ``out.backward()`` then visits
the nodes from ``out`` back to the leaves and applies the chain rule at each
gate: *input gradient = local gradient x upstream gradient*.

Every value is a Python float (a scalar, no shape); its gradient is in units
of the output per unit of the value (``dout/dself``).

The design is micrograd's ``engine.py`` (A. Karpathy, 2020,
https://github.com/karpathy/micrograd): a node holds ``data``, ``grad``, its
inputs and a ``_backward`` closure, and ``backward()`` walks a topological
order in reverse. Reverse-mode differentiation itself is described in
Baydin, Pearlmutter, Radul and Siskind, "Automatic differentiation in machine
learning: a survey", JMLR 18(153), 2018, section 3.2. Additions to micrograd:
``log``, ``sin``, ``cos``, ``sigmoid``, ``abs``, ``max``, division as its own
gate (micrograd writes ``a * b**-1``), a power with a node as exponent, an
iterative topological sort, and PyTorch's values where a derivative is not
defined (kinks, ``0 ** n``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

Number = int | float


def _noop() -> None:
    pass


class Value:
    """A scalar node of a computational graph, with its gradient.

    Forward: each operation computes ``out.data`` from its inputs' ``.data``.
    Backward: ``out.backward()`` sets ``out.grad = 1`` and, in reverse
    topological order, each node adds ``local_gradient * node.grad`` to the
    ``.grad`` of each of its inputs. For ``c = a * b``::

        a.grad += b.data * c.grad        # dc/da = b
        b.grad += a.data * c.grad        # dc/db = a

    **Gradients add up at forks.** A node used twice (``y = x * x``, or ``x``
    feeding two gates) receives a contribution from each use, and the total
    derivative is their sum (the multivariable chain rule). That is why every
    gate *accumulates* with ``+=``. Layers in `bprop.layers` do the opposite
    and *overwrite* their parameter gradients: a layer runs once per pass,
    whereas a scalar node may feed many consumers.

    Parameters
    ----------
    data : float
        The node's forward value.
    children : tuple of Value, optional
        The nodes this one was computed from (empty for a leaf).
    op : str, optional
        The gate's name, shown by `bprop.graph.draw`.
    label : str, optional
        A readable name for drawings and tables.

    Attributes
    ----------
    data : float
        Forward value.
    grad : float
        dout/dself after ``out.backward()``; 0 before.

    Examples
    --------
    >>> x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    >>> f = (x + y) * z
    >>> f.backward()
    >>> f.data, x.grad, y.grad, z.grad
    (-12.0, -4.0, -4.0, 3.0)

    A new gate is a node plus a ``_backward`` closure that accumulates::

        out = Value(math.sinh(x.data), (x,), "sinh")
        def _backward():
            x.grad += math.cosh(x.data) * out.grad
        out._backward = _backward
    """

    __slots__ = ("data", "grad", "label", "_backward", "_prev", "_op")

    def __init__(
        self, data: Number, children: tuple[Value, ...] = (), op: str = "", label: str = ""
    ) -> None:
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        # A leaf has nothing to pass its gradient to.
        self._backward: Callable[[], None] = _noop
        # A tuple, not a set: order is kept for drawings, and `x + x` keeps
        # both uses so that both contributions are added.
        self._prev = tuple(children)
        self._op = op

    # -- the gates ------------------------------------------------------
    def __add__(self, other: Value | Number) -> Value:
        """The add gate, ``out = self + other``.

        Backward: ``d(out)/d(self) = d(out)/d(other) = 1``, so both inputs
        receive ``out.grad`` unchanged.

        Parameters
        ----------
        other : Value or float
            A number becomes a constant leaf (its gradient is computed but
            reaches no one).

        Returns
        -------
        Value
            A new node with inputs ``(self, other)``.
        """
        other = _as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            # The add gate distributes the upstream gradient unchanged.
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Value | Number) -> Value:
        """The multiply gate, ``out = self * other``.

        Backward: ``d(out)/d(self) = other``, ``d(out)/d(other) = self``
        (each input receives the *other* input's value times ``out.grad``).

        Parameters
        ----------
        other : Value or float

        Returns
        -------
        Value
            A new node with inputs ``(self, other)``.
        """
        other = _as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            # The multiply gate swaps its inputs: d(ab)/da = b.
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other: Value | Number) -> Value:
        """The power gate, ``out = self ** other``.

        Backward: ``d(out)/d(self) = n * self**(n - 1)`` with ``n = other``;
        for a `Value` exponent also ``d(out)/d(other) = out * log(self)``
        (0 where ``self = 0``, nan where ``self < 0``, as ``torch.pow``).
        At ``self = 0`` the slope is PyTorch's: 0 for ``n = 0``, inf for
        ``0 < n < 1``. ``x ** 2`` overflowing float64 gives inf (signed for
        an odd integer power), not an OverflowError.

        Parameters
        ----------
        other : Value or float
            The exponent n. A number is a constant and gets no node; a
            `Value` is differentiated too.

        Returns
        -------
        Value
            A new node with inputs ``(self,)``, or ``(self, other)`` for a
            `Value` exponent.

        Raises
        ------
        ZeroDivisionError
            For ``self = 0`` and ``n < 0``.
        ValueError
            For ``self < 0`` and a non-integer n (no real result).
        """
        if isinstance(other, Value):
            return _power(self, other)
        n = float(other)
        out = Value(_pow_value(self.data, n), (self,), f"**{other:g}")
        dy_dx = _pow_slope(self.data, n)

        def _backward() -> None:
            if out.grad:  # a zero upstream gradient adds nothing, even where dy_dx is inf
                self.grad += dy_dx * out.grad

        out._backward = _backward
        return out

    def __rpow__(self, base: Number) -> Value:
        """``out = base ** self`` for a number base (``2 ** x``).

        Backward: ``d(out)/d(self) = out * log(base)`` (0 for ``base = 0``,
        nan for ``base < 0``); the base becomes a constant leaf.

        Parameters
        ----------
        base : float

        Returns
        -------
        Value
            A new node with inputs ``(Value(base), self)``.

        Raises
        ------
        ZeroDivisionError
            For ``base = 0`` and ``self < 0``.
        ValueError
            For ``base < 0`` and a non-integer ``self``.
        """
        return _power(Value(base), self)

    def _unary(self, op: str, y: float, dy_dx: float) -> Value:
        """A one-input gate with output ``y`` and local gradient ``dy_dx``."""
        out = Value(y, (self,), op)

        def _backward() -> None:
            if out.grad:  # a zero upstream gradient adds nothing, even where dy_dx is inf
                self.grad += dy_dx * out.grad

        out._backward = _backward
        return out

    def exp(self) -> Value:
        """``out = e**self``, the exp gate.

        Backward: ``d(out)/d(self) = e**self = out`` (the output itself).
        Beyond float64's range (``self > 709.78``) ``out`` is inf, as in
        numpy and PyTorch, rather than an OverflowError.

        Returns
        -------
        Value
            A new node with input ``(self,)``.
        """
        y = _exp(self.data)
        return self._unary("exp", y, y)

    def log(self) -> Value:
        """``out = ln(self)``, the natural logarithm.

        Backward: ``d(out)/d(self) = 1 / self``.

        Returns
        -------
        Value
            A new node with input ``(self,)``.

        Raises
        ------
        ValueError
            For ``self <= 0`` (no real logarithm).
        """
        return self._unary("log", _log(self.data), 1.0 / self.data)

    def sin(self) -> Value:
        """``out = sin(self)``, self in radians.

        Backward: ``d(out)/d(self) = cos(self)``.

        Returns
        -------
        Value
            A new node with input ``(self,)``.

        Raises
        ------
        ValueError
            For ``self = +-inf`` (``math.sin``'s domain).
        """
        return self._unary("sin", math.sin(self.data), math.cos(self.data))

    def cos(self) -> Value:
        """``out = cos(self)``, self in radians.

        Backward: ``d(out)/d(self) = -sin(self)``.

        Returns
        -------
        Value
            A new node with input ``(self,)``.

        Raises
        ------
        ValueError
            For ``self = +-inf`` (``math.cos``'s domain).
        """
        return self._unary("cos", math.cos(self.data), -math.sin(self.data))

    def tanh(self) -> Value:
        """``out = tanh(self)``.

        Backward: ``d(out)/d(self) = 1 - out**2``, from the output, as
        `bprop.layers.Tanh` computes it.

        Returns
        -------
        Value
            A new node with input ``(self,)``.
        """
        y = math.tanh(self.data)
        return self._unary("tanh", y, 1.0 - y * y)

    def sigmoid(self) -> Value:
        """``out = 1 / (1 + e**-self)``, the logistic function.

        Backward: ``d(out)/d(self) = out * (1 - out)``. The forward takes
        one of two algebraically equal forms by the sign of ``self``, so
        that ``e**x`` never overflows.

        Returns
        -------
        Value
            A new node with input ``(self,)``.
        """
        y = _sigmoid(self.data)
        return self._unary("sigmoid", y, y * (1.0 - y))

    def relu(self) -> Value:
        """``out = max(0, self)``.

        Backward: ``d(out)/d(self) = 1`` where ``self > 0``, else 0 (also at
        the kink ``self = 0``, as PyTorch and `bprop.layers.ReLU`).

        Returns
        -------
        Value
            A new node with input ``(self,)``.
        """
        return self._unary("relu", max(self.data, 0.0), float(self.data > 0))

    def abs(self) -> Value:
        """``out = |self|``.

        Backward: ``d(out)/d(self) = sign(self)``, 0 at the kink
        ``self = 0`` (as ``torch.abs``).

        Returns
        -------
        Value
            A new node with input ``(self,)``.
        """
        sign = float(self.data > 0) - float(self.data < 0)
        return self._unary("abs", abs(self.data), sign)

    def max(self, other: Value | Number) -> Value:
        """The max gate, ``out = max(self, other)``: it routes the gradient to the larger input.

        Backward: ``d(out)/d(self) = 1`` and ``d(out)/d(other) = 0`` where
        ``self > other`` (the reverse where smaller); on a tie each takes
        1/2, as ``torch.maximum`` does.

        Parameters
        ----------
        other : Value or float

        Returns
        -------
        Value
            A new node with inputs ``(self, other)``.
        """
        other = _as_value(other)
        out = Value(max(self.data, other.data), (self, other), "max")
        share_self = 1.0 if self.data > other.data else 0.5 if self.data == other.data else 0.0

        def _backward() -> None:
            self.grad += share_self * out.grad
            other.grad += (1.0 - share_self) * out.grad

        out._backward = _backward
        return out

    # -- everything else is built from the gates above ------------------
    def __neg__(self) -> Value:
        """``out = -self``, as ``self * -1``: ``d(out)/d(self) = -1``.

        Returns
        -------
        Value
        """
        return self * -1

    def __radd__(self, other: Number) -> Value:
        """``out = other + self`` for a number on the left (``2 + x``).

        Backward: ``d(out)/d(self) = 1``.

        Parameters
        ----------
        other : float

        Returns
        -------
        Value
        """
        return self + other

    def __sub__(self, other: Value | Number) -> Value:
        """``out = self - other``, as ``self + (-other)``.

        Backward: ``d(out)/d(self) = 1``, ``d(out)/d(other) = -1``.

        Parameters
        ----------
        other : Value or float

        Returns
        -------
        Value
        """
        return self + (-other)

    def __rsub__(self, other: Number) -> Value:
        """``out = other - self`` for a number on the left (``2 - x``).

        Backward: ``d(out)/d(self) = -1``.

        Parameters
        ----------
        other : float

        Returns
        -------
        Value
        """
        return other + (-self)

    def __rmul__(self, other: Number) -> Value:
        """``out = other * self`` for a number on the left (``2 * x``).

        Backward: ``d(out)/d(self) = other``.

        Parameters
        ----------
        other : float

        Returns
        -------
        Value
        """
        return self * other

    def __truediv__(self, other: Value | Number) -> Value:
        """The division gate, ``out = self / other``.

        Backward: ``d(out)/d(self) = 1 / other`` and
        ``d(out)/d(other) = -self / other**2 = -out / other``.

        Parameters
        ----------
        other : Value or float

        Returns
        -------
        Value
            A new node with inputs ``(self, other)``.

        Raises
        ------
        ZeroDivisionError
            Where ``other`` is 0.
        """
        other = _as_value(other)
        if other.data == 0:
            raise ZeroDivisionError(
                f"division by zero: {self.data:g} / {other.data:g} (the denominator's value is 0)")
        out = Value(self.data / other.data, (self, other), "/")

        def _backward() -> None:
            self.grad += out.grad / other.data
            other.grad += -out.data / other.data * out.grad

        out._backward = _backward
        return out

    def __rtruediv__(self, other: Number) -> Value:
        """``out = other / self`` for a number on the left (``1 / x``).

        Backward: ``d(out)/d(self) = -other / self**2``.

        Parameters
        ----------
        other : float

        Returns
        -------
        Value

        Raises
        ------
        ZeroDivisionError
            Where ``self`` is 0.
        """
        return _as_value(other) / self

    def __abs__(self) -> Value:
        """``abs(x)``: the `abs` gate, ``d(out)/d(self) = sign(self)``.

        Returns
        -------
        Value
        """
        return self.abs()

    # -- backpropagation ------------------------------------------------
    def backward(self, *, zero_grad: bool = False) -> None:
        """Add dself/dleaf to ``.grad`` of every leaf this node depends on.

        As in PyTorch and micrograd, **leaf gradients accumulate** across
        calls: ``l1.backward(); l2.backward()`` leaves ``dl1/dw + dl2/dw`` in
        ``w.grad`` (a per-sample loop), and a training step starts with
        ``model.zero_grad()``. Inner nodes start from 0 on every call, since
        their old gradient would be passed on a second time.

        Parameters
        ----------
        zero_grad : bool, default=False
            Reset the leaves' gradients to 0 first.
        """
        order = topological_order(self)
        for node in order:
            if zero_grad or node._prev:
                node.grad = 0.0
        self.grad += 1.0  # dself/dself
        # Reverse topological order: a node passes its gradient back only
        # after every consumer has added its contribution to it.
        for node in reversed(order):
            node._backward()

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, each after all of its inputs.

    An explicit stack instead of micrograd's recursion, so a chain of
    10,000 gates does not hit Python's recursion limit. A node is pushed
    twice: once to expand its inputs, once (``done=True``) to be emitted
    after all of them.

    Parameters
    ----------
    root : Value
        The output node.

    Returns
    -------
    list of Value
        Each node reachable from ``root`` once, inputs before the nodes
        computed from them; ``root`` is last, the leaves come early.
    """
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in node._prev if id(child) not in seen)
    return order


def gradient(f: Callable[..., Value], xs: Iterable[Number]) -> tuple[float, list[float]]:
    """``f(*xs)`` and its gradient with respect to every argument, by one backward pass.

    One pass whatever the number of inputs, against ``len(xs)`` forward
    passes for `bprop.graph.forward_gradient`: the reason reverse mode trains
    networks (Baydin et al. 2018, section 3.2).

    Parameters
    ----------
    f : callable
        ``f(*values) -> Value``, a scalar function built from `Value` gates.
    xs : iterable of float
        The point, one number per argument of ``f``.

    Returns
    -------
    value : float
        ``f(*xs)``.
    grad : list of float
        ``df/dxs[i]`` for every i, in units of f per unit of ``xs[i]``.

    Examples
    --------
    >>> gradient(lambda x, y: x * y + y, [3.0, 2.0])
    (8.0, [2.0, 4.0])
    """
    leaves = [Value(x) for x in xs]
    out = f(*leaves)
    out.backward()
    return out.data, [leaf.grad for leaf in leaves]


def _as_value(x: Value | Number) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _power(base: Value, exponent: Value) -> Value:
    """``base ** exponent`` with both in the graph, PyTorch's values.

    d/dbase = exponent * base**(exponent - 1); d/dexponent = base**exponent * log(base),
    0 where base is 0 (and exponent >= 0), nan where base < 0 (no real logarithm;
    ``torch.pow`` gives nan there too).
    """
    x, n = base.data, exponent.data
    out = Value(_pow_value(x, n), (base, exponent), "**")
    d_base = _pow_slope(x, n)
    if x > 0:
        d_exponent = out.data * math.log(x)
    else:
        d_exponent = 0.0 if x == 0 else math.nan

    def _backward() -> None:
        base.grad += d_base * out.grad
        exponent.grad += d_exponent * out.grad

    out._backward = _backward
    return out


def _pow_value(x: float, n: float) -> float:
    """``x ** n`` as a real number, or an error that says why there is none."""
    if x == 0 and n < 0:
        raise ZeroDivisionError(
            f"{x:g} ** {n:g}: a negative power of 0 divides by zero (1 / 0 ** {-n:g})")
    if x < 0 and not float(n).is_integer():
        raise ValueError(
            f"({x:g}) ** {n:g}: a fractional power of a negative number is not a real number")
    try:
        return float(x**n)
    except OverflowError:
        return math.copysign(math.inf, x) if float(n).is_integer() and n % 2 else math.inf


def _pow_slope(x: float, n: float) -> float:
    """``d(x ** n)/dx = n x**(n-1)``; PyTorch's values at 0: 0 for n = 0, inf for 0 < n < 1."""
    if n == 0:
        return 0.0
    if x == 0 and n < 1:
        return math.inf  # 0 ** 0.5: the slope of sqrt at 0
    return n * _pow_value(x, n - 1)


def _log(x: float) -> float:
    if x <= 0:
        raise ValueError(f"log({x:g}): the logarithm is defined for x > 0 only")
    return math.log(x)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:  # e**x beyond float64's range: inf, as numpy and PyTorch give
        return math.inf


def _sigmoid(x: float) -> float:
    # Two branches so that exp never overflows for large |x|.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
