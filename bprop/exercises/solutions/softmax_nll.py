"""Exercise: softmax with the negative log-likelihood, forward and backward.

Forward: for scores z (N, K) and integer labels t (N,), the loss is the
*mean* over the batch of the negative log-probability of the right class::

    L = -(1/N) sum_n log softmax(z_n)[t_n],   softmax(z)_k = exp(z_k) / sum_j exp(z_j)

Make it numerically stable: ``exp(1000)`` overflows, but softmax does not
change when a constant is subtracted from every score of a row.

Backward: return dL/dz, shape (N, K). Fused, softmax and log cancel into a
short formula; remember where the 1/N of the mean goes.
"""

import numpy as np


class SoftmaxNLL:
    """Softmax cross-entropy loss on raw scores."""

    def forward(self, scores: np.ndarray, labels: np.ndarray) -> float:
        """Return the mean negative log-likelihood; cache what backward needs."""
        # BEGIN SOLUTION: subtract each row's max; log p = z - log(sum exp z); cache p, labels
        z = scores - scores.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        self._p = np.exp(log_p)
        self._labels = np.asarray(labels)
        return float(-log_p[np.arange(len(log_p)), self._labels].mean())
        # END SOLUTION

    def backward(self) -> np.ndarray:
        """Return dL/dscores for the most recent forward."""
        # BEGIN SOLUTION: d(-log softmax(z)[t])/dz = softmax(z) - onehot(t), then the mean's 1/N
        n = len(self._labels)
        dz = self._p.copy()
        dz[np.arange(n), self._labels] -= 1.0
        return dz / n
        # END SOLUTION
