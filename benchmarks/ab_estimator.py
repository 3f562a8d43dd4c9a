"""MLPClassifier epochs against Trainer epochs, paired and alternated in one process.

Usage::

    .venv/bin/python benchmarks/ab_estimator.py                     # batch 128, float32
    .venv/bin/python benchmarks/ab_estimator.py --batch-size 32 --dtype float64 --turns 20

The target (issue 10): an epoch of ``MLPClassifier.fit`` costs at most 1.05x an
epoch of the fused Trainer on the same network and data (`harness.workload`,
scikit-learn's parameters from `harness.peers.mlp_params`). One
``MLPClassifier.fit`` runs ``turns + 1`` epochs; a user callback at every
epoch's end takes the time since the previous epoch's end (one estimator
epoch, everything it does per epoch included), then runs and times one epoch
of a fused Trainer built once (``run_epoch`` on the compiled step, as inside
``Trainer.fit``). The first turn is a warm-up. Each turn's ratio pairs two
epochs run back to back, so this shared host's slow phases mostly cancel; the
median and quartiles of the ratios are printed, never absolute times. Two
clocks: wall time, and this process's CPU time (``time.process_time``), which
other processes on a shared host barely move when BLAS runs one thread
(``OPENBLAS_NUM_THREADS=1``: with more threads than free cores OpenBLAS spins
and both clocks mislead).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from harness.peers import BpropTrainer, mlp_params
from harness.workload import ensure_data, load_data

from bprop.estimators import MLPClassifier
from bprop.training import Callback


class Alternate(Callback):
    """At each estimator epoch's end: time it, then time one Trainer epoch."""

    def __init__(self, trainer, X: np.ndarray, y: np.ndarray) -> None:
        self.trainer, self.X, self.y = trainer, X, y
        self.ratios: dict[str, list[float]] = {"wall": [], "cpu": []}
        self.start()

    def start(self) -> None:
        self.last = {"wall": time.perf_counter(), "cpu": time.process_time()}

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        now = {"wall": time.perf_counter(), "cpu": time.process_time()}
        mlp = {k: now[k] - self.last[k] for k in now}
        self.trainer.run_epoch(self.X, self.y)
        self.start()
        for k, t in self.last.items():
            self.ratios[k].append(mlp[k] / (t - now[k]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--turns", type=int, default=20)
    p.add_argument("--rows", type=int, default=0, help="use the first ROWS samples (0: all)")
    args = p.parse_args()
    X, y = load_data(ensure_data(), args.dtype)
    if args.rows:
        X, y = X[: args.rows], y[: args.rows]
    trainer = BpropTrainer(X, y, args.batch_size).build()
    trainer._step = trainer._runner(X, y)  # compiled once, as Trainer.fit does
    assert trainer.engine_used == "fused"
    alternate = Alternate(trainer, X, y)
    est = MLPClassifier(**mlp_params(args.batch_size, args.turns + 1), callbacks=[alternate])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: fixed epochs on purpose
        alternate.start()
        est.fit(X, y)
    print(f"batch {args.batch_size}, {args.dtype}, {len(X)} rows, {args.turns} paired epochs")
    for clock, ratios in alternate.ratios.items():
        r = np.array(ratios[1:])  # the first epoch holds fit's set-up
        print(f"  MLPClassifier epoch / Trainer epoch ({clock} clock): median "
              f"{np.median(r):.3f} [p25 {np.percentile(r, 25):.3f}, "
              f"p75 {np.percentile(r, 75):.3f}]")


if __name__ == "__main__":
    main()
