"""The task every contender trains, its data, and the reference timing.

The task (issue 6): an MLP 784-256-128-10 with ReLU and softmax
cross-entropy, trained by SGD (lr 0.01, momentum 0.9, weight decay 1e-4 on
the weights, not the biases) in shuffled minibatches on 60000 x 784
standardized synthetic samples of 10 classes.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

SIZES = (784, 256, 128, 10)
LR, MOMENTUM, WEIGHT_DECAY = 0.01, 0.9, 1e-4
N_SAMPLES = 60_000
SEED = 0


@dataclass(frozen=True)
class Case:
    """One benchmark setting: which contender, batch size, dtype, how long."""

    contender: str
    batch_size: int = 128
    dtype: str = "float32"
    epochs: int = 2  # timed epochs, after one warm-up epoch
    threads: int = 0  # 0: all cores
    mode: str = "epochs"  # "epochs": per-epoch timing; "fit": one whole fit() call
    data_dir: str = ""
    bprop_path: str = ""  # import bprop from here instead (before/after comparisons)

    def as_dict(self) -> dict:
        return asdict(self)


def cache_dir() -> Path:
    return Path(os.environ.get("BPROP_BENCH_CACHE", Path(tempfile.gettempdir()) / "bprop-bench"))


def ensure_data(n_samples: int = N_SAMPLES) -> Path:
    """Generate the data set once and cache it as .npy files, one per dtype.

    Each worker then loads exactly the array it trains on (no conversion copy),
    so the RSS after loading is the data set plus the imports.
    """
    folder = cache_dir() / f"classification-{n_samples}x{SIZES[0]}-seed{SEED}"
    if (folder / "y.npy").exists():
        return folder
    from sklearn.datasets import make_classification
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(
        n_samples=n_samples, n_features=SIZES[0], n_informative=64, n_redundant=0,
        n_classes=SIZES[-1], n_clusters_per_class=1, random_state=SEED,
    )
    X = StandardScaler().fit_transform(X)
    folder.mkdir(parents=True, exist_ok=True)
    for dtype in ("float32", "float64"):
        np.save(folder / f"X_{dtype}.npy", X.astype(dtype))
    np.save(folder / "y.npy", y.astype(np.int64))  # written last: marks the cache complete
    return folder


def load_data(folder: str | Path, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    folder = Path(folder)
    return np.load(folder / f"X_{dtype}.npy"), np.load(folder / "y.npy")


def glorot_weights(dtype: str, seed: int = SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """Glorot-uniform weights and zero biases for the hand-written loops."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:], strict=False):
        bound = np.sqrt(6.0 / (n_in + n_out))
        W = rng.uniform(-bound, bound, (n_in, n_out)).astype(dtype)
        layers.append((W, np.zeros(n_out, dtype=dtype)))
    return layers


class GemmBound:
    """Only the matrix products of a training step, into preallocated outputs.

    Per minibatch: the forward product of each Linear, its weight-gradient
    product ``x.T @ dy`` and its input-gradient product ``dy @ W.T``, except the
    first layer's input gradient, which no training loop needs. Batches are
    contiguous slices (no gathering), nothing else is computed: this is the
    floor a training loop in numpy can reach.
    """

    def __init__(self, X: np.ndarray, batch_size: int) -> None:
        self.X, self.batch_size = X, batch_size
        dt = X.dtype
        self.W = [w for w, _ in glorot_weights(dt.name)]
        self.dW = [np.empty_like(w) for w in self.W]
        self.h = [np.empty((batch_size, n), dt) for n in SIZES[1:]]
        self.dh = [np.full((batch_size, n), 1e-3, dt) for n in SIZES[1:]]

    def run(self, n_samples: int | None = None) -> None:
        X, bs = self.X, self.batch_size
        n = X.shape[0] if n_samples is None else n_samples
        W, dW, h, dh = self.W, self.dW, self.h, self.dh
        for start in range(0, n, bs):
            x = X[start : start + bs]
            m = x.shape[0]
            np.matmul(x, W[0], out=h[0][:m])
            np.matmul(h[0][:m], W[1], out=h[1][:m])
            np.matmul(h[1][:m], W[2], out=h[2][:m])
            np.matmul(h[1][:m].T, dh[2][:m], out=dW[2])
            np.matmul(dh[2][:m], W[2].T, out=dh[1][:m])
            np.matmul(h[0][:m].T, dh[1][:m], out=dW[1])
            np.matmul(dh[1][:m], W[1].T, out=dh[0][:m])
            np.matmul(x.T, dh[0][:m], out=dW[0])


class Reference:
    """A short fixed workload timed between epochs: a quarter epoch of the GEMM bound.

    The host has slow and fast phases a process cannot see; an epoch time
    divided by the reference measured next to it cancels most of them.
    """

    def __init__(self, X: np.ndarray, batch_size: int, fraction: float = 0.25) -> None:
        self.bound = GemmBound(X, batch_size)
        self.n_samples = int(X.shape[0] * fraction)
        self.bound.run(batch_size * 4)  # warm the BLAS threads and the buffers

    def time(self) -> float:
        start = time.perf_counter()
        self.bound.run(self.n_samples)
        return time.perf_counter() - start
