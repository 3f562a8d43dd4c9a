"""Exercise: the backward pass of the sigmoid layer.

Forward (given), elementwise::

    y = sigma(x) = 1 / (1 + exp(-x))

Backward (yours): the chain rule with the local gradient
``dy/dx = sigma'(x)``, which can be written with the output alone::

    dx = dy * sigma'(x)          shapes: dy, dx (N, D)

Write ``backward`` using only what ``forward`` cached. Check your work with
``bprop exercises grade .``
"""

import numpy as np

from bprop.layers import Layer


class Sigmoid(Layer):
    """Elementwise logistic sigmoid."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        # 0.5 * (1 + tanh(x / 2)) is sigma(x) without overflow in exp for large |x|.
        self._y = 0.5 * (1.0 + np.tanh(0.5 * x))
        return self._y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Return dx = dL/dx given dy = dL/dy."""
        # BEGIN SOLUTION: sigma'(x) can be written with the output y = self._y alone
        y = self._y
        return dy * y * (1.0 - y)
        # END SOLUTION
