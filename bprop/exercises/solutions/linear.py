"""Exercise: the backward pass of the fully connected (Linear) layer.

Forward (given)::

    y = x @ W + b        x (N, D_in), W (D_in, D_out), b (D_out,), y (N, D_out)

Backward (yours): given dy = dL/dy, set the parameter gradients and return
dx::

    dW = dL/dW           same shape as W
    db = dL/db           same shape as b
    dx = dL/dx           same shape as x

Every gradient must have the shape of what it differentiates: that is the
quickest check of where a transpose goes. *Set* ``self.weight.grad`` and
``self.bias.grad`` (do not add to them). ``dy`` already carries the loss's
1/N; do not divide again.
"""

import numpy as np

from bprop.layers import Layer
from bprop.parameter import Parameter


class Linear(Layer):
    """Fully connected layer ``y = x @ W + b``."""

    def __init__(self, n_in: int, n_out: int, *, rng=None) -> None:
        rng = np.random.default_rng(rng)
        limit = np.sqrt(6.0 / (n_in + n_out))  # Glorot uniform
        self.weight = Parameter(rng.uniform(-limit, limit, (n_in, n_out)), "weight")
        self.bias = Parameter(np.zeros(n_out), "bias", decay=False)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return x @ self.weight.value + self.bias.value

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Set weight.grad and bias.grad; return dx."""
        # BEGIN SOLUTION: y_nk = sum_j x_nj W_jk + b_k; W and b are shared by all N rows
        x, W = self._x, self.weight.value
        self.weight.grad = x.T @ dy
        self.bias.grad = dy.sum(axis=0)
        return dy @ W.T
        # END SOLUTION
