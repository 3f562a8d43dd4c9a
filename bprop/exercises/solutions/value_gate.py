"""Exercise: a new gate for the scalar graph, softplus.

    softplus(x) = log(1 + exp(x)),     d softplus / dx = 1 / (1 + exp(-x))

A gate makes a new `Value` from its inputs' ``.data`` (forward) and gives it
a ``_backward`` function that passes ``out.grad`` back to each input,
multiplied by the local gradient (backward). Look at how ``Value.exp`` or
``Value.__mul__`` do it in ``bprop/graph/value.py``::

    out = Value(forward_value, (x,), "softplus")
    def _backward():
        ...          # update x.grad from out.grad
    out._backward = _backward
    return out

Remember that ``x`` may feed other gates too.
"""

import math

from bprop.graph import Value


def softplus(x: Value) -> Value:
    """The softplus gate, as one node of the graph."""
    # BEGIN SOLUTION: out.data = log(1 + e^x); in _backward, x.grad gets local gradient * out.grad
    # log1p(exp(-|x|)) + max(x, 0) is log(1 + e^x) without overflow for large x.
    out = Value(math.log1p(math.exp(-abs(x.data))) + max(x.data, 0.0), (x,), "softplus")

    def _backward() -> None:
        # += because x may feed several gates; each adds its share.
        x.grad += 0.5 * (1.0 + math.tanh(0.5 * x.data)) * out.grad

    out._backward = _backward
    return out
    # END SOLUTION
