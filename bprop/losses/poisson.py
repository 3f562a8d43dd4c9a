"""`PoissonDeviance`: half the Poisson deviance, from log-rates (a log link)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import xlogy

from ..registry import register
from .base import Loss, check_pred, check_target_2d, check_weights


@register("loss")
class PoissonDeviance(Loss):
    """Poisson regression loss for counts, from the log of the predicted rate.

    The network outputs ``z`` (N, K); the predicted rate is ``mu = exp(z)``.
    Forward, for targets ``t >= 0``::

        l_ij = t log(t / mu) - t + mu        (half the Poisson deviance; 0 log 0 = 0)
        L    = mean_i sum_j l_ij

    It differs from the negative log-likelihood ``mu - t log mu`` by terms in
    ``t`` only, so the gradient is the same, and it is 0 for a perfect fit.
    Like softmax with NLL, the exp is fused with the loss and the gradient is
    simple (the canonical link)::

        dz = (exp(z) - t) / N

    Examples
    --------
    >>> loss = PoissonDeviance()
    >>> loss.forward(np.log(np.array([[2.0]])), np.array([2.0]))
    0.0
    """

    def forward(self, pred: np.ndarray, target: np.ndarray, sample_weight: Any = None) -> float:
        z = check_pred(pred, self)
        t = check_target_2d(target, z, self)
        if t.size and t.min() < 0:
            raise ValueError(f"{type(self).__name__}: targets must be >= 0, got {t.min()}")
        w = check_weights(sample_weight, z.shape[0], z.dtype, self)
        mu = np.exp(z)
        per_entry = xlogy(t, t) - t * z - t + mu  # t log(t / mu) without dividing by mu
        self._mu, self._t, self._w = mu, t, w
        return float(w @ per_entry.sum(axis=1))

    def backward(self) -> np.ndarray:
        mu = self._cached("_mu")
        return (mu - self._t) * self._w[:, None]

    def predict(self, pred: np.ndarray) -> np.ndarray:
        return np.exp(pred)
