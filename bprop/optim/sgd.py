"""`SGD`: stochastic gradient descent with momentum, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..parameter import Parameter
from ..validation import check_unit_interval
from .base import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent.

    For every parameter W with gradient dW, one ``step()`` does::

        g = dW + weight_decay * W          (weight decay only where W.decay)
        v = momentum * v + g               (v starts at zero)
        W -= lr * v                        (classical momentum)
        W -= lr * (g + momentum * v)       (nesterov=True)

    With ``momentum=0`` this is plain ``W -= lr * g``. Weight decay is the
    gradient of the L2 penalty ``0.5 * weight_decay * ||W||^2``; biases are
    not decayed (as in scikit-learn and Caffe).

    Parameters
    ----------
    params : iterable of Parameter
        Usually ``model.parameters()``.
    lr : float, default=0.01
        Learning rate, > 0.
    momentum : float, default=0.0
        In [0, 1).
    nesterov : bool, default=False
        Use Nesterov's look-ahead form (needs momentum > 0 to differ).
    weight_decay : float, default=0.0
        L2 coefficient, >= 0.

    Examples
    --------
    >>> from bprop import Parameter
    >>> p = Parameter(np.array([1.0]), "w"); p.grad[:] = 0.5
    >>> SGD([p], lr=0.1).step(); p.value
    array([0.95])
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.01,
        *,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = check_unit_interval("momentum", momentum)
        self.nesterov = bool(nesterov)
        self.velocity = [np.zeros_like(p.value) for p in self.params]

    def step(self) -> None:
        lr, mu = self.lr, self.momentum
        for p, v in zip(self.params, self.velocity, strict=True):
            g = self.regularized_grad(p)
            if mu == 0:
                p.value -= p.value.dtype.type(lr) * g
                continue
            v *= p.value.dtype.type(mu)
            v += g
            if self.nesterov:
                p.value -= p.value.dtype.type(lr) * (g + p.value.dtype.type(mu) * v)
            else:
                p.value -= p.value.dtype.type(lr) * v
        self.t += 1

    def _buffers(self) -> dict[str, list[np.ndarray]]:
        return {"velocity": self.velocity}

    def __repr__(self) -> str:
        return (
            f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov}, "
            f"weight_decay={self.weight_decay})"
        )
