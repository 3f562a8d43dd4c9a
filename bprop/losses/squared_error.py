"""`SquaredError`: half the squared error, summed over outputs, mean over the batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register
from .base import Loss, check_pred, check_target_2d, check_weights


@register("loss")
class SquaredError(Loss):
    """Squared error for regression.

    Forward, for predictions ``p`` and targets ``t`` of shape (N, K)::

        L = mean_i 0.5 * sum_j (p_ij - t_ij)**2

    The 1/2 cancels the 2 of the derivative. Backward::

        dp = (p - t) / N

    A 1-D target is read as ``(N, 1)``.

    Examples
    --------
    >>> SquaredError().forward(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]))
    1.25
    """

    def forward(self, pred: np.ndarray, target: np.ndarray, sample_weight: Any = None) -> float:
        p = check_pred(pred, self)
        t = check_target_2d(target, p, self)
        w = check_weights(sample_weight, p.shape[0], p.dtype, self)
        diff = p - t
        self._diff, self._w = diff, w
        return float(0.5 * (w @ np.einsum("ij,ij->i", diff, diff)))

    def backward(self) -> np.ndarray:
        diff = self._cached("_diff")
        return diff * self._w[:, None]
