"""Compiled element-wise kernels (numba, optional): one pass where numpy needs several calls.

Reproduces, with the reference's formulas:

- `bprop.layers.ReLU`: ``forward`` ``y = max(x, 0)`` and ``backward``
  ``dx = dy * [y > 0]`` (`relu_forward`, `relu_backward`); after a `Linear`,
  the same with the Linear's bias and bias gradient folded in:
  ``y = max(x @ W + b, 0)`` (`relu_bias_forward`, on ``x @ W`` in place) and
  ``out = alpha * dx.sum(axis=0) + beta * out`` (`relu_backward_colsum`, the
  bias's gradient or update, as `bprop.fused.blas.colsum` writes it);
- `bprop.losses.SoftmaxNLL`: ``forward`` and ``backward`` in one pass per row
  (`softmax_nll`): ``nll_i = log sum_j exp(z_ij - max_j z_ij) - (z_{i,t_i} -
  max_j z_ij)`` and ``dz = (softmax(z) - onehot(t)) * c``.

Why: at the benchmark's sizes (batch 32-128, 10 classes) numpy's calls are
mostly overhead (the loss is about ten calls on a 32 x 10 array) and the
ReLU's backward makes a boolean temporary; a loop compiled once does each in
one call and one pass. `kernels.FusedReLU` and `kernels.FusedSoftmaxNLL` use
these when `available` and their numpy formulas otherwise.
``tests/test_fused.py`` trains with each and asserts the same parameters as
the reference trainer (1e-12 relative in float64, 1e-5 in float32), and
``tests/test_fused_compiled.py`` compares each kernel with its numpy
formula.

numba is an optional extra (``pip install bprop[fast]``) and the kernels are
opt-in: ``BPROP_NUMBA=1`` turns them on. Measured on the benchmark's MLP
(paired, one thread, CPU clock): 7.5 % less time per epoch at batch 32 and
6.6 % at batch 128 (float32); but importing numba and LLVM adds about 80 MB
to the process's resident memory (the benchmark's "peak RSS over the data"
went from 7-18 MB to 127-138 MB) and 0.3-1 s per process (2 s when it
compiles), more than the engine's whole memory budget (30 MB) for 7 %. Nothing
is imported or compiled until `load` is called (the fused engine calls it
when a step is built, inside ``fit``: its cost is the fit's); compiled code is
cached on disk (numba's ``cache=True``).
"""

from __future__ import annotations

import os
import warnings
from types import SimpleNamespace
from typing import Any

#: the compiled kernels once `load` found numba, None when not (or not loaded yet)
_KERNELS: SimpleNamespace | None = None
_TRIED = False


def available() -> bool:
    """Whether the kernels are turned on (``BPROP_NUMBA=1``) and numba imports."""
    return load() is not None


def load(n_samples: int | None = None) -> SimpleNamespace | None:
    """The compiled kernels (compiled lazily, per dtype, at their first call), or None.

    Parameters
    ----------
    n_samples : int or None
        The training set's size, when a fit asks (kept for the engine's call;
        the choice is the environment's).

    Returns
    -------
    SimpleNamespace or None
        The kernels as attributes; None unless ``BPROP_NUMBA=1`` and numba imports.
    """
    global _KERNELS, _TRIED
    if os.environ.get("BPROP_NUMBA", "") != "1":
        return None
    if not _TRIED:
        _TRIED = True
        try:
            import numba  # noqa: F401
        except ImportError:
            return None
        _KERNELS = _define()
    return _KERNELS


def _jit(func: Any) -> Any:
    import numba

    try:
        return numba.njit(cache=True, nogil=True)(func)
    except RuntimeError:  # no writable cache folder: compile in every process
        return numba.njit(nogil=True)(func)


def _define() -> SimpleNamespace:
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's cache notices

        @_jit
        def relu_forward(x, y):  # pragma: no cover (compiled: coverage cannot see it)
            m, n = x.shape
            for i in range(m):
                for j in range(n):
                    v = x[i, j]
                    y[i, j] = 0 if v < 0 else v  # NaN stays NaN, as in np.maximum

        @_jit
        def relu_backward(y, g):  # pragma: no cover
            m, n = g.shape
            for i in range(m):
                for j in range(n):
                    if not y[i, j] > 0:
                        g[i, j] *= 0  # dy * [y > 0]: NaN * 0 stays NaN, as in numpy

        @_jit
        def relu_bias_forward(y, b):  # pragma: no cover
            m, n = y.shape
            for i in range(m):
                for j in range(n):
                    v = y[i, j] + b[j]
                    y[i, j] = 0 if v < 0 else v

        @_jit
        def relu_backward_colsum(y, g, alpha, beta, out):  # pragma: no cover
            m, n = g.shape
            acc = np.zeros(n, dtype=g.dtype)
            for i in range(m):
                for j in range(n):
                    if not y[i, j] > 0:
                        g[i, j] *= 0
                    acc[j] += g[i, j]
            for j in range(n):  # beta == 0: out's old contents are never read (as in BLAS)
                out[j] = alpha * acc[j] + (beta * out[j] if beta != 0 else 0)

        @_jit
        def softmax_nll(z, t, c, dz, nll):  # pragma: no cover
            m, k = z.shape
            for i in range(m):
                mx = z[i, 0]
                for j in range(1, k):
                    if z[i, j] > mx:
                        mx = z[i, j]
                s = z[i, 0] - z[i, 0]  # a zero of z's dtype
                for j in range(k):
                    e = np.exp(z[i, j] - mx)
                    dz[i, j] = e
                    s += e
                nll[i] = np.log(s) - (z[i, t[i]] - mx)
                r = c[i] / s  # the softmax's division and the scaling by c, once per row
                for j in range(k):
                    dz[i, j] *= r
                dz[i, t[i]] -= c[i]

    return SimpleNamespace(relu_forward=relu_forward, relu_backward=relu_backward,
                           relu_bias_forward=relu_bias_forward,
                           relu_backward_colsum=relu_backward_colsum, softmax_nll=softmax_nll)
