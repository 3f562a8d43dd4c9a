"""`SGD`: stochastic gradient descent with momentum, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..parameter import Parameter
from ..registry import register
from ..validation import check_unit_interval
from .base import Optimizer


@register("optimizer")
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
    clip_norm, clip_value : float or None, default=None
        Gradient clipping before the update (`bprop.optim.clipping`).

    Attributes
    ----------
    velocity : list of ndarray
        ``v`` of each parameter, in the order of ``params``.

    Examples
    --------
    >>> from bprop import Parameter
    >>> p = Parameter(np.array([1.0]), "w"); p.grad[:] = 0.5
    >>> SGD([p], lr=0.1).step(); p.value
    array([0.95])
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"momentum": "[0, 1)"}

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.01,
        *,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
        clip_value: float | None = None,
    ) -> None:
        super().__init__(params, lr, weight_decay, clip_norm=clip_norm, clip_value=clip_value)
        self.momentum = check_unit_interval("momentum", momentum)
        self.nesterov = bool(nesterov)
        self.velocity = [np.zeros_like(p.value) for p in self.params]

    def update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        if self.momentum:
            v = self.velocity[i]
            v *= self.momentum
            v += g  # v = momentum * v + g
            g = g + self.momentum * v if self.nesterov else v
        p.value -= self.lr * g

    def _buffers(self) -> dict[str, list[np.ndarray]]:
        return {"velocity": self.velocity}

    def __repr__(self) -> str:
        return (
            f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov}, "
            f"weight_decay={self.weight_decay})"
        )
