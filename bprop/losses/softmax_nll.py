"""`SoftmaxNLL`: softmax and negative log-likelihood, fused."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register
from .base import Loss, check_pred, check_weights


@register("loss")
class SoftmaxNLL(Loss):
    """Multiclass cross-entropy from raw scores: softmax and NLL in one step.

    Forward, for scores ``z`` (N, K) and integer labels ``t`` (N,)::

        log p_ik = z_ik - max_j z_ij - log sum_j exp(z_ij - max_j z_ij)
        L        = mean_i ( -log p_{i, t_i} )

    Subtracting the row max makes every ``exp`` <= 1 (no overflow) and the
    log-sum-exp >= 0 (no log 0), so any finite scores work. Backward::

        dz = (softmax(z) - onehot(t)) / N

    With sample weights ``w`` the mean becomes ``sum_i w_i l_i / sum_i w_i``
    and the gradient rows are scaled by ``w_i / sum w``.

    Examples
    --------
    >>> loss = SoftmaxNLL()
    >>> round(loss.forward(np.zeros((2, 4)), np.array([0, 3])), 4)   # log 4
    1.3863
    """

    is_classifier = True

    def forward(self, pred: np.ndarray, target: np.ndarray, sample_weight: Any = None) -> float:
        z = check_pred(pred, self)
        t = _check_labels(target, z, self)
        n = z.shape[0]
        w = None if sample_weight is None else check_weights(sample_weight, n, z.dtype, self)
        rows = np.arange(n)
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        sum_e = e.sum(axis=1)
        nll = np.log(sum_e) - shifted[rows, t]  # -log p_{i, t_i}
        self._p = e / sum_e[:, None]  # softmax(z), for backward
        self._t, self._w = t, w
        return float(nll.sum()) / n if w is None else float(w @ nll)

    def backward(self) -> np.ndarray:
        p = self._cached("_p")
        n = len(self._t)
        dz = p.copy()
        dz[np.arange(n), self._t] -= 1  # softmax(z) - onehot(t)
        # times 1/N, or w_i / sum(w): equal weights give the very same numbers
        dz *= 1.0 / n if self._w is None else self._w[:, None]
        return dz

    def accuracy(self, pred: np.ndarray, target: np.ndarray) -> float:
        return float(np.mean(np.argmax(pred, axis=1) == np.asarray(target)))

    def predict(self, pred: np.ndarray) -> np.ndarray:
        return np.argmax(pred, axis=1)


def _check_labels(target: Any, z: np.ndarray, loss: Loss) -> np.ndarray:
    t = np.asarray(target)
    n, k = z.shape
    if t.ndim != 1 or t.shape[0] != n:
        raise ValueError(
            f"{type(loss).__name__}: labels must have shape ({n},) to match scores of shape "
            f"{z.shape}, got shape {t.shape}"
        )
    if t.dtype.kind == "f":
        fractional = t[t != np.round(t)]
        if fractional.size:
            raise ValueError(
                f"{type(loss).__name__}: label {fractional[0]} is not an integer; labels must "
                f"be integers in [0, {k})"
            )
        t = t.astype(np.intp)
    if t.dtype.kind not in "iu":
        raise ValueError(
            f"{type(loss).__name__}: labels must be integers in [0, {k}), got dtype {t.dtype}"
        )
    if n and (t.min() < 0 or t.max() >= k):
        bad = t[(t < 0) | (t >= k)][0]
        raise ValueError(
            f"{type(loss).__name__}: label {bad} is out of range: labels must be in [0, {k}) "
            f"for {k} score columns"
        )
    return t
