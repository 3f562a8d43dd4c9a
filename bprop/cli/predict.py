"""``bprop predict RUN_DIR INPUT.csv [-o OUT.csv]``: a trained run's predictions."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from typing import Any

import numpy as np

from ..config.datasets import float_columns, read_csv
from ..config.entries import build
from ..config.fields import ConfigError
from ..layers.activations import class_probabilities
from ..metrics import predict_raw
from ..modelfile import atomic_write
from .rundir import load_run


def add_parser(subparsers: Any) -> None:
    """Register the command on the ``bprop`` parser (`bprop.cli.app.build_parser`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
    """
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


def read_features(path: str, names: list[str]) -> np.ndarray:
    """The feature columns of a csv file, by header name or by position.

    Parameters
    ----------
    path : str
        A csv file, with a header line or without (detected: a first row of
        numbers is data).
    names : list of str
        The features the model was trained on, in order.

    Returns
    -------
    ndarray of float64, shape (N, len(names))
        In ``names``' order; other columns (a target) are ignored when the
        header names them.

    Raises
    ------
    ConfigError
        Naming the file: unreadable, empty, missing features, or a cell that
        is not a number.
    """
    header, rows = read_csv(path, key=path, header=None)
    if not rows:
        raise ConfigError(path, "has a header but no data rows")
    if header is not None and all(n in header for n in names):
        cols = [header.index(n) for n in names]
    elif len(header if header is not None else rows[0]) == len(names):
        cols = list(range(len(names)))
    else:
        missing = [n for n in names if header is None or n not in header]
        raise ConfigError(path, f"expected the {len(names)} feature columns the model was "
                                f"trained on; missing {', '.join(missing[:5])}"
                                + (" ..." if len(missing) > 5 else ""))
    return float_columns(rows, cols, header or names, path=path, key=path,
                         header=header is not None)


def run(args: argparse.Namespace) -> int:
    """Write one csv row of predictions per input row.

    Parameters
    ----------
    args : argparse.Namespace
        ``run_dir``, ``input``, ``output`` (None: standard output).

    Returns
    -------
    int
        0.

    Raises
    ------
    ConfigError
        For a directory that is not a finished run, or an input file that
        does not hold the training features.
    """
    cfg, model, prep = load_run(args.run_dir)
    X = prep.transform(read_features(args.input, prep.feature_names))
    loss = build("loss", cfg["loss"])
    out = predict_raw(model, X).astype(np.float64)
    if prep.task == "classification":
        header = ["prediction"] + [f"p_{c}" for c in prep.classes]
        proba = class_probabilities(out)
        labels = [prep.classes[i] for i in np.asarray(loss.predict(out)).reshape(-1)]
        rows = [[lab, *(f"{p:.6g}" for p in ps)] for lab, ps in zip(labels, proba, strict=True)]
    else:
        values = prep.decode_output(out)
        header = ["prediction"] if values.shape[1] == 1 else list(prep.target_names)
        rows = [[f"{v:.6g}" for v in vs] for vs in values]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    if args.output:
        atomic_write(args.output, text.getvalue())
    else:
        sys.stdout.write(text.getvalue())
    return 0
