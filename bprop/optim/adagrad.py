"""`AdaGrad`: per-entry step sizes from the sum of all past squared gradients."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..parameter import Parameter
from ..registry import register
from ..validation import check_positive
from .base import Optimizer


@register("optimizer")
class AdaGrad(Optimizer):
    """AdaGrad (Duchi, Hazan & Singer, 2011), as PyTorch's ``Adagrad``.

    For every parameter W with gradient dW, one ``step()`` does::

        g = dW + weight_decay * W                   (weight decay only where W.decay)
        s = s + g**2                                (s starts at zero)
        W -= lr * g / (sqrt(s) + eps)

    The sum only grows, so every entry's step size only shrinks: rarely
    updated entries (rare features) keep larger steps than frequent ones.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default=0.01
    eps : float, default=1e-10
        > 0, added to the root of the sum.
    weight_decay : float, default=0.0
        L2 coefficient (added to the gradient), >= 0.
    clip_norm, clip_value : float or None, default=None
        Gradient clipping before the update (`bprop.optim.clipping`).

    Examples
    --------
    >>> p = Parameter(np.array([1.0])); p.grad[:] = 0.5
    >>> opt = AdaGrad([p], lr=0.1)
    >>> opt.step(); p.value.round(6)      # the first step is lr * sign(g)
    array([0.9])
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"eps": "> 0"}

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.01,
        *,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
        clip_value: float | None = None,
    ) -> None:
        super().__init__(params, lr, weight_decay, clip_norm=clip_norm, clip_value=clip_value)
        self.eps = check_positive("eps", eps)
        #: the sum of g**2 of each parameter, in ``params`` order
        self.sum_sq = [np.zeros_like(p.value) for p in self.params]

    def update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        s = self.sum_sq[i]
        s += g * g
        p.value -= self.lr * g / (np.sqrt(s) + self.eps)

    def _buffers(self) -> dict[str, list[np.ndarray]]:
        return {"sum_sq": self.sum_sq}

    def __repr__(self) -> str:
        return f"AdaGrad(lr={self.lr}, eps={self.eps}, weight_decay={self.weight_decay})"
