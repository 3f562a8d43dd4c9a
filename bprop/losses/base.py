"""The `Loss` contract: ``forward(pred, target) -> float``, ``backward() -> dpred``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..layers.base import as_float, forward_cache
from ..validation import check_sample_weight


class Loss:
    """Base class of losses: a scalar batch mean and its gradient.

    ``forward(pred, target, sample_weight=None)`` returns the (weighted) mean
    over the batch of a per-sample loss ``l_i``::

        L = sum_i w_i * l_i / sum_i w_i          (w_i = 1 without weights: the plain mean)

    and caches what ``backward()`` needs; ``backward()`` returns
    ``dpred = dL/dpred`` with the shape of ``pred``. The 1/N (or 1/sum w) of the
    mean is part of the gradient: forgetting it is the classic bug that makes
    the step size depend on the batch size.
    """

    #: whether the loss is for classification (the loop then reports accuracy)
    is_classifier: bool = False

    def forward(
        self, pred: np.ndarray, target: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        """The (weighted) mean loss over the batch, caching what `backward` needs.

        Parameters
        ----------
        pred : ndarray, shape (N, K)
            The network's raw outputs (scores, logits or values).
        target : ndarray, shape (N,) or (N, K)
            Class indices, or targets of pred's shape (a 1-D target is read
            as (N, 1) by the regression losses).
        sample_weight : ndarray, shape (N,), optional
            Non-negative weights with a positive sum.

        Returns
        -------
        float
            L, the mean of the per-sample losses (in the units of the loss).

        Raises
        ------
        ValueError
            For a pred, target or weights of the wrong shape, dtype or range
            (naming the loss).
        """
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """The gradient of the last `forward`'s loss with respect to its ``pred``.

        Returns
        -------
        dpred : ndarray, shape (N, K)
            dL/dpred, the 1/N (or 1/sum w) of the mean included.

        Raises
        ------
        RuntimeError
            If called before any `forward`.
        """
        raise NotImplementedError

    def __call__(self, pred: np.ndarray, target: np.ndarray, sample_weight: Any = None) -> float:
        """``loss(pred, target)`` is ``loss.forward(pred, target)``.

        Parameters
        ----------
        pred : ndarray, shape (N, K)
        target : ndarray, shape (N,) or (N, K)
        sample_weight : ndarray, shape (N,), optional

        Returns
        -------
        float
            The (weighted) mean loss, caching for `backward`.
        """
        return self.forward(pred, target, sample_weight)

    def accuracy(self, pred: np.ndarray, target: np.ndarray) -> float | None:
        """Fraction of correct predictions, or None for a regression loss.

        Parameters
        ----------
        pred : ndarray, shape (N, K)
            Raw outputs.
        target : ndarray, shape (N,) or (N, K)
            As `forward` takes it.

        Returns
        -------
        float in [0, 1], or None
            Unweighted.
        """
        return None

    def predict(self, pred: np.ndarray) -> np.ndarray:
        """What the network's raw output predicts (labels, or values for regression).

        Parameters
        ----------
        pred : ndarray, shape (N, K)
            Raw outputs.

        Returns
        -------
        ndarray, shape (N,) or (N, K)
            Class indices, 0/1 labels, or values (the outputs themselves for
            squared error; ``exp`` for Poisson).
        """
        return pred

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able) that rebuild this loss.

        Returns
        -------
        dict
        """
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _cached(self, name: str) -> Any:
        return forward_cache(self, name, "forward(pred, target) first")


def check_pred(pred: Any, loss: Loss) -> np.ndarray:
    """A loss's ``pred``: a 2-D numeric array, cast to floats.

    Parameters
    ----------
    pred : array-like, shape (N, K)
    loss : Loss
        Named in the error messages.

    Returns
    -------
    ndarray, shape (N, K)
        Float; integers and booleans as float64.

    Raises
    ------
    ValueError
        If ``pred`` is not numeric or not 2-D.
    """
    pred = as_float(pred, f"{type(loss).__name__}: pred must be numeric")
    if pred.ndim != 2:
        raise ValueError(
            f"{type(loss).__name__}: pred must have shape (batch, outputs), got shape {pred.shape}"
        )
    return pred


def check_target_2d(target: Any, pred: np.ndarray, loss: Loss) -> np.ndarray:
    """A float target of pred's shape; a 1-D target is read as ``(n, 1)``.

    Parameters
    ----------
    target : array-like, shape (N,) or (N, K)
    pred : ndarray, shape (N, K)
    loss : Loss
        Named in the error messages.

    Returns
    -------
    ndarray, shape (N, K)
        In pred's dtype.

    Raises
    ------
    ValueError
        If ``target`` is not numeric or its shape does not match.
    """
    target = np.asarray(target)
    if target.dtype.kind not in "fiub":
        raise ValueError(f"{type(loss).__name__}: target must be numeric, got dtype {target.dtype}")
    if target.ndim == 1:
        target = target.reshape(-1, 1)
    if target.shape != pred.shape:
        raise ValueError(
            f"{type(loss).__name__}: target shape {target.shape} does not match "
            f"pred shape {pred.shape} (a 1-D target is read as (n, 1))"
        )
    return target.astype(pred.dtype, copy=False)


def check_weights(sample_weight: Any, n: int, dtype: np.dtype, loss: Loss) -> np.ndarray:
    """Per-sample weights, normalised to sum to 1 (so the loss is a weighted mean).

    Parameters
    ----------
    sample_weight : array-like, shape (n,), or None
        None: equal weights ``1 / n``.
    n : int
        Samples in the batch.
    dtype : numpy dtype
        Of the result (pred's).
    loss : Loss
        Named in the error messages.

    Returns
    -------
    ndarray, shape (n,)
        Non-negative, summing to 1.

    Raises
    ------
    ValueError
        For a wrong shape, a non-finite or negative weight, or a zero sum.
    """
    if sample_weight is None:
        return np.full(n, 1.0 / n, dtype=dtype)
    w = np.asarray(sample_weight, dtype=dtype)
    if w.shape != (n,):
        raise ValueError(
            f"{type(loss).__name__}: sample_weight must have shape ({n},), got {w.shape}"
        )
    try:  # finite, >= 0, not all zero: the estimators' check, in scikit-learn's words
        w = check_sample_weight(w, n, dtype)
    except ValueError as err:
        raise ValueError(f"{type(loss).__name__}: {err}") from None
    return w / w.sum()
