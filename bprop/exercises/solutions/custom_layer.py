"""Exercise: a layer of your own, verified by the gradient checker.

Design any layer you like: an activation from a paper (softplus, ELU,
swish, ...), a layer with a parameter of its own, a normalisation. Keep the
name ``MyLayer`` and the constructor ``MyLayer(n_features)``; it receives
input of shape (N, n_features). The grader

- runs ``forward`` on a batch and expects a float array with N rows that is
  not simply the input;
- stacks it after a Linear layer and runs `bprop.gradcheck.check_gradients`
  on the input and on every parameter (yours included);
- calls ``backward`` twice to check that parameter gradients are *set*, not
  accumulated.

Write the formulas of both passes in the docstring. The reference below is
swish with a learnable slope per feature (Ramachandran et al., 2017).
"""

import numpy as np

from bprop.layers import Layer
from bprop.parameter import Parameter


class MyLayer(Layer):
    """Swish with a learnable slope: ``y = x * sigma(beta * x)``, per feature.

    Forward: ``s = sigma(beta x)``, ``y = x s``.
    Backward: ``dx = dy * (s + beta x s (1 - s))``,
    ``dbeta = sum_n dy * x^2 s (1 - s)``.
    """

    def __init__(self, n_features: int) -> None:
        self.beta = Parameter(np.ones(n_features), "beta", decay=False)

    def forward(self, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION: compute y from x and your parameters; cache what backward needs
        self._x = x
        self._s = 0.5 * (1.0 + np.tanh(0.5 * self.beta.value * x))
        return x * self._s
        # END SOLUTION

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION: set each parameter's .grad (no +=) and return dx, shaped like x
        x, s = self._x, self._s
        slope = s * (1.0 - s)
        self.beta.grad = (dy * x * x * slope).sum(axis=0)
        return dy * (s + self.beta.value * x * slope)
        # END SOLUTION
