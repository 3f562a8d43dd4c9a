"""Sparse input: bprop's MLPClassifier against scikit-learn's on a TF-IDF-like matrix.

The case of ``shared/cases/scale.md`` (S1): a 5000 x 50000 CSR matrix of
density 0.002, built from random (row, col, value) triples, 5 random classes,
``MLPClassifier(hidden_layer_sizes=(64,), solver="sgd", max_iter=3,
random_state=0)``. Each contender runs in its own process (a fresh
interpreter builds the same matrix from the same seed), so that its peak
resident memory (``ru_maxrss``, which counts everything the process ever
held: imports, the data, the fit) is its own. Reported: fit seconds, peak
RSS, the training score, and bprop's ratios to scikit-learn's. The targets:
peak RSS at most scikit-learn's, fit time at most half of it, the same score.
``--solver adam`` measures scikit-learn's default solver on the same data.

Measured (2026-11-30, a 2-core machine shared with other work; bprop trains
sparse data on `bprop.fused.sparse`): fit time 0.21-0.29 of scikit-learn's
with "sgd" and 0.39-0.49 with "adam" on one BLAS thread, 0.30 with the
libraries' default threads and a busy process beside (before the updates ran
on one BLAS thread: 1.81); peak RSS 0.66-0.69; equal scores. With ``--cols
200000``: 0.13-0.15 the time, 0.54 the memory. Smaller weights, more rows
(``--threads default,1``): 300000 x 3000 at density 0.003: 0.08 / 0.32
(sgd), 0.14 / 0.46 (adam); 60000 x 2000 at 0.01, 4 classes: 0.14 / 0.37
(sgd), 0.28-0.50 / 0.49-0.54 (adam); 100000 x 500 at 0.02, 2 classes,
``--hidden 16``, adam: 0.49 / 0.44, peak RSS 0.91-0.99 (the peak is while
the data is built: the imports are lighter than scikit-learn's MLP's).
scikit-learn's time varies most (1.2-2.5 s on the same 60000 x 2000 case).

Usage::

    .venv/bin/python benchmarks/sparse_vs_sklearn.py                  # ~1 minute
    .venv/bin/python benchmarks/sparse_vs_sklearn.py --cols 200000    # past dense memory
    .venv/bin/python benchmarks/sparse_vs_sklearn.py --solver adam
    .venv/bin/python benchmarks/sparse_vs_sklearn.py --threads default,1 --busy 1
    .venv/bin/python benchmarks/sparse_vs_sklearn.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
CONTENDERS = ("scikit-learn", "bprop")


def tfidf_like(rows: int, cols: int, density: float, classes: int, seed: int = 0):
    """A CSR matrix from random (row, col, value) triples, and random class labels."""
    rng = np.random.default_rng(seed)
    nnz = int(rows * cols * density)
    X = sp.csr_matrix(
        (rng.random(nnz), (rng.integers(0, rows, nnz), rng.integers(0, cols, nnz))),
        shape=(rows, cols),
    )
    return X, rng.integers(0, classes, rows)


def peak_rss_mb() -> float:
    """This process's peak resident set size, in MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def contend(name: str, args: argparse.Namespace) -> dict[str, float]:
    """Build the data and fit one contender in this process; its numbers."""
    from threadpoolctl import threadpool_limits

    if name == "bprop":
        sys.path.insert(0, str(ROOT))
        from bprop.estimators import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    X, y = tfidf_like(args.rows, args.cols, args.density, args.classes)
    data_rss = peak_rss_mb()  # the imports and building the data, before any fit
    est = MLPClassifier(hidden_layer_sizes=tuple(args.hidden), solver=args.solver, max_iter=3,
                        random_state=0)
    limit = None if args.threads == "default" else int(args.threads)
    with threadpool_limits(limit), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: 3 epochs are the case
        start = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - start
        score = est.score(X, y)
    return {"fit_s": seconds, "peak_rss_mb": peak_rss_mb(), "score": score,
            "before_fit_rss_mb": data_rss}


def compare(args: argparse.Namespace, threads: str) -> dict[str, Any]:
    """Both contenders on ``threads`` BLAS threads (or "default"); their table, printed."""
    passed = [f"--{k}={getattr(args, k)}" for k in ("rows", "cols", "density", "classes",
                                                     "solver")]
    passed += ["--threads", threads, "--hidden", *map(str, args.hidden)]
    results = {}
    for name in CONTENDERS:
        out = subprocess.run([sys.executable, __file__, *passed, "--contender", name],
                             check=True, capture_output=True, text=True).stdout
        results[name] = json.loads(out.strip().splitlines()[-1])
    sk, bp = results["scikit-learn"], results["bprop"]
    ratios = {"fit_s": bp["fit_s"] / sk["fit_s"],
              "peak_rss_mb": bp["peak_rss_mb"] / sk["peak_rss_mb"],
              "score": bp["score"] - sk["score"]}
    print(f"{args.rows} x {args.cols} CSR, density {args.density}, {args.classes} classes, "
          f"hidden {tuple(args.hidden)}, BLAS threads: {threads}, solver={args.solver!r}"
          + (f", {args.busy} busy process(es)" if args.busy else ""))
    print(f"{'':14}{'fit s':>9}{'peak RSS MB':>13}{'score':>9}{'(before fit)':>14}")
    for name, r in results.items():
        print(f"{name:14}{r['fit_s']:9.2f}{r['peak_rss_mb']:13.0f}{r['score']:9.4f}"
              f"{r['before_fit_rss_mb']:14.0f}")
    print(f"{'bprop / sklearn':14}{ratios['fit_s']:9.2f}{ratios['peak_rss_mb']:13.2f}"
          f"{ratios['score']:+9.4f}  (targets: <= 0.5, <= 1.0, +0.0000)")
    return {"results": results, "ratios": ratios}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--cols", type=int, default=50000)
    parser.add_argument("--density", type=float, default=0.002)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64],
                        help="hidden layer sizes (default: the case's 64)")
    parser.add_argument("--threads", default="default",
                        help="BLAS threads for both, or 'default' (the libraries' own, no "
                             "limit); a comma-separated list measures each: 'default,1'")
    parser.add_argument("--busy", type=int, default=0,
                        help="run this many busy-looping processes meanwhile (a loaded host)")
    parser.add_argument("--solver", choices=("sgd", "adam"), default="sgd",
                        help="the case's 'sgd', or scikit-learn's default 'adam'")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.contender:  # the child: one fit, its numbers as JSON on stdout
        print(json.dumps(contend(args.contender, args)))
        return 0
    settings = args.threads.split(",")
    for t in settings:
        if t != "default" and not t.isdigit():
            parser.error(f"--threads takes 'default' or a number of threads, got {t!r}")
    busy = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(args.busy)]
    try:
        report = {t: compare(args, t) for t in settings}
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": report},
                                              indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
