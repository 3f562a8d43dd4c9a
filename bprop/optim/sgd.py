"""`SGD`: stochastic gradient descent with momentum, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..parameter import Parameter
from ..registry import register
from ..validation import check_unit_interval
from . import blas
from .base import Optimizer
from .packing import unpacked_views


@register("optimizer")
class SGD(Optimizer):
    """Stochastic gradient descent.

    For every parameter W with gradient dW, one ``step()`` does::

        g = dW + weight_decay * W          (weight decay only where W.decay)
        v = momentum * v + g               (v starts at zero)
        W -= lr * v                        (classical momentum)
        W -= lr * (g + momentum * v)       (nesterov=True)

    With ``momentum=0`` this is plain ``W -= lr * g``. Weight decay is the
    gradient of the L2 penalty ``0.5 * weight_decay * ||W||^2``; biases are
    not decayed (as in scikit-learn and Caffe).

    The step runs these formulas on all parameters at once, over the packed
    buffers of `bprop.optim.packing`: with numpy's OpenBLAS, as two or three
    BLAS calls (`blas_sgd_update`); otherwise, and for models under
    ``blas.MIN_SIZE`` values, as numpy calls reproducing the formulas bit for
    bit (`sgd_update`).

    Parameters
    ----------
    params : iterable of Parameter
        Usually ``model.parameters()``.
    lr : float, default=0.01
        Learning rate, > 0.
    momentum : float, default=0.0
        In [0, 1).
    nesterov : bool, default=False
        Use Nesterov's look-ahead form (needs momentum > 0 to differ).
    weight_decay : float, default=0.0
    clip_norm, clip_value : float or None, default=None
        Gradient clipping before the update (`bprop.optim.clipping`).
        L2 coefficient, >= 0.

    Examples
    --------
    >>> from bprop import Parameter
    >>> p = Parameter(np.array([1.0]), "w"); p.grad[:] = 0.5
    >>> SGD([p], lr=0.1).step(); p.value
    array([0.95])
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"momentum": "[0, 1)"}

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.01,
        *,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
        clip_value: float | None = None,
    ) -> None:
        super().__init__(params, lr, weight_decay, clip_norm=clip_norm, clip_value=clip_value)
        self.momentum = check_unit_interval("momentum", momentum)
        self.nesterov = bool(nesterov)
        self._v = [np.zeros_like(g.value) for g in self.groups]  # one flat velocity per group
        self._scratch: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(self.groups)
        self._link()

    _views = ("velocity", "_decayed")

    def _link(self) -> None:
        #: the velocity of each parameter (views of the flat buffers), in ``params`` order
        self.velocity = unpacked_views(self.groups, self._v, self.params)
        # the decayed prefixes as lasting views (BLAS looks addresses up per array object)
        self._decayed = [
            (group.value[: group.n_decay], v[: group.n_decay])
            for group, v in zip(self.groups, self._v, strict=True)
        ]

    def step(self) -> None:
        self.clip_gradients()
        for i, (group, v) in enumerate(zip(self.groups, self._v, strict=True)):
            group.sync()
            W, dW, nd = group.value, group.grad, group.n_decay
            wd = self.weight_decay if nd else 0.0
            if blas.usable(W, dW, v):
                W_decay, v_decay = self._decayed[i]
                blas_sgd_update(
                    W, dW, v, W_decay, v_decay, self.lr, self.momentum, wd, self.nesterov
                )
                continue
            if self._scratch[i] is None:
                self._scratch[i] = (np.empty_like(W), np.empty_like(W))
            scratch = self._scratch[i]
            g = group.regularized_grad(wd, out=scratch[0])
            sgd_update(W, g, v, scratch, self.lr, self.momentum, self.nesterov)
        self.t += 1

    def _buffers(self) -> dict[str, list[np.ndarray]]:
        return {"velocity": self.velocity}

    def __repr__(self) -> str:
        return (
            f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov}, "
            f"weight_decay={self.weight_decay})"
        )


def sgd_update(
    W: np.ndarray,
    g: np.ndarray,
    v: np.ndarray,
    scratch: tuple[np.ndarray, np.ndarray],
    lr: float,
    momentum: float,
    nesterov: bool,
) -> None:
    """One SGD step on flat arrays, in place, given ``g = dW + weight_decay * W``
    (`PackedGroup.regularized_grad`): the formulas of `SGD`, operation for
    operation (so bit for bit), but with every temporary written into ``scratch``
    (``g`` may be ``scratch[0]``).

    Written naively (``W -= lr * v``) each line allocates a temporary array and
    makes an extra pass over memory; two preallocated buffers of W's shape
    remove the allocations. Scalars are cast to W's dtype first: a float64
    scalar times a float32 array stays float32.
    """
    t = W.dtype.type
    if momentum == 0:
        update = np.multiply(g, t(lr), out=scratch[0])  # lr * g
    else:
        v *= t(momentum)
        v += g  # v = momentum * v + g
        if nesterov:
            update = np.multiply(v, t(momentum), out=scratch[1])
            update += g
            update *= t(lr)  # lr * (g + momentum * v)
        else:
            update = np.multiply(v, t(lr), out=scratch[0])  # lr * v
    W -= update


def blas_sgd_update(
    W: np.ndarray,
    dW: np.ndarray,
    v: np.ndarray,
    W_decay: np.ndarray,
    v_decay: np.ndarray,
    lr: float,
    momentum: float,
    weight_decay: float,
    nesterov: bool,
) -> None:
    """`sgd_update` in BLAS calls over a whole packed group: 2-3 passes instead of 6,
    on all cores, whatever the number of parameters. ``W_decay`` and
    ``v_decay`` are the decayed prefixes of ``W`` and ``v`` (views).

    The sums are grouped differently (``(momentum*v + dW) + decay*W``) and
    BLAS may fuse a multiply and an add, so results differ from the numpy
    path in the last bits only.
    """
    if momentum == 0 or nesterov:
        # W -= lr * (g + momentum * v), g = dW + weight_decay * W (the old W)
        if momentum:
            blas.axpby(1.0, dW, momentum, v)  # v = momentum * v + dW
            if weight_decay:
                blas.axpy(weight_decay, W_decay, v_decay)  # v += weight_decay * W
        if weight_decay:
            blas.scal(1.0 - lr * weight_decay, W_decay)
        blas.axpy(-lr, dW, W)
        if momentum:
            blas.axpy(-lr * momentum, v, W)
        return
    blas.axpby(1.0, dW, momentum, v)  # v = momentum * v + dW
    if weight_decay:
        blas.axpy(weight_decay, W_decay, v_decay)  # v += weight_decay * W
    blas.axpy(-lr, v, W)  # W -= lr * v
