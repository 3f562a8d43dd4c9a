"""`SGD`: stochastic gradient descent with momentum, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..parameter import Parameter
from ..validation import check_unit_interval
from . import blas
from .base import Optimizer


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
        L2 coefficient, >= 0.

    Examples
    --------
    >>> from bprop import Parameter
    >>> p = Parameter(np.array([1.0]), "w"); p.grad[:] = 0.5
    >>> SGD([p], lr=0.1).step(); p.value
    array([0.95])
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.01,
        *,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = check_unit_interval("momentum", momentum)
        self.nesterov = bool(nesterov)
        self.velocity = [np.zeros_like(p.value) for p in self.params]
        self._scratch = scratch_views(self.params)

    def step(self) -> None:
        for p, v, scratch in zip(self.params, self.velocity, self._scratch, strict=True):
            wd = self.weight_decay if p.decay else 0.0
            sgd_update(p.value, p.grad, v, scratch, self.lr, self.momentum, wd, self.nesterov)
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
    dW: np.ndarray,
    v: np.ndarray,
    scratch: tuple[np.ndarray, np.ndarray],
    lr: float,
    momentum: float,
    weight_decay: float,
    nesterov: bool,
) -> None:
    """One SGD step on one parameter, in place: the formulas of `SGD`, operation for
    operation (so bit for bit), but with every temporary written into ``scratch``.

    Written naively (``W -= lr * v``) each line allocates a temporary array and
    makes an extra pass over memory. The update runs once per minibatch over
    every weight, so at small batches it is the largest cost of a step after
    the matrix products. Two preallocated buffers of W's shape remove the
    allocations. Scalars are cast to W's dtype first: a float64 scalar times a
    float32 array stays float32.

    Large weight matrices with momentum take `blas_momentum_update` instead:
    the same formulas in fewer passes, partly on all cores.
    """
    if momentum and blas.usable(W, dW, v):
        blas_momentum_update(W, dW, v, lr, momentum, weight_decay, nesterov)
        return
    t = W.dtype.type
    g = dW
    if weight_decay:
        g = np.multiply(W, t(weight_decay), out=scratch[0])
        g += dW  # g = dW + weight_decay * W
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


def blas_momentum_update(
    W: np.ndarray,
    dW: np.ndarray,
    v: np.ndarray,
    lr: float,
    momentum: float,
    weight_decay: float,
    nesterov: bool,
) -> None:
    """`sgd_update` with momentum in BLAS calls: 3 passes over memory instead of 6.

    The sums are grouped differently (``(momentum*v + dW) + decay*W``) and
    BLAS may fuse a multiply and an add, so results differ from the numpy
    path in the last bits only.
    """
    blas.axpby(1.0, dW, momentum, v)  # v = momentum * v + dW
    if weight_decay:
        blas.axpy(weight_decay, W, v)  # v += weight_decay * W
    if not nesterov:
        blas.axpy(-lr, v, W)  # W -= lr * v
        return
    # W -= lr * (g + momentum * v), with g = dW + weight_decay * W (the old W)
    if weight_decay:
        blas.scal(1.0 - lr * weight_decay, W)
    blas.axpy(-lr, dW, W)
    blas.axpy(-lr * momentum, v, W)


def scratch_views(params: list[Parameter]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two scratch arrays per parameter, all views of one buffer per dtype.

    Parameters are updated one after another, so they can share: the buffer
    holds twice the largest parameter, not a copy of the model.
    """
    sizes: dict[np.dtype, int] = {}
    for p in params:
        sizes[p.value.dtype] = max(sizes.get(p.value.dtype, 0), p.value.size)
    buffers = {dt: np.empty(2 * n, dtype=dt) for dt, n in sizes.items()}
    views = []
    for p in params:
        flat, n = buffers[p.value.dtype], p.value.size
        views.append((flat[:n].reshape(p.value.shape), flat[n : 2 * n].reshape(p.value.shape)))
    return views
