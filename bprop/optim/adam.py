"""`Adam`: adaptive moment estimation, in scikit-learn's form."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..parameter import Parameter
from ..registry import register
from ..validation import check_positive, check_unit_interval
from .base import Optimizer
from .packing import unpacked_views


@register("optimizer")
class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014) with scikit-learn's defaults and update form.

    At step t (counting from 1), for every parameter W with gradient g
    (weight decay added as in `SGD`)::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
        W -= lr_t * m / (sqrt(v) + eps)

    The bias corrections are folded into ``lr_t``, exactly as scikit-learn's
    ``AdamOptimizer`` does, so the same hyperparameters give the same steps.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default=0.001
    beta1, beta2 : float, default=0.9, 0.999
        In [0, 1).
    eps : float, default=1e-8
        > 0.
    weight_decay : float, default=0.0
    clip_norm, clip_value : float or None, default=None
        Gradient clipping before the update (`bprop.optim.clipping`).
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"beta1": "[0, 1)", "beta2": "[0, 1)", "eps": "> 0"}

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.001,
        *,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
        clip_value: float | None = None,
    ) -> None:
        super().__init__(params, lr, weight_decay, clip_norm=clip_norm, clip_value=clip_value)
        self.beta1 = check_unit_interval("beta1", beta1)
        self.beta2 = check_unit_interval("beta2", beta2)
        self.eps = check_positive("eps", eps)
        self._m = [np.zeros_like(g.value) for g in self.groups]  # flat, one per group
        self._v = [np.zeros_like(g.value) for g in self.groups]
        self._scratch = [(np.empty_like(g.value), np.empty_like(g.value)) for g in self.groups]
        self._link()

    _views = ("m", "v")

    def _link(self) -> None:
        #: the moments of each parameter (views of the flat buffers), in ``params`` order
        self.m = unpacked_views(self.groups, self._m, self.params)
        self.v = unpacked_views(self.groups, self._v, self.params)

    def step(self) -> None:
        """One update of every parameter: about ten numpy calls per packed group
        (one per dtype), each over all of its parameters at once."""
        self.clip_gradients()
        self.t += 1
        b1, b2, t = self.beta1, self.beta2, self.t
        lr_t = self.lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        for group, m, v, (buf, s) in zip(self.groups, self._m, self._v, self._scratch, strict=True):
            group.sync()
            W, f = group.value, group.value.dtype.type
            g = group.regularized_grad(self.weight_decay, out=buf)  # dW + weight_decay * W
            m *= f(b1)
            m += np.multiply(g, f(1 - b1), out=s)  # m = b1 m + (1 - b1) g
            v *= f(b2)
            np.multiply(g, f(1 - b2), out=s)
            s *= g
            v += s  # v = b2 v + (1 - b2) g^2
            np.sqrt(v, out=s)
            s += f(self.eps)
            update = np.multiply(m, f(lr_t), out=buf)  # g is not needed any more
            update /= s
            W -= update  # W -= lr_t m / (sqrt(v) + eps)

    def _buffers(self) -> dict[str, list[np.ndarray]]:
        return {"m": self.m, "v": self.v}

    def __repr__(self) -> str:
        return (
            f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps}, "
            f"weight_decay={self.weight_decay})"
        )
