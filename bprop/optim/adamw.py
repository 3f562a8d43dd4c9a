"""`AdamW`: Adam with decoupled weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..parameter import Parameter
from ..registry import register
from .adam import Adam


@register("optimizer")
class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019), as PyTorch's ``AdamW``.

    At step t (counting from 1), for every parameter W with gradient g::

        W -= lr * weight_decay * W                  (decoupled decay, only where W.decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)                  (bias corrections: m, v start at zero)
        v_hat = v / (1 - beta2**t)
        W -= lr * m_hat / (sqrt(v_hat) + eps)

    Unlike L2 regularization (`Adam` with ``weight_decay``, which adds
    ``weight_decay * W`` to g, so that the decay is divided by sqrt(v) like the
    gradient), the decay here shrinks every decayed weight by the same factor
    ``1 - lr * weight_decay`` per step, whatever its gradient history.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default=0.001
    beta1, beta2 : float, default=0.9, 0.999
        In [0, 1).
    eps : float, default=1e-8
        > 0.
    weight_decay : float, default=0.01
        Decoupled decay coefficient, >= 0.
    clip_norm, clip_value : float or None, default=None
        Gradient clipping before the update (`bprop.optim.clipping`).

    Examples
    --------
    >>> p = Parameter(np.array([1.0])); p.grad[:] = 0.5
    >>> AdamW([p], lr=0.1, weight_decay=0.0).step(); p.value.round(6)  # first step: lr * sign(g)
    array([0.9])
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        *,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        clip_norm: float | None = None,
        clip_value: float | None = None,
    ) -> None:
        super().__init__(params, lr, beta1=beta1, beta2=beta2, eps=eps,
                         weight_decay=weight_decay, clip_norm=clip_norm, clip_value=clip_value)

    def regularized_grad(self, p: Parameter) -> np.ndarray:
        """The raw gradient: AdamW's decay is a step of its own, never part of g."""
        return p.grad

    def update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        b1, b2, t = self.beta1, self.beta2, self.t
        if self.weight_decay and p.decay:
            p.value *= 1 - self.lr * self.weight_decay  # decoupled: W -= lr * wd * W
        m, v = self.moments(i, g)
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        p.value -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def __repr__(self) -> str:
        return (
            f"AdamW(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps}, "
            f"weight_decay={self.weight_decay})"
        )
