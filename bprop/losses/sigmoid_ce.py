"""`SigmoidCrossEntropy`: binary (and multilabel) cross-entropy from logits."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..layers.activations import sigmoid
from ..registry import register
from .base import Loss, check_pred, check_target_2d, check_weights


@register("loss")
class SigmoidCrossEntropy(Loss):
    """Binary cross-entropy from logits: the logistic-regression loss.

    Forward, for logits ``z`` and targets ``t`` in [0, 1], shape (N, K)
    (K independent binary outputs; a 1-D target is read as ``(N, 1)``)::

        l_ij = -t log s(z) - (1 - t) log(1 - s(z))     with s the sigmoid
             = max(z, 0) - z*t + log(1 + exp(-|z|))    (the stable form)
        L    = mean_i sum_j l_ij

    The stable form never evaluates ``log 0`` nor overflows ``exp``.
    Backward::

        dz = (s(z) - t) / N

    Examples
    --------
    >>> round(SigmoidCrossEntropy().forward(np.zeros((2, 1)), np.array([0, 1])), 4)  # log 2
    0.6931
    """

    is_classifier = True

    def forward(self, pred: np.ndarray, target: np.ndarray, sample_weight: Any = None) -> float:
        z = check_pred(pred, self)
        t = check_target_2d(target, z, self)
        if t.size and (t.min() < 0 or t.max() > 1):
            raise ValueError(
                f"{type(self).__name__}: targets must lie in [0, 1] (0/1 labels or "
                f"probabilities), got values in [{t.min()}, {t.max()}]"
            )
        w = check_weights(sample_weight, z.shape[0], z.dtype, self)
        per_entry = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        # s(z) kept rather than z itself: the caller's array may change before backward
        self._s, self._t, self._w = sigmoid(z), t, w
        return float(w @ per_entry.sum(axis=1))

    def backward(self) -> np.ndarray:
        s = self._cached("_s")
        return (s - self._t) * self._w[:, None]

    def accuracy(self, pred: np.ndarray, target: np.ndarray) -> float:
        t = np.asarray(target).reshape(len(pred), -1)
        return float(np.mean((pred > 0) == (t > 0.5)))

    def predict(self, pred: np.ndarray) -> np.ndarray:
        return (pred > 0).astype(np.intp)
