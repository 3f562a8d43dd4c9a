"""`RMSProp`: divide each step by a running root mean square of the gradient."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..parameter import Parameter
from ..registry import register
from ..validation import check_positive, check_unit_interval
from .base import Optimizer


@register("optimizer")
class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton, 2012, lecture 6e), as PyTorch's ``RMSprop``.

    For every parameter W with gradient dW, one ``step()`` does::

        g = dW + weight_decay * W                   (weight decay only where W.decay)
        v = alpha * v + (1 - alpha) * g**2          (v starts at zero)
        W -= lr * g / (sqrt(v) + eps)               (momentum = 0)

        b = momentum * b + g / (sqrt(v) + eps)      (momentum > 0; b starts at zero)
        W -= lr * b

    Each entry gets its own step size: small where gradients have been large,
    large where they have been small.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default=0.01
    alpha : float, default=0.99
        Decay of the running mean of g**2, in [0, 1).
    eps : float, default=1e-8
        > 0, added to the root mean square.
    momentum : float, default=0.0
        In [0, 1).
    weight_decay : float, default=0.0
        L2 coefficient (added to the gradient), >= 0.
    clip_norm, clip_value : float or None, default=None
        Gradient clipping before the update (`bprop.optim.clipping`).

    Examples
    --------
    >>> p = Parameter(np.array([1.0])); p.grad[:] = 0.5
    >>> RMSProp([p], lr=0.01).step(); p.value.round(4)   # 1 - 0.01 * 0.5 / sqrt(0.01 * 0.25)
    array([0.9])
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"alpha": "[0, 1)", "eps": "> 0", "momentum": "[0, 1)"}

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.01,
        *,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
        clip_value: float | None = None,
    ) -> None:
        super().__init__(params, lr, weight_decay, clip_norm=clip_norm, clip_value=clip_value)
        self.alpha = check_unit_interval("alpha", alpha)
        self.eps = check_positive("eps", eps)
        self.momentum = check_unit_interval("momentum", momentum)
        #: the running mean of g**2 of each parameter, in ``params`` order
        self.square_avg = [np.zeros_like(p.value) for p in self.params]
        #: the momentum buffer of each parameter (unused when momentum is 0)
        self.momentum_buffer = [np.zeros_like(p.value) for p in self.params]

    def update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        v, b, a = self.square_avg[i], self.momentum_buffer[i], self.alpha
        v *= a
        v += (1 - a) * g * g
        scaled = g / (np.sqrt(v) + self.eps)
        if self.momentum:
            b *= self.momentum
            b += scaled
            scaled = b
        p.value -= self.lr * scaled

    def _buffers(self) -> dict[str, list[np.ndarray]]:
        return {"square_avg": self.square_avg, "momentum_buffer": self.momentum_buffer}

    def __repr__(self) -> str:
        return (
            f"RMSProp(lr={self.lr}, alpha={self.alpha}, eps={self.eps}, "
            f"momentum={self.momentum}, weight_decay={self.weight_decay})"
        )
