"""In-place element-wise kernels: the fused engine's activations, dropout and losses.

Reproduces, each with the reference's formula (only the memory is different:
outputs go into preallocated workspaces, in place where the engine allows):

- `bprop.layers.ReLU`, `Sigmoid`, `Tanh`, `LeakyReLU`, `Identity`, `Dropout`:
  ``forward`` and ``backward``;
- `bprop.losses.SoftmaxNLL`, `SquaredError`, `SigmoidCrossEntropy`,
  `PoissonDeviance`: ``forward`` and ``backward`` as one call returning the
  loss and writing ``dL/dpred``.

ReLU and SoftmaxNLL run `compiled`'s one-pass kernels when the engine loaded
them (``use``: numba installed, the optional extra ``bprop[fast]``, and a data
set large enough, `compiled.load`) and the numpy formulas below otherwise.

``tests/test_fused.py`` checks them through whole training runs: the fused
trainer's parameters after 3 epochs equal the reference trainer's (1e-12
relative in float64, 1e-5 in float32) and so do the logged losses, for every
layer type and loss listed here.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy.special import expit, xlogy

from ..layers import Dropout, Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from ..losses import PoissonDeviance, SigmoidCrossEntropy, SoftmaxNLL, SquaredError


class Elementwise:
    """One element-wise layer: ``forward(x, y)`` writes y (``y`` may be ``x``: in place);
    ``backward(y, g)`` turns ``g = dL/dy`` into ``dL/dx`` in place. Some read y in
    backward: the engine lets nothing after them overwrite y.
    """

    def __init__(self, layer: Any, rows: int, cols: int, dtype: np.dtype) -> None:
        self.layer = layer

    def forward(self, x: np.ndarray, y: np.ndarray) -> None:
        if y is not x:
            np.copyto(y, x)

    def backward(self, y: np.ndarray, g: np.ndarray) -> None:
        pass


class FusedReLU(Elementwise):
    """``y = max(x, 0)``; ``dx = dy * [y > 0]`` (y > 0 exactly where x > 0).

    With numba, one compiled pass each (numpy's backward makes a boolean
    temporary and casts it), and two more methods for a ReLU right after a
    Linear: ``forward_bias(y, b)`` (``y = max(y + b, 0)`` in place) and
    ``backward_colsum(y, g, alpha, beta, out)`` (the backward, and
    ``out = alpha * g.sum(axis=0) + beta * out``).
    """

    def use(self, fast: SimpleNamespace) -> None:
        """Run `compiled`'s kernels from now on (the engine calls this when it loaded them)."""
        self.forward, self.backward = fast.relu_forward, fast.relu_backward
        # after a Linear the engine lets these add its bias and sum its bias gradient
        self.forward_bias, self.backward_colsum = (fast.relu_bias_forward,
                                                   fast.relu_backward_colsum)

    def forward(self, x: np.ndarray, y: np.ndarray) -> None:
        np.maximum(x, 0, out=y)

    def backward(self, y: np.ndarray, g: np.ndarray) -> None:
        np.multiply(g, y > 0, out=g)


class FusedSigmoid(Elementwise):
    """``y = 1 / (1 + exp(-x))`` (scipy's expit: stable, one pass); ``dx = dy * y * (1 - y)``."""

    def __init__(self, layer: Any, rows: int, cols: int, dtype: np.dtype) -> None:
        self.tmp = np.empty((rows, cols), dtype=dtype)

    def forward(self, x: np.ndarray, y: np.ndarray) -> None:
        expit(x, out=y)

    def backward(self, y: np.ndarray, g: np.ndarray) -> None:
        tmp = np.subtract(1, y, out=self.tmp[: len(y)])
        g *= y
        g *= tmp


class FusedTanh(FusedSigmoid):
    """``y = tanh(x)``; ``dx = dy * (1 - y**2)``."""

    def forward(self, x: np.ndarray, y: np.ndarray) -> None:
        np.tanh(x, out=y)

    def backward(self, y: np.ndarray, g: np.ndarray) -> None:
        tmp = np.multiply(y, y, out=self.tmp[: len(y)])
        np.subtract(1, tmp, out=tmp)
        g *= tmp


class FusedLeakyReLU(Elementwise):
    """``y = x if x > 0 else a*x``; ``dx = dy if x > 0 else a*dy`` (a mask of x <= 0 kept)."""

    def __init__(self, layer: Any, rows: int, cols: int, dtype: np.dtype) -> None:
        self.slope = layer.negative_slope
        self.negative = np.empty((rows, cols), dtype=bool)

    def forward(self, x: np.ndarray, y: np.ndarray) -> None:
        neg = np.less_equal(x, 0, out=self.negative[: len(x)])
        if y is not x:
            np.copyto(y, x)
        np.multiply(y, self.slope, out=y, where=neg)

    def backward(self, y: np.ndarray, g: np.ndarray) -> None:
        np.multiply(g, self.slope, out=g, where=self.negative[: len(g)])


class FusedDropout(Elementwise):
    """Inverted dropout drawing exactly the reference's stream from ``layer.rng``:
    ``keep = rng.random(x.shape) >= p``, ``scale = keep / (1 - p)``; ``y = x * scale``,
    ``dx = dy * scale``."""

    def __init__(self, layer: Any, rows: int, cols: int, dtype: np.dtype) -> None:
        self.layer, self.dtype = layer, np.dtype(dtype)
        self.draw = np.empty((rows, cols))  # float64, as Generator.random draws by default
        self.scale = np.empty((rows, cols), dtype=dtype)

    def forward(self, x: np.ndarray, y: np.ndarray) -> None:
        layer, m = self.layer, len(x)
        if layer.p == 0:  # the reference draws nothing then
            self.scale[:m] = 1
            super().forward(x, y)
            return
        r = layer.rng.random(out=self.draw[:m])
        scale = self.scale[:m]
        np.greater_equal(r, layer.p, out=scale, casting="unsafe")  # keep, as 0/1
        scale /= self.dtype.type(1.0 - layer.p)
        np.multiply(x, scale, out=y)

    def backward(self, y: np.ndarray, g: np.ndarray) -> None:
        g *= self.scale[: len(g)]


ELEMENTWISE: dict[type, type[Elementwise]] = {
    ReLU: FusedReLU,
    Sigmoid: FusedSigmoid,
    Tanh: FusedTanh,
    LeakyReLU: FusedLeakyReLU,
    Identity: Elementwise,
    Dropout: FusedDropout,
}


class FusedLoss:
    """A loss's forward and backward in one call: ``__call__(z, t, w, dz) -> loss``.

    ``z`` (m, K) the network's output, ``t`` the batch's targets, ``w`` the
    normalized sample weights (summing to 1) or None, ``dz`` (m, K) receives
    ``dL/dz``. Targets are checked once for the whole data by the reference
    loss (`prepare_targets`).
    """

    def __init__(self, rows: int, cols: int, dtype: np.dtype) -> None:
        self.dtype = np.dtype(dtype)

    def bind(self, y: np.ndarray, n: int, k: int, batch_size: int) -> None:
        """Keep the fit's targets as the kernel reads them, and a batch's workspace."""
        self.T = self.prepare_targets(y, n, k)
        self.t_batch = np.empty((batch_size, *self.T.shape[1:]), dtype=self.T.dtype)

    def batch(self, idx: np.ndarray, sw: np.ndarray | None, z: np.ndarray, dz: np.ndarray
              ) -> float:
        """The loss of the rows ``idx`` (weights ``sw`` or None) on the first ``len(idx)``
        rows of ``z``, writing their ``dL/dz`` into ``dz``: the reference ``loss.forward``
        then ``loss.backward`` of one batch."""
        m = len(idx)
        t = np.take(self.T, idx, axis=0, out=self.t_batch[:m], mode="clip")
        w = None
        if sw is not None:
            w = np.asarray(sw, dtype=self.dtype)
            w = w / w.sum()
        return self(z[:m], t, w, dz[:m])

    def prepare_targets(self, y: np.ndarray, n: int, k: int) -> np.ndarray:
        """The whole target array, as the kernel reads it: (n, K) of the model's dtype."""
        return np.asarray(y, dtype=self.dtype).reshape(n, k)

    def __call__(self, z: np.ndarray, t: np.ndarray, w: np.ndarray | None, dz: np.ndarray
                 ) -> float:
        raise NotImplementedError

    def _weights(self, w: np.ndarray | None, m: int) -> np.ndarray:
        return np.full(m, 1.0 / m, dtype=self.dtype) if w is None else w


class FusedSoftmaxNLL(FusedLoss):
    """`SoftmaxNLL`: ``nll_i = log sum_j exp(z_ij - max_j z_ij) - (z_{i,t_i} - max_j z_ij)``;
    ``dz = (softmax(z) - onehot(t)) * c`` with ``c = 1/m`` or the weights, the softmax's
    division and the scaling in one pass."""

    def __init__(self, rows: int, cols: int, dtype: np.dtype) -> None:
        super().__init__(rows, cols, dtype)
        self.rows = np.arange(rows)
        self.row_max = np.empty(rows, dtype=dtype)
        self.row_sum = np.empty(rows, dtype=dtype)
        self.fast: SimpleNamespace | None = None
        self.nll = np.empty(rows, dtype=dtype)
        self.c: dict[int, np.ndarray] = {}  # 1/m per row, for each batch size m met

    def use(self, fast: SimpleNamespace) -> None:
        """Run `compiled.softmax_nll` from now on (the engine calls this when it loaded it)."""
        self.fast = fast

    def prepare_targets(self, y: np.ndarray, n: int, k: int) -> np.ndarray:
        return np.asarray(y).astype(np.intp)

    def __call__(self, z: np.ndarray, t: np.ndarray, w: np.ndarray | None, dz: np.ndarray
                 ) -> float:
        m = len(z)
        if self.fast is not None:  # one compiled pass per row, writing dz and nll
            c = w
            if c is None:
                c = self.c.get(m)
                if c is None:
                    c = self.c[m] = np.full(m, 1.0 / m, dtype=self.dtype)
            nll = self.nll[:m]
            self.fast.softmax_nll(z, t, c, dz, nll)
            return float(nll.sum()) / m if w is None else float(w @ nll)
        rows = self.rows[:m]
        mx = np.max(z, axis=1, out=self.row_max[:m])
        np.subtract(z, mx[:, None], out=dz)  # shifted
        picked = dz[rows, t]
        np.exp(dz, out=dz)
        s = np.sum(dz, axis=1, out=self.row_sum[:m])
        nll = np.log(s) - picked
        loss = float(nll.sum()) / m if w is None else float(w @ nll)
        c = self.dtype.type(1.0 / m) if w is None else w
        np.divide(c, s, out=s)
        dz *= s[:, None]
        if w is None:
            dz[rows, t] -= c
        else:
            dz[rows, t] -= w
        return loss


class FusedSquaredError(FusedLoss):
    """`SquaredError`: ``L = 0.5 * sum_i w_i sum_j (p_ij - t_ij)**2``; ``dp = (p - t) * w``."""

    def __call__(self, z: np.ndarray, t: np.ndarray, w: np.ndarray | None, dz: np.ndarray
                 ) -> float:
        w = self._weights(w, len(z))
        diff = np.subtract(z, t, out=dz)
        loss = float(0.5 * (w @ np.einsum("ij,ij->i", diff, diff)))
        dz *= w[:, None]
        return loss


class FusedSigmoidCrossEntropy(FusedLoss):
    """`SigmoidCrossEntropy`: ``l = max(z, 0) - z*t + log(1 + exp(-|z|))``;
    ``dz = (sigmoid(z) - t) * w``."""

    def __call__(self, z: np.ndarray, t: np.ndarray, w: np.ndarray | None, dz: np.ndarray
                 ) -> float:
        w = self._weights(w, len(z))
        per_entry = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        loss = float(w @ per_entry.sum(axis=1))
        expit(z, out=dz)
        dz -= t
        dz *= w[:, None]
        return loss


class FusedPoissonDeviance(FusedLoss):
    """`PoissonDeviance`: ``l = t log(t / mu) - t + mu`` with ``mu = exp(z)``;
    ``dz = (mu - t) * w``."""

    def __call__(self, z: np.ndarray, t: np.ndarray, w: np.ndarray | None, dz: np.ndarray
                 ) -> float:
        w = self._weights(w, len(z))
        mu = np.exp(z, out=dz)
        per_entry = xlogy(t, t) - t * z - t + mu
        loss = float(w @ per_entry.sum(axis=1))
        dz -= t
        dz *= w[:, None]
        return loss


LOSSES: dict[type, type[FusedLoss]] = {
    SoftmaxNLL: FusedSoftmaxNLL,
    SquaredError: FusedSquaredError,
    SigmoidCrossEntropy: FusedSigmoidCrossEntropy,
    PoissonDeviance: FusedPoissonDeviance,
}


def loss_kernel(loss: Any, y: np.ndarray, n: int, k: int, batch_size: int,
                dtype: np.dtype) -> FusedLoss:
    """The fused kernel of ``loss``, bound to the fit's targets ``y``.

    The targets are checked once, by the reference ``loss.forward`` itself (in
    chunks of a few MB), so a bad label gets the reference's own error.

    Parameters
    ----------
    loss : Loss
        One of `LOSSES`' keys.
    y : ndarray, shape (n,) or (n, K)
        The fit's targets.
    n, k : int
        Samples and model outputs.
    batch_size : int
        The largest batch (the size of the targets' workspace).
    dtype : float32 or float64
        The model's.

    Returns
    -------
    FusedLoss

    Raises
    ------
    ValueError
        Whatever ``loss.forward`` raises for a bad target.
    """
    zeros = np.zeros((min(n, 4096), k), dtype=dtype)
    for start in range(0, n, len(zeros)):
        chunk = y[start : start + len(zeros)]
        loss.forward(zeros[: len(chunk)], chunk)
    kernel = LOSSES[type(loss)](batch_size, k, dtype)
    kernel.bind(y, n, k, batch_size)
    return kernel
