"""A fine-grained before/after of bprop's Trainer: quarter epochs, alternated.

Usage::

    .venv/bin/python benchmarks/ab.py /path/to/old/checkout            # batch 128, float32
    .venv/bin/python benchmarks/ab.py /tmp/old --batch-size 32 --dtype float64 --turns 40

``make bench --baseline DIR`` compares whole epochs in lockstep; this host's slow
phases (seconds long, up to 2x) still land between them. Here one process holds
the GEMM bound, this checkout's Trainer and the one in ``DIR/bprop``, and each
turn trains every contender on a quarter of the data (the order of the two
Trainers alternates). Each Trainer's time is divided by the GEMM bound's of the
same turn, and the median of the per-turn ratio new ÷ old is reported with its
quartiles. Same model, data and hyperparameters as `run.py`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from harness.peers import BpropBaseline, BpropTrainer, load_baseline
from harness.workload import GemmBound, ensure_data, load_data


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("baseline", help="a folder holding the other bprop/ package")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--turns", type=int, default=30)
    args = p.parse_args()
    load_baseline(args.baseline)
    X, y = load_data(ensure_data(), args.dtype)
    bs = args.batch_size
    q = X.shape[0] // 4 // bs * bs  # a quarter epoch in whole batches
    parts = [(np.ascontiguousarray(X[i * q:(i + 1) * q]), y[i * q:(i + 1) * q]) for i in range(4)]
    bound = GemmBound(X, bs)
    trainers = {"new": BpropTrainer(*parts[0], bs).build(),
                "old": BpropBaseline(*parts[0], bs).build()}

    def quarter(name: str, turn: int) -> float:
        start = time.perf_counter()
        if name == "bound":
            bound.run(q)
        else:
            trainer = trainers[name]
            trainer.fit(*parts[turn % 4], trainer.epoch + 1)
        return time.perf_counter() - start

    for name in ("bound", "new", "old"):  # warm-up turn
        quarter(name, 0)
    ratios: dict[str, list[float]] = {"new": [], "old": []}
    for turn in range(1, args.turns + 1):
        t_bound = quarter("bound", turn)
        for name in (("new", "old") if turn % 2 else ("old", "new")):
            ratios[name].append(quarter(name, turn) / t_bound)
    print(f"batch {bs}, {args.dtype}, {args.turns} turns of a quarter epoch each")
    for name, r in ratios.items():
        print(f"  {name}: x GEMM bound median {np.median(r):.3f} "
              f"[p25 {np.percentile(r, 25):.3f}, p75 {np.percentile(r, 75):.3f}]")
    r = np.array(ratios["new"]) / np.array(ratios["old"])
    print(f"  new / old: median {np.median(r):.3f} "
          f"[p25 {np.percentile(r, 25):.3f}, p75 {np.percentile(r, 75):.3f}]")


if __name__ == "__main__":
    main()
