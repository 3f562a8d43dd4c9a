"""The fused training step for sparse input: X stays a scipy.sparse CSR matrix.

Reproduces `bprop.training.trainer.ReferenceStep` on sparse data: the first
`Linear`'s ``forward`` and ``backward_params`` with a sparse x (``y = x @ W
+ b``, ``dW = x.T @ dy``), the dense layers after it, the loss, and
``optimizer.step()`` for `SGD` (plain, momentum, Nesterov, weight decay) and
`Adam` (`bprop.optim.sgd`, `bprop.optim.adam`), for the models and losses the
dense engine supports (`bprop.fused.engine.unsupported`).
``tests/test_sparse.py`` trains the same model three ways (reference step on
the sparse matrix, this step on it, the dense fused step on its dense copy)
and asserts equal parameters after 3 epochs (1e-12 relative in float64, 1e-5
in float32), with sample weights, a ragged last batch and every optimizer; it
asserts that this step really ran (`steps`), also without scipy's kernels.

Why a step of its own. The first weight matrix of a sparse model is its
whole size (50,000 features x 64 units: 25.6 MB in float64), and each step
touches only the rows of the features present in the batch. The reference
makes a dense ``dW = x.T @ dy`` (zero-filled, the size of W) and the
optimizer's formulas make several more temporaries of that size; the dense
engine would copy W and its state into packed buffers. Here:

- every parameter and every optimizer state is updated *in place in its own
  array* (``p.value``, ``optimizer.velocity[i]``, ``optimizer.m[i]``...):
  nothing is packed, so `load` and `store` copy nothing;
- the minibatch is the rows ``X[idx]``, still sparse, gathered by scipy's
  own row-gathering kernel into buffers reused from batch to batch (`Rows`:
  scipy's ``X[idx]`` checks and allocates, a tenth of a small step's time);
  the first layer's forward is scipy's sparse kernel ``y += x @ W`` written
  into a workspace;
- a first W of at most `BLOCK` values is updated in one piece: its gradient
  ``g = wd * W + x.T @ dy`` is scattered from the batch's rows into one
  buffer (scipy's ``csc_matvecs``: x's CSR arrays read as x.T in CSC);
- a larger W is updated in row blocks of `BLOCK` values (2 MB in
  float64): a block's ``g = wd * W + x.T @ dy`` (the batch's non-zeros in
  those rows, from its columns: x in CSC, `Rows.columns`) goes into one
  reused buffer, and the update of that block (`_apply`: SGD, momentum,
  Nesterov or Adam, BLAS ``axpy``/``axpby``) follows while the block is in
  the CPU's cache, ``||W||^2`` for the L2 term after it. W and its state
  are each read and written once per step, and no array the size of W is
  ever allocated (the reference makes four or more a step);
- the updates run on one BLAS thread (`bprop.fused.blas.one_thread`): on
  blocks this size OpenBLAS would wake and join its threads at every call,
  which cost a fit 10x its time on a busy machine; the products of the
  dense layers keep the library's threads;
- the dense layers after it are computed as the reference computes them
  (``x @ W + b``, ``x.T @ dy``, ``dy.sum(axis=0)``, ``dy @ W.T``) into
  workspaces allocated once per ``fit``, with the activations' in-place
  kernels (`bprop.fused.kernels`).

The sparse products and gathers call scipy's own kernels (``csr_matvecs``,
``csc_matvecs``, ``csr_row_index``, ``csr_tocsc``: the loops behind ``X @
W``, ``X.T @ dy``, ``X[idx]``, ``X.tocsc()``) on the matrices' arrays,
writing into the buffers given; where they cannot be found, the same results
come from numpy and scipy's public ``@`` (a temporary per product).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..layers import Layer, Linear
from ..losses.base import Loss
from ..optim.base import Optimizer
from . import blas
from .blas import Mat, mat
from .engine import flatten, update_mode
from .kernels import ELEMENTWISE, loss_kernel

try:  # scipy's compiled kernels behind X @ W, X[idx] and X.tocsc() (private, stable since 0.x)
    from scipy.sparse import _sparsetools
except ImportError:  # pragma: no cover - an older or newer scipy without them
    _sparsetools = None
#: ``Y += A @ X`` for CSR A
_csr_matvecs = getattr(_sparsetools, "csr_matvecs", None)
#: ``Y += A @ X`` for CSC A: with A = x.T (x's CSR arrays read as CSC), ``dW += x.T @ dy``
_csc_matvecs = getattr(_sparsetools, "csc_matvecs", None)
#: the rows ``A[idx]`` of a CSR A, written into the arrays given
_csr_row_index = getattr(_sparsetools, "csr_row_index", None)
#: CSR to CSC, written into the arrays given
_csr_tocsc = getattr(_sparsetools, "csr_tocsc", None)

#: values per block of the first weight matrix's update (2 MB in float64): a block
#: of W, its optimizer state and its gradient stay in the CPU's cache (L3) between
#: the update's passes, and a step makes a few hundred Python calls at most (measured
#: on 50,000 x 64 weights, Adam: 1/4 and 1/8 of this size took 1.1x and 1.3x the
#: time, 4x 1.2x); a W of at most this many values is updated in one piece, its
#: gradient scattered straight from the batch's rows (no column-major copy: 10 %
#: faster on 2,000 x 64 weights than blocks of 1/8 of this size)
BLOCK = 1 << 18

#: how many sparse steps ran (tests assert that this step, not the reference, trained)
steps = 0


def matvecs(n_rows: int, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
            n_cols: int, X: np.ndarray, out: np.ndarray) -> None:
    """``out += A @ X`` for the CSR matrix ``A = (data, indices, indptr)`` of ``n_rows`` rows.

    Parameters
    ----------
    n_rows : int
        Rows of A; ``indptr`` has ``n_rows + 1`` entries, which may start
        above 0 (a block of rows of a larger matrix: they index ``indices``
        and ``data`` as they are). ``indices`` and ``data`` may be longer
        than ``indptr[-1]`` (reused buffers).
    indptr, indices, data : ndarray
        The CSR arrays (one integer dtype; ``data`` in X's dtype).
    n_cols : int
        Columns of A (rows of X).
    X : ndarray, shape (n_cols, H)
        C-contiguous.
    out : ndarray, shape (n_rows, H)
        C-contiguous, X's dtype; added to in place.
    """
    h = X.shape[1]
    if _csr_matvecs is not None:
        _csr_matvecs(n_rows, n_cols, h, indptr, indices, data, X.reshape(-1), out.reshape(-1))
        return
    from scipy.sparse import csr_matrix

    start, stop = int(indptr[0]), int(indptr[-1])
    A = csr_matrix((data[start:stop], indices[start:stop], indptr - start),
                   shape=(n_rows, n_cols))
    out += A @ X


def transposed_matvecs(n_rows: int, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                       n_cols: int, X: np.ndarray, out: np.ndarray) -> None:
    """``out += A.T @ X`` for the CSR matrix ``A = (data, indices, indptr)`` (n_rows x n_cols).

    A's arrays read as CSC are ``A.T``: scipy's ``csc_matvecs`` scatters each
    non-zero's row of X into ``out``, adding to each row of ``out`` in the
    order of A's rows, as scipy's ``A.T @ X`` does (the reference's ``dW =
    x.T @ dy``).

    Parameters
    ----------
    n_rows, n_cols : int
        A's shape; ``indptr`` has ``n_rows + 1`` entries starting at 0.
    indptr, indices, data : ndarray
        A's CSR arrays (``indices`` and ``data`` may be longer than ``indptr[-1]``).
    X : ndarray, shape (n_rows, H)
        C-contiguous.
    out : ndarray, shape (n_cols, H)
        C-contiguous, X's dtype; added to in place.
    """
    h = X.shape[1]
    if _csc_matvecs is not None:
        _csc_matvecs(n_cols, n_rows, h, indptr, indices, data, X.reshape(-1), out.reshape(-1))
        return
    from scipy.sparse import csr_matrix

    nnz = int(indptr[-1])
    A = csr_matrix((data[:nnz], indices[:nnz], indptr), shape=(n_rows, n_cols))
    out += A.T @ X


class Rows:
    """Minibatches of rows of a CSR matrix, gathered into buffers reused from batch to batch.

    ``gather(idx)`` writes the rows ``X[idx]`` as CSR arrays (``indptr``,
    ``indices``, ``data``: the same arrays scipy's ``X[idx]`` makes, without
    its checks and allocations, a tenth of a small step's time);
    ``columns()`` the same batch in CSC (``cindptr``, ``cindices``,
    ``cdata``, as ``X[idx].tocsc()``). ``indices`` and ``data`` (and the CSC
    arrays) grow when a batch has more non-zeros than any before; only their
    first ``nnz`` entries are the batch's.

    Parameters
    ----------
    X : scipy.sparse CSR matrix, shape (n, D)
        Its ``indptr`` and ``indices`` of one integer dtype.
    batch_size : int
        The most rows a batch has.
    """

    def __init__(self, X: Any, batch_size: int) -> None:
        self.X = X
        it = X.indices.dtype
        n, self.n_cols = X.shape
        B = min(batch_size, n)
        self.indptr = np.zeros(B + 1, dtype=it)
        self.rows = np.empty(B, dtype=it)
        # room for a batch of average rows, and a quarter more (grown when a batch needs it)
        cap = int(1.25 * B * X.nnz / max(n, 1)) + 16
        self.indices, self.data = np.empty(cap, dtype=it), np.empty(cap, dtype=X.dtype)
        self.cindptr: np.ndarray | None = None  # allocated by the first `columns`
        self.cindices, self.cdata = self.indices[:0], self.data[:0]
        self.m = self.nnz = 0

    def gather(self, idx: np.ndarray) -> None:
        """The rows ``X[idx]`` into ``indptr[:m + 1]``, ``indices[:nnz]``, ``data[:nnz]``."""
        X, m = self.X, len(idx)
        rows = self.rows[:m]
        rows[...] = idx
        starts = np.take(X.indptr, rows)
        lens = np.take(X.indptr, rows + 1)
        lens -= starts
        np.cumsum(lens, dtype=rows.dtype, out=self.indptr[1 : m + 1])
        nnz = int(self.indptr[m])
        self.m, self.nnz = m, nnz
        if nnz > len(self.data):
            self.indices = np.empty(nnz + nnz // 4, dtype=rows.dtype)
            self.data = np.empty(nnz + nnz // 4, dtype=X.dtype)
        if _csr_row_index is not None:
            _csr_row_index(m, rows, X.indptr, X.indices, X.data, self.indices, self.data)
            return
        # the positions in X of the batch's non-zeros: each row's start, then counting up
        pos = np.repeat(starts - self.indptr[:m], lens)
        pos += np.arange(nnz, dtype=pos.dtype)
        np.take(X.indices, pos, out=self.indices[:nnz])
        np.take(X.data, pos, out=self.data[:nnz])

    def columns(self) -> None:
        """The gathered batch in CSC: ``cindptr`` (D + 1), ``cindices[:nnz]``, ``cdata[:nnz]``.

        Within a column the non-zeros are in row order (the summing order of
        the reference's ``x.T @ dy``).
        """
        m, nnz, d = self.m, self.nnz, self.n_cols
        if self.cindptr is None:
            self.cindptr = np.empty(d + 1, dtype=self.indices.dtype)
        if nnz > len(self.cdata):
            self.cindices = np.empty(len(self.data), dtype=self.indices.dtype)
            self.cdata = np.empty(len(self.data), dtype=self.data.dtype)
        if _csr_tocsc is not None:
            _csr_tocsc(m, d, self.indptr, self.indices, self.data, self.cindptr, self.cindices,
                       self.cdata)
            return
        from scipy.sparse import csr_matrix

        xc = csr_matrix((self.data[:nnz], self.indices[:nnz], self.indptr[: m + 1]),
                        shape=(m, d)).tocsc()
        self.cindptr[...] = xc.indptr
        self.cindices[:nnz] = xc.indices
        self.cdata[:nnz] = xc.data



class _Dense:
    """A dense Linear after the first: its workspaces and gradient buffers."""

    def __init__(self, layer: Linear, x: np.ndarray, y: np.ndarray, B: int) -> None:
        self.layer, self.x, self.y = layer, x, y
        dt = layer.weight.value.dtype
        self.dx = np.empty((B, layer.n_in), dtype=dt)
        self.dW = np.empty_like(layer.weight.value)
        self.db = np.empty_like(layer.bias.value)


class SparseStep:
    """A compiled training step for one ``fit`` on a sparse X: ``forward(idx, sw)``,
    then ``backward()``; the same interface as `bprop.fused.FusedStep`.

    Parameters
    ----------
    model, loss, optimizer
        A combination `bprop.fused.unsupported` accepts for sparse data: the
        model's first layer is a `Linear`.
    X : scipy.sparse CSR matrix, shape (n, D)
        The training data in the model's dtype (as `bprop.validation.check_data`
        leaves it).
    y : ndarray, shape (n,) or (n, K)
        The targets (checked once here by the reference loss).
    batch_size : int
        The largest batch; workspaces hold this many rows.

    Notes
    -----
    ``lr``, ``weight_decay``, ``momentum`` and Adam's betas and eps are read
    at every step; which update runs (plain SGD, momentum, Nesterov, Adam) is
    fixed for the ``fit``. The Parameters are current after every step.
    """

    def __init__(self, model: Layer, loss: Loss, optimizer: Optimizer, X: Any,
                 y: np.ndarray, batch_size: int) -> None:
        self.model, self.loss, self.opt = model, loss, optimizer
        layers = flatten(model)
        self.first: Linear = layers[0]
        dt = self.dtype = self.first.weight.value.dtype
        # rows are taken as CSR (the Trainer's checked data already is: then no copy)
        X = X.tocsr().astype(dt, copy=False)
        if X.indptr.dtype != X.indices.dtype:  # scipy's kernels take one index type
            it = np.promote_types(X.indptr.dtype, X.indices.dtype)
            X = type(X)((X.data, X.indices.astype(it), X.indptr.astype(it)), shape=X.shape)
        self.X = X
        n, d = X.shape
        B = min(batch_size, n)
        self.rows = Rows(X, B)
        self.mode = update_mode(optimizer)
        self.first_y = np.empty((B, self.first.n_out), dtype=dt)
        self.first_db = np.empty_like(self.first.bias.value)
        # the rest of the network: each stage reads ``cur`` and writes a workspace
        self.stages: list[Any] = []
        cur, owned_by_linear, width = self.first_y, True, self.first.n_out
        for layer in layers[1:]:
            if type(layer) is Linear:
                out = np.empty((B, layer.n_out), dtype=dt)
                self.stages.append(_Dense(layer, cur, out, B))
                cur, owned_by_linear, width = out, True, layer.n_out
            else:
                kernel = ELEMENTWISE[type(layer)](layer, B, width, dt)
                # in place on a Linear's output: nothing else writes it before backward
                out = cur if owned_by_linear else np.empty((B, width), dtype=dt)
                self.stages.append((kernel, cur, out))
                cur, owned_by_linear = out, False
        self.out = cur
        self.dout = np.empty_like(cur)
        h = self.first.n_out
        # a W of at most BLOCK values: one piece, its gradient scattered from the rows
        self.block_rows = d if d * h <= BLOCK else max(1, BLOCK // h)
        self.g_block = np.empty(min(self.block_rows, d) * h, dtype=dt)

        k = model.output_dim(d)
        self.loss_kernel = loss_kernel(loss, y, n, k, B, dt)  # targets checked once
        self._m = 0
        # ||W||^2 of the first weights, summed block by block as the update leaves them
        # (while in cache), once the Trainer has asked for it (it does with an L2 penalty)
        self._track_norm = False
        self._sq_first: float | None = None
        self.load()

    # -- the Parameters are updated in place: nothing to copy, only arrays to look up --

    def load(self, state: bool = True) -> None:
        """Look up every parameter's and optimizer state's array (nothing is copied).

        Called where `bprop.fused.FusedStep` copies values in: a callback may
        have replaced the optimizer's state (``load_state_dict`` writes in
        place, but a new optimizer list would not be seen otherwise).

        Parameters
        ----------
        state : bool, default=True
            Ignored (the state's arrays are looked up in any case).
        """
        opt = self.opt
        lists = {"adam": {"m": getattr(opt, "m", None), "v": getattr(opt, "v", None)},
                 "momentum": {"v": getattr(opt, "velocity", None)},
                 "nesterov": {"v": getattr(opt, "velocity", None)}}.get(self.mode, {})
        index = {id(p): i for i, p in enumerate(opt.params)}

        def flat(p: Any) -> tuple[Mat, dict[str, Mat]]:
            i = index[id(p)]
            return mat(p.value.reshape(-1)), {k: mat(a[i].reshape(-1)) for k, a in lists.items()}

        params = {id(p): flat(p) for p in opt.params}
        self._sq_first = None  # the weights may have changed since the last step
        # the dense layers' updates, last layer first: (values, gradient, state, decay)
        self.dense_updates = []
        for stage in reversed(self.stages):
            if isinstance(stage, _Dense):
                for p, grad in ((stage.layer.weight, stage.dW), (stage.layer.bias, stage.db)):
                    value, st = params[id(p)]
                    self.dense_updates.append((value, mat(grad.reshape(-1)), st, p.decay))
        value, st = params[id(self.first.bias)]
        self.first_bias_update = (value, mat(self.first_db), st, self.first.bias.decay)
        # the first weight matrix in row blocks: (row range, W's block, the state's blocks)
        W, state = params[id(self.first.weight)]
        h, rows = self.first.n_out, self.block_rows
        d = self.first.n_in
        self.blocks = []
        for r0 in range(0, d, rows):
            r1 = min(r0 + rows, d)
            part = slice(r0 * h, r1 * h)
            self.blocks.append((r0, r1, mat(W.arr[part]), mat(self.g_block[: (r1 - r0) * h]),
                                {k: mat(s.arr[part]) for k, s in state.items()}))

    def store(self, parameters: bool = True, state: bool = True) -> None:
        """Nothing to copy: every update was made in the Parameters' own arrays.

        Parameters
        ----------
        parameters, state : bool, default=True
            Ignored.
        """

    def decayed_sq_norm(self) -> float:
        """``sum(||p||^2)`` over the weight-decayed parameters, as they are now.

        Returns
        -------
        float
            In squared weight units; the first weights' part is the one the
            last update summed block by block (recomputed after `load`).
        """
        self._track_norm = True
        first = self.first.weight
        return sum(self._sq_first if p is first and self._sq_first is not None
                   else float(np.vdot(p.value, p.value))
                   for p in self.model.parameters() if p.decay)

    # -- the step --

    def forward(self, idx: np.ndarray, sw: np.ndarray | None) -> float:
        """The loss on the rows ``X[idx]`` (sample weights ``sw`` or None).

        Also writes ``dL/d(output)`` for `backward`. Parameters are not changed.

        Parameters
        ----------
        idx : ndarray of int, shape (m,)
            The batch's rows of X, ``m <= batch_size``.
        sw : ndarray, shape (m,), or None
            Their sample weights.

        Returns
        -------
        float
            The batch's (weighted) mean loss.
        """
        m = self._m = len(idx)
        rows = self.rows
        rows.gather(idx)  # the batch's rows, still sparse, in reused buffers
        y = self.first_y[:m]
        y.fill(0)  # y = x @ W + b, summed in the reference's order
        matvecs(m, rows.indptr[: m + 1], rows.indices, rows.data, rows.n_cols,
                self.first.weight.value, y)
        y += self.first.bias.value
        for stage in self.stages:
            if isinstance(stage, _Dense):
                out = stage.y[:m]
                np.matmul(stage.x[:m], stage.layer.weight.value, out=out)
                out += stage.layer.bias.value
            else:
                kernel, x, out = stage
                kernel.forward(x[:m], out[:m])
        return self.loss_kernel.batch(idx, sw, self.out, self.dout)

    def backward(self) -> None:
        """Backpropagate and update every parameter (the optimizer's ``step()``).

        Every gradient first (the products on BLAS's threads), then every
        update on one BLAS thread (`bprop.fused.blas.one_thread`), as the
        reference's ``backward_params`` then ``optimizer.step()``.
        """
        global steps
        steps += 1
        opt, m = self.opt, self._m
        opt.t += 1
        c = self._coefficients()
        g = self.dout[:m]
        for stage in reversed(self.stages):
            if isinstance(stage, _Dense):
                dx = stage.dx[:m]
                np.matmul(g, stage.layer.weight.value.T, out=dx)  # dx = dy @ W.T
                np.matmul(stage.x[:m].T, g, out=stage.dW)  # dW = x.T @ dy
                np.sum(g, axis=0, out=stage.db)  # db = dy.sum(axis=0)
                g = dx
            else:
                kernel, _, out = stage
                kernel.backward(out[:m], g)
        np.sum(g, axis=0, out=self.first_db)
        with blas.one_thread():
            for W, G, state, decay in self.dense_updates:
                self._apply(W, G, state, decay, c)
            self._apply(*self.first_bias_update, c)
            self._update_first(g, c)

    def _coefficients(self) -> dict[str, float]:
        """This step's scalars, read from the optimizer now (schedules change them)."""
        opt = self.opt
        c = {"lr": float(opt.lr), "wd": float(opt.weight_decay),
             "mu": float(getattr(opt, "momentum", 0.0))}
        if self.mode == "adam":
            b1, b2, t = opt.beta1, opt.beta2, opt.t
            c.update(b1=b1, b2=b2, eps=opt.eps,
                     lr_t=c["lr"] * math.sqrt(1 - b2**t) / (1 - b1**t))
        return c

    def _update_first(self, dy: np.ndarray, c: dict[str, float]) -> None:
        """The first weight matrix's gradient and update, block of rows by block of rows.

        ``dW = x.T @ dy``. In one block (W of at most `BLOCK` values) it is
        scattered from the batch's rows; in several, block ``[r0, r1)`` is
        the batch's columns ``r0..r1`` (CSC: the rows of x.T) times dy.
        """
        rows, m, h = self.rows, self._m, self.first.n_out
        dy = np.ascontiguousarray(dy)
        wd = c["wd"] if self.first.weight.decay else 0.0
        track = self._track_norm and self.first.weight.decay
        sq = 0.0
        several = len(self.blocks) > 1
        if several:
            rows.columns()
        for r0, r1, W, G, state in self.blocks:
            g = G.arr
            if wd:  # g = wd * W + dW: the decay first, then the gradient added onto it
                np.multiply(W.arr, self.dtype.type(wd), out=g)
            else:
                g.fill(0)
            if several:
                matvecs(r1 - r0, rows.cindptr[r0 : r1 + 1], rows.cindices, rows.cdata, m, dy,
                        g.reshape(r1 - r0, h))
            else:
                transposed_matvecs(m, rows.indptr[: m + 1], rows.indices, rows.data,
                                   rows.n_cols, dy, g.reshape(r1 - r0, h))
            self._apply(W, G, state, False, c)
            if track:
                sq += float(np.dot(W.arr, W.arr))
        self._sq_first = sq if track else None

    def _apply(self, W: Mat, G: Mat, state: dict[str, Mat], decay: bool,
               c: dict[str, float]) -> None:
        """One optimizer update of the values ``W`` from their gradient ``G`` (overwritten),
        as `bprop.optim.SGD.update` / `bprop.optim.Adam.update` after
        `bprop.optim.base.Optimizer.regularized_grad`, in place."""
        if c["wd"] and decay:
            blas.axpy(c["wd"], W, G)  # g = dW + wd * W
        mode = self.mode
        if mode == "sgd":
            blas.axpy(-c["lr"], G, W)  # W -= lr * g
        elif mode == "momentum":
            v = state["v"]
            blas.axpby(1.0, G, c["mu"], v)  # v = mu * v + g
            blas.axpy(-c["lr"], v, W)  # W -= lr * v
        elif mode == "nesterov":
            v = state["v"]
            blas.axpby(1.0, G, c["mu"], v)  # v = mu * v + g
            blas.axpy(c["mu"], v, G)  # g + mu * v
            blas.axpy(-c["lr"], G, W)  # W -= lr * (g + mu * v)
        else:
            m, v, g = state["m"], state["v"], G.arr
            blas.axpby(1.0 - c["b1"], G, c["b1"], m)  # m = b1 m + (1 - b1) g
            np.multiply(g, g, out=g)
            blas.axpby(1.0 - c["b2"], G, c["b2"], v)  # v = b2 v + (1 - b2) g^2
            np.sqrt(v.arr, out=g)
            np.add(g, self.dtype.type(c["eps"]), out=g)
            np.divide(m.arr, g, out=g)
            blas.axpy(-c["lr_t"], G, W)  # W -= lr_t m / (sqrt(v) + eps)
