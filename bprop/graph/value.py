"""`Value`: reverse-mode automatic differentiation on scalars.

Every arithmetic operation on a `Value` builds a node that remembers its
inputs and how to pass a gradient back to them. ``out.backward()`` then visits
the nodes from ``out`` back to the leaves and applies the chain rule at each
gate: *input gradient = local gradient x upstream gradient*.
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
        other = _as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            # The add gate distributes the upstream gradient unchanged.
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Value | Number) -> Value:
        other = _as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            # The multiply gate swaps its inputs: d(ab)/da = b.
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other: Value | Number) -> Value:
        if isinstance(other, Value):
            return (other * self.log()).exp()  # x**y = exp(y log x), for x > 0
        n = float(other)
        out = Value(self.data**n, (self,), f"**{other:g}")

        def _backward() -> None:
            self.grad += n * self.data ** (n - 1) * out.grad

        out._backward = _backward
        return out

    def __rpow__(self, base: Number) -> Value:
        # base**x = exp(x log base): d/dx = base**x * log(base)
        out = Value(float(base) ** self.data, (self,), f"{base:g}**")

        def _backward() -> None:
            self.grad += out.data * math.log(base) * out.grad

        out._backward = _backward
        return out

    def _unary(self, op: str, y: float, dy_dx: float) -> Value:
        """A one-input gate with output ``y`` and local gradient ``dy_dx``."""
        out = Value(y, (self,), op)

        def _backward() -> None:
            self.grad += dy_dx * out.grad

        out._backward = _backward
        return out

    def exp(self) -> Value:
        """``e**x``; local gradient ``e**x`` (the output itself)."""
        y = math.exp(self.data)
        return self._unary("exp", y, y)

    def log(self) -> Value:
        """Natural log; local gradient ``1/x``."""
        return self._unary("log", math.log(self.data), 1.0 / self.data)

    def sin(self) -> Value:
        """``sin x``; local gradient ``cos x``."""
        return self._unary("sin", math.sin(self.data), math.cos(self.data))

    def cos(self) -> Value:
        """``cos x``; local gradient ``-sin x``."""
        return self._unary("cos", math.cos(self.data), -math.sin(self.data))

    def tanh(self) -> Value:
        """``tanh x``; local gradient ``1 - y**2`` with ``y = tanh x``."""
        y = math.tanh(self.data)
        return self._unary("tanh", y, 1.0 - y * y)

    def sigmoid(self) -> Value:
        """``1 / (1 + e**-x)``; local gradient ``y (1 - y)``."""
        y = _sigmoid(self.data)
        return self._unary("sigmoid", y, y * (1.0 - y))

    def relu(self) -> Value:
        """``max(0, x)``; local gradient 1 where ``x > 0``, else 0 (also at the kink)."""
        return self._unary("relu", max(self.data, 0.0), float(self.data > 0))

    def abs(self) -> Value:
        """``|x|``; local gradient ``sign(x)`` (0 at the kink)."""
        sign = float(self.data > 0) - float(self.data < 0)
        return self._unary("abs", abs(self.data), sign)

    def max(self, other: Value | Number) -> Value:
        """``max(self, other)``: the max gate routes the gradient to the larger input.

        On a tie the first input (``self``) takes it all, a valid subgradient.
        """
        other = _as_value(other)
        first_wins = self.data >= other.data
        out = Value(self.data if first_wins else other.data, (self, other), "max")

        def _backward() -> None:
            (self if first_wins else other).grad += out.grad

        out._backward = _backward
        return out

    # -- everything else is built from the gates above ------------------
    def __neg__(self) -> Value:
        return self * -1

    def __radd__(self, other: Number) -> Value:
        return self + other

    def __sub__(self, other: Value | Number) -> Value:
        return self + (-other)

    def __rsub__(self, other: Number) -> Value:
        return other + (-self)

    def __rmul__(self, other: Number) -> Value:
        return self * other

    def __truediv__(self, other: Value | Number) -> Value:
        if isinstance(other, Value):
            return self * other**-1
        return self * (1.0 / other)

    def __rtruediv__(self, other: Number) -> Value:
        return other * self**-1

    def __abs__(self) -> Value:
        return self.abs()

    # -- backpropagation ------------------------------------------------
    def backward(self, *, zero_grad: bool = True) -> None:
        """Fill ``.grad`` of every node this one depends on with dself/dnode.

        Parameters
        ----------
        zero_grad : bool, default=True
            Reset every node's gradient to 0 first, so calling ``backward``
            twice gives the same answer. Pass False to accumulate into the
            leaves across several calls (as PyTorch does); inner nodes are
            reset either way, since their old gradients would be passed on
            a second time.
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

    An explicit stack instead of recursion, so a chain of 10,000 gates does
    not hit Python's recursion limit. A node is pushed twice: once to expand
    its inputs, once (``done=True``) to be emitted after all of them.
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


def _sigmoid(x: float) -> float:
    # Two branches so that exp never overflows for large |x|.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
