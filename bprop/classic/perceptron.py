"""Rosenblatt's perceptron, binary and multi-class."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_random_state, check_X_y

from ..validation import check_int, check_positive


class Perceptron(ClassifierMixin, BaseEstimator):
    """The perceptron learning rule: update only on mistakes.

    Binary (two classes, targets read as ``t = ±1``), for each sample::

        if t (x @ w + b) <= 0:      # wrong side of the hyperplane, or on it
            w += lr * t * x
            b += lr * t

    Multi-class (``k > 2`` classes, one weight column per class): predict the
    winner ``c = argmax_j (x @ W + b)_j``; on a mistake, raise the target's
    score and lower the wrong winner's::

        W[:, t] += lr * x;   b[t] += lr
        W[:, c] -= lr * x;   b[c] -= lr

    If the classes are linearly separable, the perceptron convergence theorem
    guarantees an epoch without mistakes after finitely many updates, and
    training stops there. If they are not (XOR), it never settles: the rule
    has no notion of "nearly right", unlike the delta rule (`Adaline`) or
    backpropagation on a smooth loss.

    Parameters
    ----------
    lr : float, default=1.0
        Step size. With zero initial weights the binary rule's decisions do
        not depend on it (the weights only scale).
    max_epochs : int, default=100
        Passes over the data at most.
    shuffle : bool, default=True
        Visit the samples in a new random order each epoch.
    random_state : int, RandomState or None, default=None
        Seeds the shuffling.

    Attributes
    ----------
    classes_ : ndarray, shape (k,)
    coef_ : ndarray, shape (n_features,) if binary, else (n_features, k)
    intercept_ : float if binary, else ndarray of shape (k,)
    errors_ : list of int
        Mistakes (updates) in each epoch.
    n_iter_ : int
        Epochs run.
    converged_ : bool
        Whether the last epoch made no mistake.

    Examples
    --------
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> clf = Perceptron(random_state=0).fit(X, [0, 0, 0, 1])   # AND
    >>> clf.predict(X), clf.converged_
    (array([0, 0, 0, 1]), True)
    """

    def __init__(
        self, lr: float = 1.0, max_epochs: int = 100, shuffle: bool = True, random_state=None
    ) -> None:
        self.lr = lr
        self.max_epochs = max_epochs
        self.shuffle = shuffle
        self.random_state = random_state

    def fit(self, X, y) -> Perceptron:
        """Run the perceptron rule until an epoch makes no mistake (or ``max_epochs``)."""
        X, y = check_X_y(X, y, dtype=np.float64)
        check_classification_targets(y)
        check_positive("lr", self.lr)
        check_int("max_epochs", self.max_epochs)
        self.classes_, t = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"need at least 2 classes, got {len(self.classes_)}")
        self.n_features_in_ = X.shape[1]
        binary = len(self.classes_) == 2
        k = 1 if binary else len(self.classes_)
        W, b = np.zeros((X.shape[1], k)), np.zeros(k)
        update = self._binary_update if binary else self._multiclass_update
        rng = check_random_state(self.random_state)
        self.errors_ = []
        for _ in range(self.max_epochs):
            order = rng.permutation(len(X)) if self.shuffle else np.arange(len(X))
            self.errors_.append(sum(update(W, b, X[i], t[i]) for i in order))
            if self.errors_[-1] == 0:
                break
        self.n_iter_ = len(self.errors_)
        self.converged_ = self.errors_[-1] == 0
        self.coef_, self.intercept_ = (W[:, 0], float(b[0])) if binary else (W, b)
        return self

    def _binary_update(self, W: np.ndarray, b: np.ndarray, x: np.ndarray, t: int) -> bool:
        sign = 2.0 * t - 1.0  # class index 0/1 -> target -1/+1
        if sign * (x @ W[:, 0] + b[0]) > 0:
            return False
        W[:, 0] += self.lr * sign * x
        b[0] += self.lr * sign
        return True

    def _multiclass_update(self, W: np.ndarray, b: np.ndarray, x: np.ndarray, t: int) -> bool:
        winner = int(np.argmax(x @ W + b))
        if winner == t:
            return False
        W[:, t] += self.lr * x
        b[t] += self.lr
        W[:, winner] -= self.lr * x
        b[winner] -= self.lr
        return True

    def decision_function(self, X) -> np.ndarray:
        """``X @ coef_ + intercept_``: shape (n,) if binary (> 0 means ``classes_[1]``)."""
        check_is_fitted(self)
        X = check_array(X, dtype=np.float64)
        return X @ self.coef_ + self.intercept_

    def predict(self, X) -> np.ndarray:
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]
