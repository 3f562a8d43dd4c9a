"""`Adam`: adaptive moment estimation, in scikit-learn's form."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..parameter import Parameter
from ..registry import register
from ..validation import check_positive, check_unit_interval
from .base import Optimizer


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
        L2 coefficient, >= 0, added to the gradient as in `SGD`.
    clip_norm, clip_value : float or None, default=None
        Gradient clipping before the update (`bprop.optim.clipping`).

    Attributes
    ----------
    m, v : list of ndarray
        The first and second moments of each parameter, in the order of ``params``.
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
        self.m = [np.zeros_like(p.value) for p in self.params]
        self.v = [np.zeros_like(p.value) for p in self.params]

    def update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        m, v = self.moments(i, g)
        b1, b2, t = self.beta1, self.beta2, self.t
        lr_t = self.lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        p.value -= lr_t * m / (np.sqrt(v) + self.eps)

    def moments(self, i: int, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Move parameter ``i``'s moments one step towards ``g`` (in place).

        Parameters
        ----------
        i : int
            The parameter's index in ``self.params``.
        g : ndarray, shape of the parameter
            Its gradient for this step.

        Returns
        -------
        m, v : ndarray, shape of the parameter
            ``m = beta1 m + (1 - beta1) g`` and ``v = beta2 v + (1 - beta2) g**2``,
            still biased towards zero (no bias correction).
        """
        m, v, b1, b2 = self.m[i], self.v[i], self.beta1, self.beta2
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        return m, v

    def _buffers(self) -> dict[str, list[np.ndarray]]:
        return {"m": self.m, "v": self.v}

    def __repr__(self) -> str:
        return (
            f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps}, "
            f"weight_decay={self.weight_decay})"
        )
