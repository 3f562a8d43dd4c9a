"""bprop's MLP estimators against scikit-learn's: same hyperparameters, solver='sgd'.

For every data set scikit-learn ships (iris, wine, breast_cancer, digits for
classification; diabetes for regression), both estimators get the same
parameters and the same ``random_state``, train on a stratified 75 % split
(inputs standardized) and are scored on the rest: accuracy for classifiers,
R^2 for the regressor. Fit times are measured in the same process with the
two contenders interleaved, in alternating order, ``--reps`` times per seed;
the table reports medians. BLAS is limited to ``--threads`` threads for both.

Usage::

    .venv/bin/python benchmarks/estimators_vs_sklearn.py            # ~1-2 minutes
    .venv/bin/python benchmarks/estimators_vs_sklearn.py --quick    # one seed, one rep
    .venv/bin/python benchmarks/estimators_vs_sklearn.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import sklearn.neural_network as sk
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bprop import estimators as bp  # noqa: E402

#: the hyperparameters both estimators get (scikit-learn's defaults otherwise)
PARAMS = dict(solver="sgd", hidden_layer_sizes=(100,), learning_rate_init=0.01, max_iter=200)

DATASETS = {
    "iris": (datasets.load_iris, "MLPClassifier"),
    "wine": (datasets.load_wine, "MLPClassifier"),
    "breast_cancer": (datasets.load_breast_cancer, "MLPClassifier"),
    "digits": (datasets.load_digits, "MLPClassifier"),
    "diabetes": (datasets.load_diabetes, "MLPRegressor"),
}


def load(name: str, seed: int) -> tuple[np.ndarray, ...]:
    loader, kind = DATASETS[name]
    X, y = loader(return_X_y=True)
    if kind == "MLPRegressor":
        y = (y - y.mean()) / y.std()  # R^2 is unchanged; sgd needs a unit-scale target
    stratify = y if kind == "MLPClassifier" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=stratify
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def fit_once(cls: type, data: tuple, seed: int) -> tuple[float, float, int]:
    X_train, X_test, y_train, y_test = data
    est = cls(**PARAMS, random_state=seed)
    start = time.perf_counter()
    est.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return seconds, float(est.score(X_test, y_test)), int(est.n_iter_)


def run(name: str, seeds: list[int], reps: int) -> dict:
    kind = DATASETS[name][1]
    contenders = {"bprop": getattr(bp, kind), "sklearn": getattr(sk, kind)}
    times: dict[str, list[float]] = {c: [] for c in contenders}
    scores: dict[str, list[float]] = {c: [] for c in contenders}
    iters: dict[str, list[int]] = {c: [] for c in contenders}
    for seed in seeds:
        data = load(name, seed)
        for rep in range(reps):
            order = list(contenders) if rep % 2 == 0 else list(contenders)[::-1]
            for c in order:
                seconds, score, n_iter = fit_once(contenders[c], data, seed)
                times[c].append(seconds)
                if rep == 0:
                    scores[c].append(score)
                    iters[c].append(n_iter)
    row = {"data": name, "estimator": kind, "metric": "accuracy" if "Class" in kind else "R2"}
    for c in contenders:
        row[f"{c}_score"] = statistics.mean(scores[c])
        row[f"{c}_seconds"] = statistics.median(times[c])
        row[f"{c}_epochs"] = statistics.mean(iters[c])
    row["speedup"] = row["sklearn_seconds"] / row["bprop_seconds"]
    return row


def markdown(rows: list[dict], args: argparse.Namespace) -> str:
    lines = [
        f"solver='sgd', hidden_layer_sizes=(100,), learning_rate_init=0.01, max_iter=200; "
        f"seeds {args.seeds}, {args.reps} timed fits per seed and contender, "
        f"{args.threads} BLAS thread(s); scikit-learn {sklearn.__version__}, "
        f"numpy {np.__version__}.",
        "",
        "| data | metric | bprop | scikit-learn | epochs (bprop / sklearn) "
        "| fit s bprop | fit s sklearn | speed-up |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['data']} | {r['metric']} | {r['bprop_score']:.4f} | {r['sklearn_score']:.4f} "
            f"| {r['bprop_epochs']:.0f} / {r['sklearn_epochs']:.0f} "
            f"| {r['bprop_seconds']:.3f} | {r['sklearn_seconds']:.3f} | {r['speedup']:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--reps", type=int, default=3, help="timed fits per seed and contender")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads for both contenders")
    p.add_argument("--quick", action="store_true", help="one seed, one timed fit")
    p.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.reps = args.seeds[:1], 1
    warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is part of the setting
    with threadpool_limits(limits=args.threads):
        fit_once(bp.MLPClassifier, load("iris", 0), 0)  # warm-up: imports, BLAS buffers
        fit_once(sk.MLPClassifier, load("iris", 0), 0)
        rows = [run(name, args.seeds, args.reps) for name in args.data]
    print(markdown(rows, args))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
