"""`MulticlassHinge`: the multiclass SVM loss (Weston & Watkins; cs231n's SVM)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register
from ..validation import check_positive
from .base import Loss, check_pred, check_weights
from .softmax_nll import _check_labels


@register("loss")
class MulticlassHinge(Loss):
    """Multiclass hinge loss: every wrong class should score ``margin`` below the right one.

    Forward, for scores ``s`` (N, K) and integer labels ``t`` (N,)::

        m_ij = max(0, s_ij - s_{i,t_i} + margin)     for j != t_i;   m_{i,t_i} = 0
        L    = mean_i sum_j m_ij

    Backward: each violated margin (``m_ij > 0``) pushes its wrong class
    down and the right class up::

        ds_ij       = [m_ij > 0] / N               (j != t_i)
        ds_{i,t_i}  = -sum_j [m_ij > 0] / N

    PyTorch's ``MultiMarginLoss`` is the same loss divided by K.

    Parameters
    ----------
    margin : float, default=1.0
        The required gap, > 0.

    Examples
    --------
    >>> round(MulticlassHinge().forward(np.array([[3.2, 5.1, -1.7]]), np.array([0])), 6)  # cs231n
    2.9
    """

    is_classifier = True

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"margin": "> 0"}

    def __init__(self, margin: float = 1.0) -> None:
        self.margin = check_positive("margin", margin)

    def forward(self, pred: np.ndarray, target: np.ndarray, sample_weight: Any = None) -> float:
        s = check_pred(pred, self)
        t = _check_labels(target, s, self)
        w = check_weights(sample_weight, s.shape[0], s.dtype, self)
        rows = np.arange(s.shape[0])
        margins = s - s[rows, t][:, None] + s.dtype.type(self.margin)
        margins[rows, t] = 0  # the right class is not compared with itself
        margins = np.maximum(margins, 0)
        self._active, self._t, self._w = margins > 0, t, w
        return float(w @ margins.sum(axis=1))

    def backward(self) -> np.ndarray:
        active = self._cached("_active")
        ds = active.astype(self._w.dtype)
        ds[np.arange(len(self._t)), self._t] = -active.sum(axis=1)
        return ds * self._w[:, None]

    def accuracy(self, pred: np.ndarray, target: np.ndarray) -> float:
        return float(np.mean(np.argmax(pred, axis=1) == np.asarray(target)))

    def predict(self, pred: np.ndarray) -> np.ndarray:
        return np.argmax(pred, axis=1)

    def get_config(self) -> dict[str, Any]:
        return {"margin": self.margin}

    def __repr__(self) -> str:
        return f"MulticlassHinge(margin={self.margin})"
