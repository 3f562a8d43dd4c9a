"""Normalization layers: `BatchNorm` (over the batch) and `LayerNorm` (over the features).

Both standardize, then scale and shift with learned ``gamma`` and ``beta``::

    x_hat = (x - mean) / sqrt(var + eps)          y = gamma * x_hat + beta

and differ only in the axis the statistics are taken over. Their backward
passes are the same formula on that axis (cs231n's compact form): with
``M`` values per statistic and ``dx_hat = dy * gamma``::

    dx = (M * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)) / (M * sqrt(var + eps))

The two sums are the gradient flowing through the mean and through the
variance: every input moves every statistic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..init import check_dtype
from ..parameter import Parameter
from ..registry import register
from ..validation import check_int, check_positive, check_unit_interval
from .base import Layer, check_input


def _check_features(x: np.ndarray, n: int, layer: Layer) -> None:
    if x.shape[1] != n:
        raise ValueError(f"{layer!r} expects x with {n} features, got shape {x.shape}")


def _normalized_backward(
    dx_hat: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, axis: int
) -> np.ndarray:
    """dL/dx of ``x_hat = (x - mean(x)) * inv_std`` with the statistics over ``axis``."""
    m = x_hat.shape[axis]
    sum_dx_hat = dx_hat.sum(axis=axis, keepdims=True)
    sum_dx_hat_x_hat = (dx_hat * x_hat).sum(axis=axis, keepdims=True)
    return (m * dx_hat - sum_dx_hat - x_hat * sum_dx_hat_x_hat) * (inv_std / m)


@register("layer")
class BatchNorm(Layer):
    """Batch normalization (Ioffe & Szegedy, 2015), as PyTorch's ``BatchNorm1d``.

    Forward in training mode, per feature j over the N rows of the batch::

        mu_j    = mean_i x_ij                              (D,)
        var_j   = mean_i (x_ij - mu_j)**2                  (D,)  biased
        x_hat   = (x - mu) / sqrt(var + eps)               (N, D)
        y       = gamma * x_hat + beta                     (N, D)

    and the running statistics move towards the batch's::

        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var  = (1 - momentum) * running_var  + momentum * var * N / (N - 1)

    (the running variance is the unbiased estimate, as in PyTorch). In
    evaluation mode ``mu`` and ``var`` are the running statistics: the layer
    is then a fixed affine map per feature.

    Backward, given dy (N, D)::

        dgamma = sum_i dy * x_hat                          (D,)
        dbeta  = sum_i dy                                  (D,)
        dx_hat = dy * gamma
        dx     = (N dx_hat - sum_i dx_hat - x_hat sum_i dx_hat x_hat) / (N sqrt(var + eps))
        dx     = dx_hat / sqrt(running_var + eps)          (evaluation mode)

    Parameters
    ----------
    n_in : int
        Number of features D (inferred in configs and ``layers=``).
    momentum : float, default=0.1
        Weight of the new batch in the running statistics, in [0, 1).
    eps : float, default=1e-5
        Added to the variance, > 0.
    dtype : float32 or float64, default=float64

    Attributes
    ----------
    gamma, beta : Parameter, shape (D,)
        Scale (starts at 1) and shift (starts at 0); not weight-decayed.
    running_mean, running_var : ndarray, shape (D,)
        Start at 0 and 1; listed by ``buffers()`` so model files keep them.

    Examples
    --------
    >>> bn = BatchNorm(2)
    >>> bn.forward(np.array([[1.0, 10.0], [3.0, 30.0]])).round(3)
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> bn.running_mean
    array([0.2, 2. ])
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"momentum": "[0, 1)", "eps": "> 0"}
    #: samples a training batch needs (a variance of one sample is 0): the Trainer
    #: refuses a batch_size that leaves a smaller batch before the first step
    min_batch = 2

    def __init__(
        self, n_in: int, *, momentum: float = 0.1, eps: float = 1e-5, dtype: Any = np.float64
    ) -> None:
        self.n_in = check_int("BatchNorm: n_in", n_in)
        self.momentum = check_unit_interval("BatchNorm: momentum", momentum)
        self.eps = check_positive("BatchNorm: eps", eps)
        dt = check_dtype(dtype)
        self.gamma = Parameter(np.ones(self.n_in, dtype=dt), "gamma", decay=False)
        self.beta = Parameter(np.zeros(self.n_in, dtype=dt), "beta", decay=False)
        self.running_mean = np.zeros(self.n_in, dtype=dt)
        self.running_var = np.ones(self.n_in, dtype=dt)
        self._x_hat: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x, self)
        _check_features(x, self.n_in, self)
        n = x.shape[0]
        if self.training:
            if n < 2:
                raise ValueError(
                    f"{self!r} in training mode needs at least 2 samples per batch to "
                    f"estimate a variance, got {n}; use eval() for single samples"
                )
            mu = x.mean(axis=0)
            var = ((x - mu) ** 2).mean(axis=0)
            m = self.momentum
            # in place: whoever holds these arrays (a checkpoint, buffers()) sees the update
            self.running_mean *= 1 - m
            self.running_mean += m * mu
            self.running_var *= 1 - m
            self.running_var += (m * n / (n - 1)) * var
        else:
            mu, var = self.running_mean, self.running_var
        self._inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        self._x_hat = (x - mu) * self._inv_std
        self._batch_stats = self.training
        return self.gamma.value * self._x_hat + self.beta.value

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x_hat = self._cached("_x_hat")
        self.gamma.grad[...] = (dy * x_hat).sum(axis=0)
        self.beta.grad[...] = dy.sum(axis=0)
        dx_hat = dy * self.gamma.value
        if not self._batch_stats:
            return dx_hat * self._inv_std  # the statistics are constants
        return _normalized_backward(dx_hat, x_hat, self._inv_std, axis=0)

    def buffers(self) -> dict[str, np.ndarray]:
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def get_config(self) -> dict[str, Any]:
        return {
            "n_in": self.n_in,
            "momentum": self.momentum,
            "eps": self.eps,
            "dtype": np.dtype(self.gamma.dtype).name,
        }


@register("layer")
class LayerNorm(Layer):
    """Layer normalization (Ba, Kiros & Hinton, 2016), as PyTorch's ``LayerNorm(D)``.

    Forward, per row i over its D features (the same in training and
    evaluation: no running statistics)::

        mu_i   = mean_j x_ij                               (N, 1)
        var_i  = mean_j (x_ij - mu_i)**2                   (N, 1)  biased
        x_hat  = (x - mu) / sqrt(var + eps)                (N, D)
        y      = gamma * x_hat + beta                      (N, D)

    Backward, given dy (N, D)::

        dgamma = sum_i dy * x_hat                          (D,)
        dbeta  = sum_i dy                                  (D,)
        dx_hat = dy * gamma
        dx     = (D dx_hat - sum_j dx_hat - x_hat sum_j dx_hat x_hat) / (D sqrt(var + eps))

    Parameters
    ----------
    n_in : int
        Number of features D (inferred in configs and ``layers=``).
    eps : float, default=1e-5
        Added to the variance, > 0.
    dtype : float32 or float64, default=float64

    Examples
    --------
    >>> LayerNorm(2).forward(np.array([[1.0, 3.0]])).round(3)
    array([[-1.,  1.]])
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"eps": "> 0"}

    def __init__(self, n_in: int, *, eps: float = 1e-5, dtype: Any = np.float64) -> None:
        self.n_in = check_int("LayerNorm: n_in", n_in)
        self.eps = check_positive("LayerNorm: eps", eps)
        dt = check_dtype(dtype)
        self.gamma = Parameter(np.ones(self.n_in, dtype=dt), "gamma", decay=False)
        self.beta = Parameter(np.zeros(self.n_in, dtype=dt), "beta", decay=False)
        self._x_hat: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x, self)
        _check_features(x, self.n_in, self)
        mu = x.mean(axis=1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
        self._inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        self._x_hat = (x - mu) * self._inv_std
        return self.gamma.value * self._x_hat + self.beta.value

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x_hat = self._cached("_x_hat")
        self.gamma.grad[...] = (dy * x_hat).sum(axis=0)
        self.beta.grad[...] = dy.sum(axis=0)
        return _normalized_backward(dy * self.gamma.value, x_hat, self._inv_std, axis=1)

    def get_config(self) -> dict[str, Any]:
        return {"n_in": self.n_in, "eps": self.eps, "dtype": np.dtype(self.gamma.dtype).name}
