"""`Linear`: the fully connected layer ``y = x @ W + b``."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse import issparse, spmatrix

from ..init import INITIALIZERS, as_rng, check_dtype, initialize
from ..parameter import Parameter
from ..registry import register
from ..validation import check_int
from .base import Layer, check_input


def check_sparse(x: spmatrix, layer: Layer) -> spmatrix:
    """A sparse layer input as CSR or CSC of floats (an integer matrix becomes float64).

    Parameters
    ----------
    x : scipy.sparse matrix, shape (N, D_in)
    layer : Layer
        The layer that receives it, named in messages.

    Returns
    -------
    scipy.sparse matrix, shape (N, D_in)
        ``x`` itself, or a float64 copy of an integer matrix.

    Raises
    ------
    ValueError
        For another sparse format or a non-numeric dtype.
    """
    if x.format not in ("csr", "csc"):
        raise ValueError(f"{type(layer).__name__}.forward takes sparse x as CSR or CSC, got "
                         f"{x.format.upper()}; convert it with x.tocsr()")
    if x.dtype.kind in "iub":
        return x.astype(np.float64)
    if x.dtype.kind != "f":
        raise ValueError(f"{type(layer).__name__}.forward expects a numeric matrix, got dtype "
                         f"{x.dtype}")
    return x


@register("layer")
class Linear(Layer):
    """Fully connected layer.

    Forward::

        y = x @ W + b                 x (N, D_in), W (D_in, D_out), b (D_out,), y (N, D_out)

    Backward, given dy = dL/dy of shape (N, D_out)::

        dW = x.T @ dy                 (D_in, D_out)
        db = dy.sum(axis=0)           (D_out,)
        dx = dy @ W.T                 (N, D_in)

    x may be a scipy.sparse matrix (CSR or CSC; TF-IDF or one-hot features):
    the same two products, ``x @ W`` and ``x.T @ dy``, then cost time and
    memory of the order of x's non-zeros, and x is never densified. (``dx`` is
    dense, but the training loop never asks the first layer for it.)

    Parameters
    ----------
    n_in, n_out : int
        Input and output feature counts.
    init : str, default="glorot_uniform"
        Weight initialiser, one of `bprop.init.INITIALIZERS` or ``"normal"``
        (with ``std``). Biases start at zero.
    std : float, default=0.01
        Standard deviation for ``init="normal"``.
    dtype : float32 or float64, default=float64
        The dtype of the parameters; feed inputs of the same dtype to keep a
        network float32 end to end.
    rng : int, numpy Generator or None
        Seed or generator for the initialiser.

    Examples
    --------
    >>> layer = Linear(3, 2, rng=0)
    >>> layer.forward(np.ones((4, 3))).shape
    (4, 2)
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {
        "n_out": ">= 1",
        "init": (*INITIALIZERS, "normal"),
        "std": "> 0 if init == normal",
    }

    def __init__(
        self,
        n_in: int,
        n_out: int,
        *,
        init: str = "glorot_uniform",
        std: float = 0.01,
        dtype: Any = np.float64,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        self.n_in = check_int("Linear: n_in", n_in)
        self.n_out = check_int("Linear: n_out", n_out)
        self.init, self.std = init, std
        dt = check_dtype(dtype)
        W = initialize(init, as_rng(rng), self.n_in, self.n_out, std=std).astype(dt)
        self.weight = Parameter(W, "weight", decay=True)
        self.bias = Parameter(np.zeros(self.n_out, dtype=dt), "bias", decay=False)
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray | spmatrix) -> np.ndarray:
        x = check_sparse(x, self) if issparse(x) else check_input(x, self)
        if x.shape[1] != self.n_in:
            raise ValueError(
                f"Linear({self.n_in}, {self.n_out}) expects x with {self.n_in} features, "
                f"got shape {x.shape}"
            )
        self._x = x
        return x @ self.weight.value + self.bias.value

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self.backward_params(dy)
        return dy @ self.weight.value.T

    def backward_params(self, dy: np.ndarray) -> None:
        x = self._cached("_x")
        # written into the Parameters' own arrays: .grad keeps its identity and dtype
        if issparse(x):
            self.weight.grad[...] = x.T @ dy  # dW = x.T @ dy, scipy's sparse product
        else:
            np.matmul(x.T, dy, out=self.weight.grad)  # dW = x.T @ dy
        self.bias.grad[...] = dy.sum(axis=0)  # db = dy.sum(axis=0)

    def output_dim(self, input_dim: int) -> int:
        return self.n_out

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"n_in": self.n_in, "n_out": self.n_out, "init": self.init}
        if self.init == "normal":
            config["std"] = self.std
        config["dtype"] = np.dtype(self.weight.dtype).name
        return config
