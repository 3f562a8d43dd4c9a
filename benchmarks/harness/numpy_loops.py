"""Hand-written numpy contenders: the GEMM bound, a textbook loop, a careful loop.

All three train (or, for the bound, imitate) the same MLP as bprop: see
`workload`. Each exposes ``train(epochs, after_epoch)``, calling
``after_epoch(loss)`` at the end of every epoch with its mean training loss.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .workload import LR, MOMENTUM, SEED, WEIGHT_DECAY, GemmBound, glorot_weights


class EpochLoop:
    """Calls ``self.epoch()`` once per epoch."""

    def train(self, epochs: int, after_epoch: Callable[[float], None]) -> None:
        for _ in range(epochs):
            after_epoch(self.epoch())

    def epoch(self) -> float:
        raise NotImplementedError


class GemmOnly(EpochLoop):
    """The GEMM bound as a contender: the products of a full epoch, nothing else."""

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        self.bound = GemmBound(X, batch_size)

    def epoch(self) -> float:
        self.bound.run()
        return 0.0


class TextbookNumpy(EpochLoop):
    """The loop a student writes from the lecture notes: clear, allocating freely."""

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        self.X, self.y, self.batch_size = X, y, batch_size
        self.params = [p for layer in glorot_weights(X.dtype.name) for p in layer]
        self.velocity = [np.zeros_like(p) for p in self.params]
        self.rng = np.random.default_rng(SEED)

    def epoch(self) -> float:
        n, total = self.X.shape[0], 0.0
        order = self.rng.permutation(n)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            total += self.step(self.X[idx], self.y[idx]) * len(idx)
        return total / n

    def step(self, x: np.ndarray, t: np.ndarray) -> float:
        W1, b1, W2, b2, W3, b3 = self.params
        h1 = x @ W1 + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ W2 + b2
        a2 = np.maximum(h2, 0)
        z = a2 @ W3 + b3
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        rows = np.arange(len(t))
        loss = -np.log(p[rows, t]).mean()
        dz = p
        dz[rows, t] -= 1
        dz /= len(t)
        da2 = dz @ W3.T
        dh2 = da2 * (h2 > 0)
        da1 = dh2 @ W2.T
        dh1 = da1 * (h1 > 0)
        grads = [x.T @ dh1, dh1.sum(0), a1.T @ dh2, dh2.sum(0), a2.T @ dz, dz.sum(0)]
        for i, (w, g, v) in enumerate(zip(self.params, grads, self.velocity, strict=True)):
            if i % 2 == 0:  # weights are decayed, biases are not
                g = g + WEIGHT_DECAY * w
            v[:] = MOMENTUM * v + g
            w -= LR * v
        return float(loss)


class CarefulNumpy(EpochLoop):
    """A numpy loop written for speed: preallocated buffers, ``out=``, in place.

    Batches are gathered with ``np.take(..., out=)``; ReLU runs in place (its
    output is positive exactly where its input was); the first layer's input
    gradient is not computed; the update is in place with one scratch buffer.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        self.X, self.y, self.batch_size = X, y, batch_size
        dt, bs = X.dtype, batch_size
        self.params = [p for layer in glorot_weights(dt.name) for p in layer]
        self.grads = [np.empty_like(p) for p in self.params]
        self.velocity = [np.zeros_like(p) for p in self.params]
        self.scratch = [np.empty_like(p) for p in self.params]
        self.x = np.empty((bs, X.shape[1]), dt)
        self.t = np.empty(bs, np.int64)
        self.a1, self.a2 = np.empty((bs, 256), dt), np.empty((bs, 128), dt)
        self.z, self.da1 = np.empty((bs, 10), dt), np.empty((bs, 256), dt)
        self.da2, self.zmax = np.empty((bs, 128), dt), np.empty((bs, 1), dt)
        self.mask1, self.mask2 = np.empty((bs, 256), bool), np.empty((bs, 128), bool)
        self.rows = np.arange(bs)
        self.hyper = [dt.type(v) for v in (LR, MOMENTUM, WEIGHT_DECAY)]
        self.rng = np.random.default_rng(SEED)

    def epoch(self) -> float:
        n, total = self.X.shape[0], 0.0
        order = self.rng.permutation(n)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            m = len(idx)
            np.take(self.X, idx, axis=0, out=self.x[:m])
            np.take(self.y, idx, out=self.t[:m])
            total += self.step(m) * m
        return total / n

    def step(self, m: int) -> float:
        W1, b1, W2, b2, W3, b3 = self.params
        dW1, db1, dW2, db2, dW3, db3 = self.grads
        x, t, rows = self.x[:m], self.t[:m], self.rows[:m]
        a1, a2, z = self.a1[:m], self.a2[:m], self.z[:m]
        da1, da2, zmax = self.da1[:m], self.da2[:m], self.zmax[:m]
        mask1, mask2 = self.mask1[:m], self.mask2[:m]
        np.matmul(x, W1, out=a1)
        a1 += b1
        np.maximum(a1, 0, out=a1)
        np.matmul(a1, W2, out=a2)
        a2 += b2
        np.maximum(a2, 0, out=a2)
        np.matmul(a2, W3, out=z)
        z += b3
        np.max(z, axis=1, keepdims=True, out=zmax)
        z -= zmax
        np.exp(z, out=z)
        np.sum(z, axis=1, keepdims=True, out=zmax)
        z /= zmax
        loss = -np.log(z[rows, t]).mean()
        z[rows, t] -= 1
        z *= z.dtype.type(1.0 / m)
        np.matmul(a2.T, z, out=dW3)
        np.sum(z, axis=0, out=db3)
        np.matmul(z, W3.T, out=da2)
        np.greater(a2, 0, out=mask2)
        da2 *= mask2
        np.matmul(a1.T, da2, out=dW2)
        np.sum(da2, axis=0, out=db2)
        np.matmul(da2, W2.T, out=da1)
        np.greater(a1, 0, out=mask1)
        da1 *= mask1
        np.matmul(x.T, da1, out=dW1)
        np.sum(da1, axis=0, out=db1)
        self.update()
        return float(loss)

    def update(self) -> None:
        lr, mu, wd = self.hyper
        for i, (w, g, v, s) in enumerate(
            zip(self.params, self.grads, self.velocity, self.scratch, strict=True)
        ):
            v *= mu
            v += g
            if i % 2 == 0:
                np.multiply(w, wd, out=s)
                v += s
            np.multiply(v, lr, out=s)
            w -= s
