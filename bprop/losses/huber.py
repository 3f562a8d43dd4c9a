"""`Huber`: squared error near the target, absolute error far from it."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register
from ..validation import check_positive
from .base import Loss, check_pred, check_target_2d, check_weights


@register("loss")
class Huber(Loss):
    """Huber loss (1964): quadratic for small errors, linear (robust) for large ones.

    Forward, for predictions ``p`` and targets ``t`` of shape (N, K), with
    ``d = p - t``::

        h(d) = 0.5 * d**2                       if |d| <= delta
             = delta * (|d| - 0.5 * delta)      otherwise
        L    = mean_i sum_j h(d_ij)

    The two pieces meet with the same value and slope at ``|d| = delta``.
    Backward: the error, clipped to ``[-delta, delta]``::

        dp = clip(p - t, -delta, delta) / N

    PyTorch's ``HuberLoss(delta=delta)`` averages over all N*K entries: the
    same for K = 1. A 1-D target is read as ``(N, 1)``.

    Parameters
    ----------
    delta : float, default=1.0
        Where the quadratic part ends, > 0.

    Examples
    --------
    >>> Huber().forward(np.array([[0.5], [3.0]]), np.array([0.0, 0.0]))  # (0.125 + 2.5) / 2
    1.3125
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"delta": "> 0"}

    def __init__(self, delta: float = 1.0) -> None:
        self.delta = check_positive("delta", delta)

    def forward(self, pred: np.ndarray, target: np.ndarray, sample_weight: Any = None) -> float:
        p = check_pred(pred, self)
        t = check_target_2d(target, p, self)
        w = check_weights(sample_weight, p.shape[0], p.dtype, self)
        d, delta = p - t, self.delta
        a = np.abs(d)
        per_entry = np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta))
        self._dclip, self._w = np.clip(d, -delta, delta), w
        return float(w @ per_entry.sum(axis=1))

    def backward(self) -> np.ndarray:
        return self._cached("_dclip") * self._w[:, None]

    def get_config(self) -> dict[str, Any]:
        return {"delta": self.delta}

    def __repr__(self) -> str:
        return f"Huber(delta={self.delta})"
