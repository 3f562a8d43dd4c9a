"""ADALINE and the delta rule (Widrow-Hoff least mean squares)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_random_state, check_X_y

from ..validation import check_int, check_positive


class Adaline(ClassifierMixin, BaseEstimator):
    """ADALINE: a linear unit trained by the delta rule, thresholded to classify.

    The unit's output is linear, ``o = x @ w + b``, and training minimises the
    squared error against targets ``t = ±1``,

        E = 1/(2N) * sum_n (t_n - o_n)**2,

    by gradient descent. Per sample (the online delta rule, LMS)::

        w += lr * (t - o) * x
        b += lr * (t - o)

    which is ``-lr * dE_n/dw``: exactly backpropagation through a network of
    one linear layer with `bprop.losses.SquaredError`. Unlike the
    `Perceptron`, every sample moves the weights in proportion to its error,
    so the rule converges (for small ``lr``) even when the classes are not
    separable, to the least-squares solution; only ``predict`` thresholds.

    Parameters
    ----------
    lr : float, default=0.01
        Step size; must be small (``< 2 / largest eigenvalue of X.T X / N``
        in batch mode) or the weights diverge.
    epochs : int, default=50
        Passes over the data.
    batch : bool, default=False
        False: update after every sample (Widrow-Hoff). True: one step per
        epoch along the mean gradient ``X.T (t - o) / N`` (plain gradient descent).
    shuffle : bool, default=True
        Visit samples in a new random order each epoch (online mode).
    random_state : int, RandomState or None, default=None
        Seeds the shuffling.

    Attributes
    ----------
    classes_ : ndarray, shape (2,)
    coef_ : ndarray, shape (n_features,)
    intercept_ : float
    cost_ : list of float
        ``E`` after each epoch.

    Examples
    --------
    >>> X = np.array([[0., 0], [0, 1], [1, 0], [1, 1]])
    >>> clf = Adaline(lr=0.1, epochs=200, random_state=0).fit(X, [0, 1, 1, 1])  # OR
    >>> clf.predict(X)
    array([0, 1, 1, 1])
    """

    def __init__(
        self,
        lr: float = 0.01,
        epochs: int = 50,
        batch: bool = False,
        shuffle: bool = True,
        random_state=None,
    ) -> None:
        self.lr = lr
        self.epochs = epochs
        self.batch = batch
        self.shuffle = shuffle
        self.random_state = random_state

    def fit(self, X, y) -> Adaline:
        """Minimise the squared error of the linear output by the delta rule."""
        X, y = check_X_y(X, y, dtype=np.float64)
        check_classification_targets(y)
        check_positive("lr", self.lr)
        check_int("epochs", self.epochs)
        self.classes_, index = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(f"Adaline is a binary classifier; got {len(self.classes_)} classes")
        self.n_features_in_ = X.shape[1]
        t = 2.0 * index - 1.0
        w, b = np.zeros(X.shape[1]), 0.0
        rng = check_random_state(self.random_state)
        self.cost_ = []
        for _ in range(self.epochs):
            if self.batch:
                err = t - (X @ w + b)
                w += self.lr * X.T @ err / len(X)
                b += self.lr * err.mean()
            else:
                order = rng.permutation(len(X)) if self.shuffle else range(len(X))
                for i in order:
                    err_i = t[i] - (X[i] @ w + b)
                    w += self.lr * err_i * X[i]
                    b += self.lr * err_i
            residual = t - (X @ w + b)
            self.cost_.append(0.5 * float(np.mean(residual**2)))
            if not np.isfinite(self.cost_[-1]):
                raise FloatingPointError(f"Adaline diverged: lr={self.lr} is too large")
        self.coef_, self.intercept_ = w, float(b)
        return self

    def decision_function(self, X) -> np.ndarray:
        """The linear output ``X @ coef_ + intercept_`` (> 0 means ``classes_[1]``)."""
        check_is_fitted(self)
        return check_array(X, dtype=np.float64) @ self.coef_ + self.intercept_

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.decision_function(X) > 0).astype(int)]
