"""Smooth and learnable activations (`ELU`, `GELU`, `Softplus`, `PReLU`) and `LogSoftmax`.

As in `bprop.layers.activations`, each caches what its derivative needs:
ELU its output (the derivative below 0 is ``y + alpha``), GELU and Softplus
their input, PReLU its input (for the slope's gradient), LogSoftmax the
softmax ``exp(y)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import erf

from ..init import check_dtype
from ..parameter import Parameter
from ..registry import register
from ..validation import check_positive, is_number
from .activations import sigmoid
from .base import Layer, check_input


@register("layer")
class ELU(Layer):
    """Exponential linear unit (Clevert et al., 2015).

    Forward: ``y = x`` for ``x > 0``, ``y = alpha * (exp(x) - 1)`` otherwise.
    Backward: ``dx = dy`` for ``x > 0``, ``dx = dy * (y + alpha)`` otherwise
    (the derivative ``alpha * exp(x)`` read off the output).
    Shapes: x, y, dy, dx all ``(N, D)``.

    Parameters
    ----------
    alpha : float, default=1.0
        The negative saturation value is ``-alpha``; > 0.

    Examples
    --------
    >>> ELU().forward(np.array([[1.0, 0.0]]))
    array([[1., 0.]])
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"alpha": "> 0"}

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = check_positive("ELU: alpha", alpha)
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x, self)
        self._mask = x > 0
        # expm1 is exact near 0; the minimum keeps exp from overflowing on the unused branch
        self._y = np.where(self._mask, x, self.alpha * np.expm1(np.minimum(x, 0)))
        return self._y.copy()  # a fresh output: the caller may change it, backward keeps y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        y = self._cached("_y")
        return np.where(self._mask, dy, dy * (y + y.dtype.type(self.alpha)))

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


@register("layer")
class GELU(Layer):
    """Gaussian error linear unit (Hendrycks & Gimpel, 2016), the exact form.

    With ``Phi`` the standard normal CDF and ``phi`` its density::

        y  = x * Phi(x),          Phi(x) = (1 + erf(x / sqrt(2))) / 2
        dx = dy * (Phi(x) + x * phi(x)),   phi(x) = exp(-x**2 / 2) / sqrt(2 pi)

    Shapes: x, y, dy, dx all ``(N, D)``. PyTorch's ``GELU()`` (its default,
    ``approximate="none"``) computes the same function.

    Examples
    --------
    >>> GELU().forward(np.array([[0.0, 1.0]])).round(4)
    array([[0.    , 0.8413]])
    """

    def __init__(self) -> None:
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x, self)
        self._x = x
        self._cdf = 0.5 * (1.0 + erf(x / math.sqrt(2.0)))
        return x * self._cdf

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x = self._cached("_x")
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)  # python floats keep float32
        return dy * (self._cdf + x * pdf)


@register("layer")
class Softplus(Layer):
    """Softplus, a smooth ReLU: ``y = log(1 + exp(x))``.

    Forward in the stable form ``y = max(x, 0) + log(1 + exp(-|x|))`` (no
    overflow for any finite x). Backward: the derivative is the sigmoid,
    ``dx = dy * sigmoid(x)``. Shapes: x, y, dy, dx all ``(N, D)``.

    PyTorch's ``Softplus()`` returns ``x`` itself above ``x = 20``; this layer
    keeps the exact formula (they differ by less than ``2e-9`` there).

    Examples
    --------
    >>> Softplus().forward(np.array([[0.0]])).round(4)   # log 2
    array([[0.6931]])
    """

    def __init__(self) -> None:
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x, self)
        self._x = x
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * sigmoid(self._cached("_x"))


@register("layer")
class PReLU(Layer):
    """Parametric ReLU (He et al., 2015): a leaky ReLU whose slope is learned.

    One slope ``a`` shared by every unit, as PyTorch's ``PReLU()``::

        y      = x            if x > 0,   a * x     otherwise        (N, D)
        dx     = dy           if x > 0,   a * dy    otherwise        (N, D)
        dalpha = sum over x <= 0 of dy * x                            (1,)

    Parameters
    ----------
    init : float, default=0.25
        The starting slope.
    dtype : float32 or float64, default=float64

    Attributes
    ----------
    alpha : Parameter, shape (1,)
        The slope; not weight-decayed (decay would push it to a plain ReLU).

    Examples
    --------
    >>> PReLU().forward(np.array([[-2.0, 3.0]]))
    array([[-0.5,  3. ]])
    """

    def __init__(self, init: float = 0.25, *, dtype: Any = np.float64) -> None:
        if not is_number(init) or not np.isfinite(init):
            raise ValueError(f"PReLU: init must be a finite number, got {init!r}")
        self.init = float(init)
        self.alpha = Parameter(np.full(1, self.init, dtype=check_dtype(dtype)), "alpha",
                               decay=False)
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x, self)
        self._x, self._mask = x, x > 0
        return np.where(self._mask, x, self.alpha.value * x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x = self._cached("_x")
        self.alpha.grad[...] = np.sum(np.where(self._mask, 0, dy * x))
        return np.where(self._mask, dy, self.alpha.value * dy)

    def get_config(self) -> dict[str, Any]:
        return {"init": self.init, "dtype": np.dtype(self.alpha.dtype).name}


@register("layer")
class LogSoftmax(Layer):
    """Row-wise log-softmax: log-probabilities, the input `bprop.losses.NLL` expects.

    Forward, stable for any finite x (subtract the row max, then log-sum-exp)::

        y_i = x_i - max_j x_j - log sum_j exp(x_j - max_j x_j)        (N, K)

    Backward: ``dy_i/dx_k = [i == k] - softmax(x)_k``, so per row::

        dx = dy - softmax(x) * sum_j dy_j          with softmax(x) = exp(y)

    ``LogSoftmax`` then ``NLL`` equals `bprop.losses.SoftmaxNLL`, in value
    and gradient.

    Examples
    --------
    >>> np.exp(LogSoftmax().forward(np.zeros((1, 4))))
    array([[0.25, 0.25, 0.25, 0.25]])
    """

    def __init__(self) -> None:
        self._p: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x, self)
        shifted = x - x.max(axis=1, keepdims=True)
        y = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self._p = np.exp(y)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        p = self._cached("_p")
        return dy - p * dy.sum(axis=1, keepdims=True)
