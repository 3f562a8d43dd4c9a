"""`NLL`: negative log-likelihood of log-probabilities (after `LogSoftmax`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register
from .base import Loss, check_pred, check_weights
from .softmax_nll import _check_labels


@register("loss")
class NLL(Loss):
    """Negative log-likelihood, for a network that already outputs log-probabilities.

    Forward, for log-probabilities ``z`` (N, K) (the output of
    `bprop.layers.LogSoftmax`) and integer labels ``t`` (N,)::

        L = mean_i ( -z_{i, t_i} )

    Backward: only the right class of each row gets a gradient::

        dz_{i, t_i} = -1 / N,     dz_ij = 0 otherwise

    ``LogSoftmax`` followed by ``NLL`` is `SoftmaxNLL` split in two: the
    same value and, through LogSoftmax's backward, the same
    ``(softmax(z) - onehot(t)) / N``. As PyTorch's ``NLLLoss``.

    Examples
    --------
    >>> round(NLL().forward(np.log(np.array([[0.5, 0.5], [0.25, 0.75]])), np.array([0, 1])), 4)
    0.4904
    """

    is_classifier = True

    def forward(self, pred: np.ndarray, target: np.ndarray, sample_weight: Any = None) -> float:
        z = check_pred(pred, self)
        t = _check_labels(target, z, self)
        w = check_weights(sample_weight, z.shape[0], z.dtype, self)
        self._shape, self._t, self._w = z.shape, t, w
        return float(-(w @ z[np.arange(len(t)), t]))

    def backward(self) -> np.ndarray:
        shape = self._cached("_shape")
        dz = np.zeros(shape, dtype=self._w.dtype)
        dz[np.arange(len(self._t)), self._t] = -self._w
        return dz

    def accuracy(self, pred: np.ndarray, target: np.ndarray) -> float:
        return float(np.mean(np.argmax(pred, axis=1) == np.asarray(target)))

    def predict(self, pred: np.ndarray) -> np.ndarray:
        return np.argmax(pred, axis=1)
