"""The fused training step: one minibatch's forward, loss, backward and update.

Reproduces `bprop.training.trainer.ReferenceStep` (the lecture's step:
``model.forward``, ``loss.forward``, ``loss.backward``, ``model.backward_params``,
``optimizer.step``) for a stack of `Linear` and element-wise layers
(`kernels.ELEMENTWISE`), a loss of `kernels.LOSSES` and `SGD` (plain,
momentum, Nesterov, weight decay) or `Adam`. ``tests/test_fused.py`` trains
the same model twice, once per engine, and asserts equal parameters after 3
epochs (1e-12 relative in float64, 1e-5 in float32), equal logged losses and
a checkpoint that resumes across engines; it asserts that the fused engine
(and, where numpy's OpenBLAS is found, its BLAS calls) really ran.

What is fused (each with the reason):

- every parameter and every optimizer state lives in one flat buffer
  (`packing.Layout`), weight-decayed parameters first: a step's update is
  one to five BLAS calls for the whole model (the decay one ``axpy`` over
  the decayed prefix) instead of several numpy calls per parameter;
- workspaces for every activation and gradient are allocated once per
  ``fit``, for the largest batch; a smaller last batch uses their first rows;
- an activation right after a Linear runs in place on the Linear's output;
- the bias enters the forward product through ``beta=1`` (the output is
  prefilled with b), and its gradient is one ``gemv`` against a ones vector;
  a Linear followed by a ReLU with numba's kernels (`compiled`) leaves both
  to the ReLU: ``max(x @ W + b, 0)`` and the bias gradient's column sum are
  computed in the passes the ReLU makes anyway (35 numpy/BLAS calls per step
  become 20 on the benchmark's MLP);
- the update is folded into the weight-gradient product: plain SGD writes
  ``W = (1 - lr*wd) W - lr * x.T @ dy`` in one ``gemm`` (beta=1); momentum
  writes ``v = mu*v + x.T @ dy`` (beta=mu), then one ``axpy`` ``W -= lr*v``
  over the whole model; only Nesterov and Adam keep a gradient buffer.

Between steps the model's Parameters are *not* current: `FusedStep.store`
copies the flat buffers back into each ``p.value`` (the same arrays, never
replaced) and into the optimizer's per-parameter state, and `FusedStep.load`
copies them in. The Trainer calls them at every point a callback can
observe: epoch boundaries and the end of ``fit`` (parameters and optimizer
state), and around every step when a callback overrides a per-batch hook
(parameters only: per-batch hooks see and may change the weights; the
optimizer's state is current at epoch boundaries). ``p.grad`` is not kept:
a fused step never materializes some gradients (momentum folds them into
``v``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.sparse import issparse

from ..layers import Layer, Linear, Sequential
from ..losses.base import Loss
from ..optim import SGD, Adam
from ..optim.base import Optimizer
from . import blas, compiled
from .blas import Mat, mat
from .kernels import ELEMENTWISE, LOSSES, loss_kernel
from .packing import Layout


def flatten(model: Layer) -> list[Layer]:
    """The layers of ``model`` in order, nested `Sequential` stacks opened."""
    if type(model) is Sequential:
        return [inner for layer in model.layers for inner in flatten(layer)]
    return [model]


def update_mode(opt: Optimizer) -> str:
    """Which update a step makes, as the fused steps name it.

    Parameters
    ----------
    opt : SGD or Adam
        A supported optimizer (see `unsupported`).

    Returns
    -------
    str
        "sgd" (no momentum), "momentum", "nesterov" or "adam".
    """
    if isinstance(opt, Adam):
        return "adam"
    if not opt.momentum:
        return "sgd"
    return "nesterov" if opt.nesterov else "momentum"


def unsupported(model: Layer, loss: Loss, optimizer: Optimizer, X: Any = None) -> str | None:
    """Why the fused engine cannot train this combination, or None when it can.

    Parameters
    ----------
    model, loss, optimizer
        The Trainer's parts.
    X : array, scipy.sparse matrix or None
        The training data, when known: a numpy array, or a sparse matrix
        when the first layer is a Linear (`bprop.fused.sparse.SparseStep`).

    Returns
    -------
    str or None
        One line naming the part that is not supported.
    """
    layers = flatten(model)
    for i, layer in enumerate(layers):
        if type(layer) is not Linear and type(layer) not in ELEMENTWISE:
            return f"layer {i} ({type(layer).__name__}) is not supported by the fused engine"
    if not any(type(layer) is Linear for layer in layers):
        return "the model has no Linear layer"
    params = model.parameters()
    if len({id(p) for p in params}) != len(params):
        return "the model shares (ties) a parameter between layers"
    if {id(p) for p in params} != {id(p) for p in optimizer.params}:
        return "the optimizer does not hold exactly the model's parameters"
    dtypes = {p.value.dtype for p in params}
    if len(dtypes) != 1 or dtypes.pop() not in (np.float32, np.float64):
        return "the parameters are not all float32 or all float64"
    if type(loss) not in LOSSES:
        return f"loss {type(loss).__name__} is not supported by the fused engine"
    if type(optimizer) not in (SGD, Adam):
        return f"optimizer {type(optimizer).__name__} is not supported by the fused engine"
    for option in ("clip_norm", "clip_value"):
        if getattr(optimizer, option, None) is not None:
            return f"the optimizer's {option} is not supported by the fused engine"
    if X is not None and issparse(X):  # trained by bprop.fused.sparse.SparseStep, in place
        if type(layers[0]) is not Linear:
            return f"sparse data needs a Linear first layer, not {type(layers[0]).__name__}"
        if not all(p.value.flags.c_contiguous for p in params):
            return "a parameter's array is not C-contiguous (sparse data is updated in place)"
        return None
    if X is not None and not isinstance(X, np.ndarray):
        return f"data of type {type(X).__name__} is not supported by the fused engine"
    if X is not None and X.ndim != 2:
        return f"data of shape {X.shape} (the fused engine takes (n_samples, n_features))"
    return None


class _Linear:
    """One Linear layer's buffers and views, wrapped for BLAS once."""

    def __init__(self, layer: Linear, x: np.ndarray, y: np.ndarray, dx: np.ndarray | None,
                 views: dict[str, np.ndarray]) -> None:
        self.layer = layer
        self.x, self.y = mat(x), mat(y)
        self.dx = None if dx is None else mat(dx)
        self.W, self.b = mat(views["W"]), mat(views["b"])
        self.state = {k: mat(v) for k, v in views.items() if k not in ("W", "b")}
        self.decay_W, self.decay_b = layer.weight.decay, layer.bias.decay


class FusedStep:
    """A compiled training step for one ``fit``: ``forward(idx, sw)`` then ``backward()``.

    Parameters
    ----------
    model, loss, optimizer
        A supported combination (`unsupported` returned None).
    X : ndarray, shape (n, D)
        The training data, already in the model's dtype.
    y : ndarray, shape (n,) or (n, K)
        The targets (checked once here, by one reference forward on the whole set).
    batch_size : int
        The largest batch; workspaces hold this many rows.

    Notes
    -----
    ``lr``, ``weight_decay``, ``momentum``'s value and Adam's betas and eps are
    read at every step (schedules and callbacks change them); which update
    is compiled (plain SGD, momentum, Nesterov, Adam) is fixed for the ``fit``.
    """

    def __init__(self, model: Layer, loss: Loss, optimizer: Optimizer, X: np.ndarray,
                 y: np.ndarray, batch_size: int) -> None:
        self.model, self.loss, self.opt = model, loss, optimizer
        self.X = X
        layers = flatten(model)
        params = model.parameters()
        # weight-decayed parameters first: "every decayed value" is one prefix of the buffers
        self.layout = Layout([p for p in params if p.decay] + [p for p in params if not p.decay])
        self.n_decay = self.layout.offsets[sum(1 for p in params if p.decay)]
        dt = self.dtype = self.layout.dtype
        n, d = X.shape
        B = min(batch_size, n)
        k = model.output_dim(d)
        self.mode = update_mode(optimizer)
        self.values = self.layout.empty()
        self.flat = {"W": self.values}
        for name in {"momentum": ["v"], "nesterov": ["v", "g"], "adam": ["m", "v", "g"]}.get(
            self.mode, []
        ):
            self.flat[name] = self.layout.empty()
        self.flat_mats = {name: mat(a) for name, a in self.flat.items()}
        self.decayed = {name: mat(a[: self.n_decay]) for name, a in self.flat.items()}
        if self.mode == "adam":
            self.tmp = mat(self.layout.empty())
        self.ones = mat(np.ones(B, dtype=dt))

        # forward plan: each stage reads ``cur`` and writes a workspace (in place when safe)
        self.x0 = np.empty((B, d), dtype=dt)
        self.stages: list[Any] = []
        cur, owned_by_linear, width = self.x0, False, d
        first_linear = next(i for i, lay in enumerate(layers) if type(lay) is Linear)
        fast = compiled.load(n)  # numba's one-pass kernels, where installed and worth it
        for i, layer in enumerate(layers):
            if type(layer) is Linear:
                out = np.empty((B, layer.n_out), dtype=dt)
                dx = None if i == first_linear else np.empty((B, width), dtype=dt)
                views = {"W": self.layout.view(self.values, layer.weight),
                         "b": self.layout.view(self.values, layer.bias)}
                for name, flat in self.flat.items():
                    if name != "W":
                        views[name + "W"] = self.layout.view(flat, layer.weight)
                        views[name + "b"] = self.layout.view(flat, layer.bias)
                self.stages.append(_Linear(layer, cur, out, dx, views))
                cur, owned_by_linear, width = out, True, layer.n_out
            else:
                kernel = ELEMENTWISE[type(layer)](layer, B, width, dt)
                if fast is not None and hasattr(kernel, "use"):
                    kernel.use(fast)
                out = cur if owned_by_linear else np.empty((B, width), dtype=dt)
                self.stages.append((kernel, cur, out))
                cur, owned_by_linear = out, False
        self.out = cur
        self.dout = np.empty_like(cur)
        self.first_linear = next(s for s in self.stages if isinstance(s, _Linear))

        # targets: checked once by the reference loss, then gathered per batch
        self.loss_kernel = loss_kernel(loss, y, n, k, B, dt)
        if fast is not None and hasattr(self.loss_kernel, "use"):
            self.loss_kernel.use(fast)
        self._m = 0
        self._plans: dict[int, tuple[list, list]] = {}

    # -- moving values in and out (the Parameters' own arrays keep their identity) --

    def _state_lists(self) -> dict[str, list[np.ndarray]]:
        opt = self.opt
        if self.mode == "adam":
            return {"m": opt.m, "v": opt.v}
        if self.mode in ("momentum", "nesterov"):
            return {"v": opt.velocity}
        return {}

    def load(self, state: bool = True) -> None:
        """Copy every ``p.value`` (and, with ``state``, the optimizer's state) into the
        flat buffers."""
        self.layout.load(self.values, [p.value for p in self.layout.params])
        if state:
            for name, arrays in self._state_lists().items():
                self.layout.load(self.flat[name], self._in_layout_order(arrays))

    def store(self, parameters: bool = True, state: bool = True) -> None:
        """Copy the flat buffers back into every ``p.value`` and the optimizer's state
        (the same arrays: their identities never change)."""
        if parameters:
            self.layout.store(self.values, [p.value for p in self.layout.params])
        if state:
            for name, arrays in self._state_lists().items():
                self.layout.store(self.flat[name], self._in_layout_order(arrays))

    def decayed_sq_norm(self) -> float:
        """``sum(||p||^2)`` over the weight-decayed parameters: one dot over their prefix."""
        decayed = self.values[: self.n_decay]
        return float(np.dot(decayed, decayed))

    def _in_layout_order(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Per-parameter state, listed in the optimizer's order, put in the layout's."""
        ordered: list[Any] = [None] * len(arrays)
        for p, a in zip(self.opt.params, arrays, strict=True):
            ordered[self.layout.index[id(p)]] = a
        return ordered

    # -- the step --

    def _plan(self, m: int) -> tuple[list, list]:
        """The forward and backward stages for a batch of ``m`` rows, every view and
        BLAS operand sliced once (at most two plans per ``fit``: full and last batch).

        A Linear followed (in place) by a kernel that can take its bias (the
        compiled ReLU: ``forward_bias``, ``backward_colsum``) leaves the bias to
        it: the forward product is a plain ``x @ W`` and the kernel adds ``b``
        in its own pass; in backward the kernel sums the bias gradient while it
        masks ``dy`` (no gemv, no extra pass).
        """
        plan = self._plans.get(m)
        if plan is not None:
            return plan
        stages = self.stages
        folded = {  # kernel index -> the Linear whose bias it takes
            i: stages[i - 1] for i in range(1, len(stages))
            if isinstance(stages[i - 1], _Linear) and not isinstance(stages[i], _Linear)
            and stages[i][1] is stages[i - 1].y.arr and hasattr(stages[i][0], "forward_bias")
        }
        lends = {id(lin) for lin in folded.values()}
        forward, backward = [], []
        g = mat(self.dout[:m])  # the gradient flowing down, buffer by buffer
        for i in reversed(range(len(stages))):
            stage = stages[i]
            if isinstance(stage, _Linear):
                dx = None if stage.dx is None else stage.dx.rows(m)
                backward.append((stage, stage.x.rows(m), g, dx, id(stage) not in lends))
                if stage is self.first_linear:
                    break
                g = dx
            else:
                kernel, _, out = stage
                backward.append((kernel, out[:m], g.arr, folded.get(i)))
        for i, stage in enumerate(stages):
            if isinstance(stage, _Linear):
                forward.append((stage, stage.x.rows(m), stage.y.rows(m), id(stage) not in lends))
            else:
                kernel, x, out = stage
                lin = folded.get(i)
                forward.append((kernel, x[:m], out[:m], None if lin is None else lin.b.arr))
        self._plans[m] = forward, backward
        return forward, backward

    def forward(self, idx: np.ndarray, sw: np.ndarray | None) -> float:
        """Gather the batch ``X[idx]``, run the layers and the loss; return the loss.

        Also writes ``dL/d(output)`` for `backward`. Parameters are not changed.
        """
        m = self._m = len(idx)
        forward, _ = self._plan(m)
        # mode="clip" skips numpy's extra bounds-checked copy (idx is a permutation's slice)
        np.take(self.X, idx, axis=0, out=self.x0[:m], mode="clip")
        for stage, x, y, extra in forward:
            if isinstance(stage, _Linear):
                if extra:  # y = b, then y += x @ W (gemm, beta=1)
                    np.copyto(y.arr, stage.b.arr)
                    blas.gemm(1.0, x, False, stage.W, False, 1.0, y)
                else:  # y = x @ W; the next kernel adds b
                    np.matmul(x.arr, stage.W.arr, out=y.arr)
            elif extra is None:
                stage.forward(x, y)
            else:
                stage.forward_bias(y, extra)
        return self.loss_kernel.batch(idx, sw, self.out, self.dout)

    def backward(self) -> None:
        """Backpropagate and update every parameter (the optimizer's ``step()``)."""
        opt = self.opt
        lr, wd = float(opt.lr), float(opt.weight_decay)
        mu = float(getattr(opt, "momentum", 0.0))
        opt.t += 1
        ones = self.ones.rows(self._m)
        for stage in self._plan(self._m)[1]:
            if isinstance(stage[0], _Linear):
                layer, x, g, dx, bias = stage
                if dx is not None:  # dx = dy @ W.T, with W before its update
                    blas.gemm(1.0, g, False, layer.W, True, 0.0, dx)
                self._update_layer(layer, x, g, ones, lr, wd, mu, bias)
            else:
                kernel, y, g, lin = stage
                if lin is None:
                    kernel.backward(y, g)
                else:  # dy for ``lin`` and its bias's gradient, in one pass
                    alpha, beta, B = self._bias_target(lin, lr, wd, mu)
                    kernel.backward_colsum(y, g, alpha, beta, B.arr)
        self._update_all(lr, wd, mu)

    def _bias_target(self, s: _Linear, lr: float, wd: float, mu: float
                     ) -> tuple[float, float, Mat]:
        """Where the bias gradient ``db = dy.sum(axis=0)`` goes: ``B = alpha*db + beta*B``."""
        if self.mode == "sgd":  # b = (1 - lr*wd) b - lr * db
            if wd and s.decay_b:  # b += (-lr*wd) b: 1 - lr*wd would round in float32
                blas.axpy(-lr * wd, s.b, s.b)
            return -lr, 1.0, s.b
        if self.mode == "momentum":  # v = mu*v + db
            return 1.0, mu, s.state["vb"]
        return 1.0, 0.0, s.state["gb"]  # nesterov, adam: g = db

    def _update_layer(self, s: _Linear, x: Mat, dy: Mat, ones: Mat, lr: float, wd: float,
                      mu: float, bias: bool = True) -> None:
        """The weight-gradient products, with as much of the update folded in as BLAS allows
        (and the bias's, unless a kernel took it: ``bias=False``)."""
        if self.mode == "sgd":  # W = (1 - lr*wd) W - lr * x.T @ dy
            if wd and s.decay_W:
                # W += (-lr*wd) W, not W *= 1 - lr*wd: in float32 that factor rounds by up to
                # 6e-8, a relative error of ~0.6% in a decay of lr*wd = 1e-5, on every step
                blas.axpy(-lr * wd, s.W, s.W)
            blas.gemm(-lr, x, True, dy, False, 1.0, s.W)
        else:  # momentum: v = mu*v + dW (+ wd*W); nesterov, adam: g = dW (+ wd*W)
            into, beta = ("v", mu) if self.mode == "momentum" else ("g", 0.0)
            blas.gemm(1.0, x, True, dy, False, beta, s.state[into + "W"])
        if bias:
            alpha, beta, B = self._bias_target(s, lr, wd, mu)
            blas.colsum(alpha, dy, ones, beta, B)

    def _update_all(self, lr: float, wd: float, mu: float) -> None:
        """The rest of the update, over the whole flat parameter vector at once."""
        W, f = self.flat_mats["W"], self.flat_mats
        if wd and self.n_decay and self.mode != "sgd":  # g += wd * W, the decayed prefix
            decayed = self.decayed
            blas.axpy(wd, decayed["W"], decayed["v" if self.mode == "momentum" else "g"])
        if self.mode == "momentum":
            blas.axpy(-lr, f["v"], W)  # W -= lr * v
        elif self.mode == "nesterov":
            blas.axpby(1.0, f["g"], mu, f["v"])  # v = mu*v + g
            blas.axpy(-lr, f["g"], W)
            blas.axpy(-lr * mu, f["v"], W)  # W -= lr * (g + mu*v)
        elif self.mode == "adam":
            opt = self.opt
            b1, b2, t = opt.beta1, opt.beta2, opt.t
            G, tmp = f["g"], self.tmp
            blas.axpby(1.0 - b1, G, b1, f["m"])  # m = b1 m + (1 - b1) g
            np.multiply(G.arr, G.arr, out=G.arr)
            blas.axpby(1.0 - b2, G, b2, f["v"])  # v = b2 v + (1 - b2) g^2
            np.sqrt(f["v"].arr, out=tmp.arr)
            np.add(tmp.arr, self.dtype.type(opt.eps), out=tmp.arr)
            np.divide(f["m"].arr, tmp.arr, out=tmp.arr)
            lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
            blas.axpy(-lr_t, tmp, W)  # W -= lr_t m / (sqrt(v) + eps)
