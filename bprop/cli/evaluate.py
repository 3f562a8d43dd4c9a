"""``bprop eval RUN_DIR [--data NAME|FILE] [--y Y.npy] [--split test|val|train]``: metrics."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..config import data, datasets
from ..config.build import prepare
from ..config.entries import build
from ..config.fields import ConfigError
from ..config.loader import find_file
from ..metrics import evaluate
from .rundir import load_run, load_splits


def add_parser(subparsers: Any) -> None:
    """Register the command on the ``bprop`` parser (`bprop.cli.app.build_parser`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
    """
    p = subparsers.add_parser(
        "eval", help="evaluate a trained run on its test split or on other data",
        description="Load RUN_DIR/model.npz and print its metrics as JSON: on a split of the "
                    "run's own data (rebuilt exactly from its config and seed), or on every "
                    "row of another data set or csv/npz file, preprocessed as in training.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--data", metavar="NAME|FILE",
                   help="a data set name (iris, moons, ...), a .csv file, an .npz archive "
                        "(np.savez, arrays X and y, or a sparse matrix from "
                        "scipy.sparse.save_npz with --y), or an svmlight / libsvm file "
                        "(.svm, .svmlight, .libsvm)")
    p.add_argument("--target", metavar="COLUMN",
                   help="the target column of a --data csv (name or index)")
    p.add_argument("--y", metavar="FILE.npy",
                   help="the targets of a --data sparse matrix (.npz from "
                        "scipy.sparse.save_npz), one per row")
    p.add_argument("--split", choices=("test", "val", "train"), default=None,
                   help="which part of the run's own data (default: test; test and val are "
                        "stored in the run directory, train is rebuilt from the data file)")
    p.add_argument("--delimiter", metavar="CHAR",
                   help="the column separator of a --data csv (default: the training file's)")
    p.set_defaults(run=run)


def _other_data(args: argparse.Namespace, cfg: dict[str, Any],
                prep: data.Preprocessor) -> tuple[np.ndarray, np.ndarray]:
    """Every row of another data set or file, preprocessed as in training.

    A csv file's features are matched by name when it has a header (as
    ``bprop predict`` does), by position otherwise; its target is the
    ``--target`` column, or the training target's name (or index). A sparse
    matrix (``scipy.sparse.save_npz``, its targets in ``--y``) or an svmlight
    file is read as training reads it, with the training features' count
    and ``zero_based``, and stays sparse.
    """
    spec = args.data
    suffix = Path(spec).suffix.lower()
    if os.path.isdir(os.path.expanduser(spec)):
        raise ConfigError("--data", f"{spec!r} is a directory; give a data set name or a "
                                    ".csv / .npz / .svm file")
    sparse_npz = suffix == ".npz" and datasets.is_sparse_npz(find_file(spec, ".", "--data"))
    if args.y is not None and not sparse_npz:
        raise ConfigError("--y", "gives the targets of a --data sparse matrix (.npz from "
                                 "scipy.sparse.save_npz); a csv's target is --target, an npz "
                                 "archive's its y array, an svmlight file's its first column")
    if suffix == ".csv":
        path = find_file(spec, ".", "--data")
        delimiter = args.delimiter or cfg["data"].get("delimiter", ",")
        header, rows = datasets.read_csv(path, key=path, header=None, delimiter=delimiter,
                                         known=prep.feature_names)
        if not rows:
            raise ConfigError(path, "has a header but no data rows")
        names = header or datasets._names(len(rows[0]))
        target = args.target
        if target is None:
            target = prep.target_names[0] if header else cfg["data"].get("target", -1)
            if not header and not isinstance(target, int):
                target = -1
        elif target.lstrip("-").isdigit():
            target = int(target)
        if isinstance(target, int):
            if not -len(names) <= target < len(names):
                raise ConfigError("--target", f"column index {target} out of range for "
                                              f"{path!r}, which has {len(names)} columns")
            col = target % len(names)
        elif target in names:
            col = names.index(target)
        else:
            raise ConfigError("--target", f"no column {target!r} in {path!r}; columns: "
                                          + ", ".join(names[:20]))
        rest = [j for j in range(len(names)) if j != col]
        sub = [names[j] for j in rest] if header else None
        cols = datasets.match_columns(sub, len(rest), prep.feature_names, path=path)
        X = datasets.float_columns(rows, [rest[c] for c in cols], names, path=path, key=path,
                                   header=header is not None)
        y = datasets.target_values(rows, col, names[col], path=path, key=path,
                                   header=header is not None)
    elif suffix in datasets.SVMLIGHT_SUFFIXES or sparse_npz:
        # kept sparse, read as in training, with the training features' columns
        path = find_file(spec, ".", "--data")
        if sparse_npz:
            X = datasets.read_sparse_matrix(path, "--data")
            if args.y is None:
                raise ConfigError("--y", f"{spec!r} is a sparse matrix (scipy.sparse.save_npz), "
                                         "which holds no targets: give them with --y FILE.npy "
                                         "(one per row, as data.y in training)")
            y = datasets.read_targets(find_file(args.y, ".", "--y"), X.shape[0], "--y")
        else:
            X, y, _ = datasets.read_svmlight(path, "--data", n_features=len(prep.x_scale),
                                             zero_based=cfg["data"].get("zero_based"))
    else:
        dcfg: dict[str, Any] = ({"name": "npz", "path": find_file(spec, ".", "--data")}
                                if suffix == ".npz" else {"name": spec})
        try:
            checked = data.check_config(dcfg, path="--data")
        except ConfigError as err:
            raise ConfigError("--data", err.message) from None
        raw = data.load(checked, seed=cfg["seed"])
        X, y = raw.X, raw.y
    try:
        return prep.transform(X), prep.encode_target(y)
    except ConfigError as err:
        raise ConfigError(spec, err.message) from None


def run(args: argparse.Namespace) -> int:
    """Print a trained run's metrics as JSON.

    Parameters
    ----------
    args : argparse.Namespace
        ``run_dir``, ``data``, ``target``, ``split``, ``delimiter``.

    Returns
    -------
    int
        0.

    Raises
    ------
    ConfigError
        For a directory that is not a finished run, unknown data, or a
        validation split the run does not have.
    """
    if args.data is not None and args.split is not None:
        raise ConfigError("--split", "chooses a part of the run's own data; with --data every "
                                     "row of that data is evaluated: give one or the other")
    if args.y is not None and args.data is None:
        raise ConfigError("--y", "gives the targets of a --data sparse matrix; give --data too")
    args.split = args.split or "test"
    cfg, model, prep = load_run(args.run_dir)
    if args.data is None:
        stored = load_splits(args.run_dir) if args.split != "train" else None
        if stored is not None:  # the run directory's own copy: no training file needed
            X, y = stored.get(f"X_{args.split}"), stored.get(f"y_{args.split}")
        else:  # the training split, or a run from before splits.npz: rebuild from the config
            if "path" in cfg["data"]:
                cfg["data"]["path"] = find_file(cfg["data"]["path"], ".", "data.path")
            ds = prepare(cfg).data
            X, y = getattr(ds, f"X_{args.split}"), getattr(ds, f"y_{args.split}")
        if X is None:
            raise ConfigError("--split", "this run has no validation split (data.val_size 0)")
        where = f"{args.split} split"
    else:
        X, y = _other_data(args, cfg, prep)
        where = args.data
    result = {"data": where, "n_samples": int(X.shape[0])}
    result.update(evaluate(model, build("loss", cfg["loss"]), X, y, decode=prep.decode_output))
    print(json.dumps(result, indent=2))
    return 0
