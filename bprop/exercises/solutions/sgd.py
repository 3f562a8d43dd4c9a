"""Exercise: one step of stochastic gradient descent with weight decay.

Weight decay is an L2 penalty ``0.5 * wd * ||W||^2`` added to the loss. Its
gradient, ``wd * W``, joins the loss's gradient before the step::

    g = p.grad + wd * p.value      (only if p.decay; biases are not decayed)
    p.value <- p.value - lr * g

Each parameter is a `bprop.Parameter` with ``.value``, ``.grad`` and
``.decay``. Update ``p.value`` in place.
"""

from bprop.parameter import Parameter


class SGD:
    """Plain SGD with weight decay on the parameters whose ``.decay`` is True."""

    def __init__(self, params: list[Parameter], lr: float, weight_decay: float = 0.0) -> None:
        self.params = list(params)
        self.lr = lr
        self.weight_decay = weight_decay

    def step(self) -> None:
        """Update every parameter once from its current gradient."""
        # BEGIN SOLUTION: the penalty's gradient is wd * value; lr scales the whole step
        for p in self.params:
            g = p.grad + self.weight_decay * p.value if p.decay else p.grad
            p.value -= self.lr * g
        # END SOLUTION
