"""``bprop predict RUN_DIR INPUT [-o OUT.csv]``: a trained run's predictions.

INPUT is a csv file, a sparse matrix saved with ``scipy.sparse.save_npz``
(``.npz``: TF-IDF or one-hot features, predicted without a dense copy), or an
svmlight / libsvm file (``.svm``, ``.svmlight``, ``.libsvm``; kept sparse too).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from typing import Any

import numpy as np
from scipy.sparse import issparse

from ..config.datasets import (
    SVMLIGHT_SUFFIXES,
    float_columns,
    match_columns,
    read_csv,
    read_sparse_matrix,
    read_svmlight,
)
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
        description="Read INPUT.csv (with a header naming the training features, matched by "
                    "name, or without a header and exactly as many columns as there were "
                    "features, in training order), INPUT.npz (a sparse matrix saved "
                    "with scipy.sparse.save_npz, one column per feature, kept sparse), "
                    "or INPUT.svm / .svmlight / .libsvm (svmlight text, kept sparse), "
                    "preprocess it as in training "
                    "and write one prediction per row: the class label and each class's "
                    "probability, or the regression targets in their original units.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("input", metavar="INPUT.csv",
                   help="a csv file, a sparse matrix saved with scipy.sparse.save_npz "
                        "(.npz: one column per training feature, kept sparse), or an "
                        "svmlight / libsvm file (.svm, .svmlight, .libsvm)")
    p.add_argument("-o", "--output", metavar="OUT.csv", help="default: standard output")
    p.add_argument("--delimiter", metavar="CHAR",
                   help="the column separator of INPUT.csv (default: the training file's)")
    p.set_defaults(run=run)


def read_features(path: str, names: list[str], *, delimiter: str = ",",
                  extra: tuple[str, ...] = ()) -> np.ndarray:
    """The feature columns of a csv file, by header name or (without a header) by position.

    Parameters
    ----------
    path : str
        A csv file, with a header line or without (detected: a first row of
        numbers is data).
    names : list of str
        The features the model was trained on, in order.
    delimiter : str, default=","
    extra : tuple of str
        Other columns the header may name (the training target), skipped.

    Returns
    -------
    ndarray of float64, shape (N, len(names))
        In ``names``' order; finite.

    Raises
    ------
    ConfigError
        Naming the file: unreadable, empty, a header that does not name
        exactly the features (the missing and the unknown columns are
        named), a count of columns that is not the features', or a cell
        that is not a finite number (line and column).
    """
    header, rows = read_csv(path, key=path, header=None, delimiter=delimiter, known=names)
    if not rows:
        raise ConfigError(path, "has a header but no data rows")
    width = len(header) if header is not None else len(rows[0])
    cols = match_columns(header, width, names, path=path, extra=extra if header else ())
    return float_columns(rows, cols, header or names, path=path, key=path,
                         header=header is not None)


def read_sparse_features(path: str, names: list[str], *,
                         zero_based: bool | None = None) -> Any:
    """Sparse features, kept sparse: a ``scipy.sparse.save_npz`` file, or svmlight text.

    The readers of ``bprop train`` (`bprop.config.datasets.read_sparse_matrix`,
    `bprop.config.datasets.read_svmlight`); an svmlight file is read with the
    training features' count, so that its columns line up with them (its
    labels are not used).

    Parameters
    ----------
    path : str
        An ``.npz`` file written by ``scipy.sparse.save_npz``, or an svmlight /
        libsvm file (``.svm``, ``.svmlight``, ``.libsvm``).
    names : list of str
        The features the model was trained on: the matrix has one column each,
        in this order.
    zero_based : bool or None
        Whether an svmlight file's indices count from 0 (the run's
        ``data.zero_based``); None: as scikit-learn's "auto".

    Returns
    -------
    scipy.sparse CSR matrix of float64, shape (N, len(names))

    Raises
    ------
    ConfigError
        Naming the file: unreadable, not a 2-D numeric matrix, another number
        of columns, or a non-finite value (its row and feature).
    """
    if path.lower().endswith(SVMLIGHT_SUFFIXES):
        X = read_svmlight(path, path, n_features=len(names), zero_based=zero_based)[0]
    else:
        X = read_sparse_matrix(path, path)
    if X.shape[1] != len(names):
        raise ConfigError(path, f"has {X.shape[1]} feature columns; the model was trained on "
                                f"{len(names)}")
    X = X.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(X.data))
    if len(bad):
        row = int(np.searchsorted(X.indptr, bad[0], side="right")) - 1
        raise ConfigError(path, f"data row {row + 1}, feature {names[X.indices[bad[0]]]!r} is "
                                f"{X.data[bad[0]]}; only finite numbers can be predicted")
    return X


#: what a run directory holds (`bprop.cli.rundir`): never overwritten by predictions
RUN_FILES = ("config.yaml", "model.npz", "checkpoint.npz", "history.csv", "summary.json",
             "splits.npz", "loss_curve.png", "diagnostics.csv", "diagnostics.png",
             "diverged.json")


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
    # "-o ''" would otherwise mean standard output without saying so
    if args.output is not None and not args.output.strip():
        raise ConfigError("-o", "is empty; give the CSV file to write, or leave -o out "
                                "for standard output")
    if args.output and os.path.basename(args.output) in RUN_FILES and os.path.isdir(
            args.run_dir) and os.path.samefile(
            os.path.dirname(os.path.abspath(args.output)), args.run_dir):
        raise ConfigError("-o", f"{args.output!r} is one of the run's own files; "
                                "write predictions elsewhere")
    cfg, model, prep = load_run(args.run_dir)
    delimiter = args.delimiter or cfg["data"].get("delimiter", ",")
    if args.input.lower().endswith((".npz", *SVMLIGHT_SUFFIXES)):  # kept sparse, as in training
        X = read_sparse_features(args.input, prep.feature_names,
                                 zero_based=cfg["data"].get("zero_based"))
    else:
        X = read_features(args.input, prep.feature_names, delimiter=delimiter,
                          extra=tuple(prep.target_names))
    try:
        X = prep.transform(X)
    except ConfigError as err:
        raise ConfigError(args.input, err.message) from None
    loss = build("loss", cfg["loss"])
    with np.errstate(over="ignore", invalid="ignore"):
        out = predict_raw(model, X).astype(np.float64)
    check_finite_outputs(out, X, prep.feature_names, args.input)
    if prep.task == "classification":
        header = ["prediction"] + [f"p_{c}" for c in prep.classes]
        proba = probabilities(model, out)
        labels = [prep.classes[i] for i in np.asarray(loss.predict(out)).reshape(-1)]
        rows = [[lab, *(f"{p:.6g}" for p in ps)] for lab, ps in zip(labels, proba, strict=True)]
    else:
        # The loss's own prediction: a Poisson model's rate exp(z), not its log-rate z.
        values = prep.decode_output(np.asarray(loss.predict(out), dtype=np.float64))
        header = ["prediction"] if values.shape[1] == 1 else list(prep.target_names)
        rows = [[f"{v:.6g}" for v in vs] for vs in values]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    if args.output:
        try:
            atomic_write(args.output, text.getvalue())
        except IsADirectoryError:
            raise ConfigError("-o", f"{args.output!r} is a directory; give a file name") from None
        except OSError as err:
            where = os.path.dirname(os.path.abspath(args.output))
            tmp = err.filename and os.path.basename(str(err.filename)).startswith(
                "." + os.path.basename(args.output) + ".")
            raise ConfigError("-o", f"cannot write {args.output!r}: "
                                    + (f"cannot create a file in {where!r}: " if tmp else "")
                                    + f"{err.strerror or err}") from None
    else:
        sys.stdout.write(text.getvalue())
    return 0


def check_finite_outputs(out: np.ndarray, Z: Any, names: list[str], source: str) -> None:
    """Refuse outputs that overflowed: no prediction comes from a non-finite output.

    Parameters
    ----------
    out : ndarray, shape (N, K)
        The network's raw outputs.
    Z : ndarray or scipy.sparse matrix, shape (N, D)
        The standardized inputs that produced them.
    names : list of str
        The D feature names.
    source : str
        The input file, named in the message.

    Raises
    ------
    ConfigError
        Naming the first data row whose output is not finite and its feature
        farthest from the training data (in standard deviations).
    """
    bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
    if len(bad):
        i = int(bad[0])
        if issparse(Z):  # the row's non-zeros (a sparse row is never densified)
            row = Z[i].tocsr()
            k = int(np.argmax(np.abs(row.data))) if row.nnz else 0
            j, z = (int(row.indices[k]), float(row.data[k])) if row.nnz else (0, 0.0)
        else:
            j = int(np.argmax(np.abs(Z[i])))
            z = float(Z[i, j])
        raise ConfigError(source, f"data row {i + 1}: the model's output overflows (feature "
                                  f"{names[j]!r} is {z:.3g} standard deviations from the "
                                  "training data); no prediction written")


def probabilities(model: Any, out: np.ndarray) -> np.ndarray:
    """Class probabilities from a classifier's outputs, as `bprop.export.to_onnx` computes them.

    Parameters
    ----------
    model : Layer
        The run's network.
    out : ndarray, shape (N, K)
        Its outputs.

    Returns
    -------
    ndarray, shape (N, K), or (N, 2) for one logistic output
        The outputs themselves after a final Softmax layer (they are
        probabilities already), otherwise `class_probabilities` of them.
    """
    last = model
    while getattr(last, "layers", None):
        last = last.layers[-1]
    return out if type(last).__name__ == "Softmax" else class_probabilities(out)
