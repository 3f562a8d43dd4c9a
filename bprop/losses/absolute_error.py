"""`AbsoluteError`: the L1 loss, summed over outputs, mean over the batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register
from .base import Loss, check_pred, check_target_2d, check_weights


@register("loss")
class AbsoluteError(Loss):
    """Absolute error for regression: robust to outliers, fits the median.

    Forward, for predictions ``p`` and targets ``t`` of shape (N, K)::

        L = mean_i sum_j |p_ij - t_ij|

    Backward (the subgradient 0 at ``p == t``, as PyTorch's ``L1Loss``)::

        dp = sign(p - t) / N

    PyTorch's ``L1Loss`` averages over all N*K entries: the same for K = 1.
    A 1-D target is read as ``(N, 1)``.

    Examples
    --------
    >>> AbsoluteError().forward(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]))
    1.5
    """

    def forward(self, pred: np.ndarray, target: np.ndarray, sample_weight: Any = None) -> float:
        p = check_pred(pred, self)
        t = check_target_2d(target, p, self)
        w = check_weights(sample_weight, p.shape[0], p.dtype, self)
        diff = p - t
        self._sign, self._w = np.sign(diff), w
        return float(w @ np.abs(diff).sum(axis=1))

    def backward(self) -> np.ndarray:
        return self._cached("_sign") * self._w[:, None]
