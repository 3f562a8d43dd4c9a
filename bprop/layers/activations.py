"""Element-wise activation layers and the inference-time `Softmax`.

Each activation caches the one array its derivative needs: Sigmoid and Tanh
their output ``y`` (the derivative is a function of ``y``), ReLU and
LeakyReLU a mask of the positive inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register
from ..validation import check_nonnegative
from .base import Layer, check_input


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))`` without overflow for any finite x.

    ``exp(-x)`` overflows for x < -709 (float64), so negative entries use the
    equivalent form ``exp(x) / (1 + exp(x))``. Computing ``exp(-|x|)`` once
    serves both halves.

    Parameters
    ----------
    x : ndarray
        Any shape, float.

    Returns
    -------
    ndarray
        Same shape and dtype, in (0, 1).
    """
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z)).astype(x.dtype, copy=False)


@register("layer", aliases=("logistic",))
class Sigmoid(Layer):
    """Logistic sigmoid.

    Forward: ``y = 1 / (1 + exp(-x))``; backward: ``dx = dy * y * (1 - y)``.
    Shapes: x, y, dy, dx all ``(N, D)``.

    Examples
    --------
    >>> Sigmoid().forward(np.array([[0.0]]))
    array([[0.5]])
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = sigmoid(check_input(x, self))
        return self._y.copy()  # a fresh output: the caller may change it, backward keeps y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        y = self._cached("_y")
        return dy * y * (1.0 - y)


@register("layer", aliases=("tanh",))
class Tanh(Layer):
    """Hyperbolic tangent.

    Forward: ``y = tanh(x)``; backward: ``dx = dy * (1 - y**2)``.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = np.tanh(check_input(x, self))
        return self._y.copy()  # a fresh output: the caller may change it, backward keeps y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        y = self._cached("_y")
        return dy * (1.0 - y * y)


@register("layer", aliases=("relu",))
class ReLU(Layer):
    """Rectified linear unit.

    Forward: ``y = max(x, 0)``; backward: ``dx = dy * [x > 0]``. The kink at 0
    gets derivative 0 (the gradient checker keeps inputs away from it).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x, self)
        self._mask = x > 0
        return np.maximum(x, 0)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * self._cached("_mask")


@register("layer")
class LeakyReLU(Layer):
    """Leaky ReLU: a small slope instead of zero for negative inputs.

    Forward: ``y = x if x > 0 else a*x``; backward: ``dx = dy * (1 if x > 0 else a)``.

    Parameters
    ----------
    negative_slope : float, default=0.01
        The slope ``a`` for ``x <= 0``; must be >= 0.
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"negative_slope": ">= 0"}

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = check_nonnegative("negative_slope", negative_slope)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x, self)
        self._mask = x > 0
        return np.where(self._mask, x, x * self.negative_slope)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        mask = self._cached("_mask")
        return np.where(mask, dy, dy * self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}


@register("layer", aliases=("identity",))
class Identity(Layer):
    """The identity: ``y = x``, ``dx = dy``. A linear output for regression.

    Both return copies: a layer's output is always a fresh array, so that a
    caller may change it without touching the input.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._seen = True
        return check_input(x, self).copy()

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self._cached("_seen")
        return np.array(dy, copy=True)


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for any finite x: subtract the row max first.

    Parameters
    ----------
    x : ndarray, shape (N, K)
        Scores (logits).

    Returns
    -------
    ndarray, shape (N, K)
        Each row non-negative, summing to 1.
    """
    e = np.exp(x - x.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def class_probabilities(z: np.ndarray, *, multilabel: bool = False) -> np.ndarray:
    """Class probabilities from a classifier's raw outputs (logits): the one place.

    Parameters
    ----------
    z : ndarray, shape (N, K)
        Raw scores. ``K == 1`` is one logistic unit for two classes.
    multilabel : bool, default=False
        The K labels are independent (each sample may have several): a
        sigmoid per column instead of a softmax across them.

    Returns
    -------
    proba : ndarray, shape (N, K), or (N, 2) when K == 1
        ``softmax(z)`` (one class per sample), ``sigmoid(z)`` per column
        (multilabel), or for one logistic unit the columns ``[1 - p, p]``
        with ``p = sigmoid(z)``: the negative and the positive class.

    Examples
    --------
    >>> class_probabilities(np.array([[0.0]]))
    array([[0.5, 0.5]])
    """
    if z.shape[1] == 1:
        p = sigmoid(z)
        return np.hstack([1 - p, p])
    return sigmoid(z) if multilabel else softmax(z)


@register("layer")
class Softmax(Layer):
    """Row-wise softmax, an output layer for inference (probabilities).

    For training, feed the raw scores to `bprop.losses.SoftmaxNLL`, which
    fuses softmax with the log-likelihood for stability.

    Forward: ``y_i = exp(x_i - max x) / sum_j exp(x_j - max x)`` per row.
    Backward (the softmax Jacobian applied to dy)::

        dx = y * (dy - sum_j(dy_j * y_j))        per row
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = softmax(check_input(x, self))
        return self._y.copy()  # a fresh output: the caller may change it, backward keeps y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        y = self._cached("_y")
        return y * (dy - np.sum(dy * y, axis=1, keepdims=True))
