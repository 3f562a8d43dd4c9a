"""``bprop predict RUN_DIR INPUT.csv [-o OUT.csv]``: a trained run's predictions."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

import numpy as np

from ..config.fields import ConfigError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "predict", help="predict the rows of a csv file with a trained run",
        description="Read INPUT.csv (with a header naming the training features, or exactly "
                    "as many columns as there were features), preprocess it as in training "
                    "and write one prediction per row: the class label and each class's "
                    "probability, or the regression targets in their original units.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("input", metavar="INPUT.csv")
    p.add_argument("-o", "--output", metavar="OUT.csv", help="default: standard output")
    p.set_defaults(run=run)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_features(path: str, names: list[str]) -> np.ndarray:
    """The feature columns of a csv, by header name or by position."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ConfigError(path, f"cannot read: {err}") from None
    if not rows:
        raise ConfigError(path, "is empty")
    header = None if all(_is_number(c) for c in rows[0]) else [c.strip() for c in rows.pop(0)]
    if header is not None and all(n in header for n in names):
        cols = [header.index(n) for n in names]
    elif len(rows[0] if rows else header) == len(names):
        cols = list(range(len(names)))
    else:
        missing = [n for n in names if header is None or n not in header]
        raise ConfigError(path, f"expected the {len(names)} feature columns the model was "
                                f"trained on; missing {', '.join(missing[:5])}"
                                + (" ..." if len(missing) > 5 else ""))
    X = np.empty((len(rows), len(cols)))
    for i, row in enumerate(rows):
        try:
            X[i] = [float(row[j]) for j in cols]
        except (ValueError, IndexError):
            line = i + 1 + (header is not None)
            raise ConfigError(path, f"line {line}: expected numbers in the feature "
                                    f"columns, got {row!r}") from None
    return X


def run(args: argparse.Namespace) -> int:
    """Write one csv row of predictions per input row."""
    from ..config.entries import build
    from ..layers.activations import class_probabilities
    from .evaluate import load_run

    cfg, model, prep = load_run(args.run_dir)
    X = prep.transform(read_features(args.input, prep.feature_names))
    loss = build("loss", cfg["loss"])
    model.eval()
    out = model.forward(X.astype(model.parameters()[0].dtype)).astype(np.float64)
    if prep.task == "classification":
        header = ["prediction"] + [f"p_{c}" for c in prep.classes]
        proba = class_probabilities(out)
        labels = [prep.classes[i] for i in np.asarray(loss.predict(out)).reshape(-1)]
        rows = [[lab, *(f"{p:.6g}" for p in ps)] for lab, ps in zip(labels, proba, strict=True)]
    else:
        values = prep.decode_output(out)
        header = ["prediction"] if values.shape[1] == 1 else list(prep.target_names)
        rows = [[f"{v:.6g}" for v in vs] for vs in values]
    f = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    finally:
        if args.output:
            f.close()
    return 0
