"""A fine-grained A/B of bprop's Trainer: quarter epochs, alternated, in one process.

Usage::

    .venv/bin/python benchmarks/ab.py                       # engines: fused, reference, textbook
    .venv/bin/python benchmarks/ab.py --batch-size 32 --dtype float64 --turns 40
    .venv/bin/python benchmarks/ab.py --baseline /path/to/old/checkout   # new vs old (fused)

``make bench`` compares whole epochs in lockstep; this host's slow phases
(seconds long, up to 2x) still land between them. Here one process holds the
GEMM bound and the contenders, and each turn trains every contender on a
quarter of the data (the contenders' order rotates from turn to turn). Each
contender's time is divided by the GEMM bound's of the same turn; the median
of these ratios is reported with its quartiles, and so is the median of the
per-turn ratio of every contender to the first one. Same model, data and
hyperparameters as `run.py`. Two clocks: wall time, and this process's CPU
time (``time.process_time``). With ``OPENBLAS_NUM_THREADS=1`` the CPU clock
barely moves when other processes share the cores, so it is the clock to pair
code changes on a busy host; with more BLAS threads idle threads spin and
both clocks mislead.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from harness.numpy_loops import TextbookNumpy
from harness.peers import BpropBaseline, BpropReference, BpropTrainer, load_baseline
from harness.workload import GemmBound, ensure_data, load_data


class _Textbook:
    """The textbook numpy loop with a Trainer's ``fit(X, y, epochs)`` face."""

    def __init__(self, X: np.ndarray, y: np.ndarray, bs: int) -> None:
        self.loop, self.epoch = TextbookNumpy(X, y, bs), 0

    def fit(self, X: np.ndarray, y: np.ndarray, epochs: int) -> None:
        self.loop.X, self.loop.y = X, y
        self.loop.epoch()
        self.epoch += 1


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--baseline", help="a folder holding another bprop/ package (new vs old)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--turns", type=int, default=30)
    args = p.parse_args()
    X, y = load_data(ensure_data(), args.dtype)
    bs = args.batch_size
    q = X.shape[0] // 4 // bs * bs  # a quarter epoch in whole batches
    parts = [(np.ascontiguousarray(X[i * q:(i + 1) * q]), y[i * q:(i + 1) * q]) for i in range(4)]
    bound = GemmBound(X, bs)
    if args.baseline:
        load_baseline(args.baseline)
        trainers = {"new": BpropTrainer(*parts[0], bs).build(),
                    "old": BpropBaseline(*parts[0], bs).build()}
    else:
        trainers = {"fused": BpropTrainer(*parts[0], bs).build(),
                    "reference": BpropReference(*parts[0], bs).build(),
                    "textbook": _Textbook(*parts[0], bs)}
    names = list(trainers)

    def quarter(name: str, turn: int) -> np.ndarray:
        start = np.array([time.perf_counter(), time.process_time()])
        if name == "bound":
            bound.run(q)
        else:
            trainer = trainers[name]
            trainer.fit(*parts[turn % 4], trainer.epoch + 1)
        return np.array([time.perf_counter(), time.process_time()]) - start

    for name in ("bound", *names):  # warm-up turn
        quarter(name, 0)
    ratios: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for turn in range(1, args.turns + 1):
        t_bound = quarter("bound", turn)
        shift = turn % len(names)
        for name in names[shift:] + names[:shift]:
            ratios[name].append(quarter(name, turn) / t_bound)
    print(f"batch {bs}, {args.dtype}, {args.turns} turns of a quarter epoch each")

    def show(label: str, r: np.ndarray) -> None:
        clocks = zip(("wall", "cpu"), r.T, strict=True)
        print(f"  {label}: " + "; ".join(
            f"{clock} median {np.median(c):.3f} [p25 {np.percentile(c, 25):.3f}, "
            f"p75 {np.percentile(c, 75):.3f}]" for clock, c in clocks))

    for name, r in ratios.items():
        show(f"{name}: x GEMM bound", np.array(r))
    first = np.array(ratios[names[0]])
    for name in names[1:]:
        show(f"{name} / {names[0]}", np.array(ratios[name]) / first)
    if "textbook" in ratios:
        show("reference / textbook", np.array(ratios["reference"]) / np.array(ratios["textbook"]))


if __name__ == "__main__":
    main()
