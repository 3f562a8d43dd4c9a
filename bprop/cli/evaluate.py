"""``bprop eval RUN_DIR [--data NAME|FILE] [--split test|val|train]``: a run's metrics."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..config import data
from ..config.build import prepare
from ..config.entries import build
from ..config.fields import ConfigError
from ..config.loader import find_file
from ..metrics import evaluate
from .rundir import load_run


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
                   help="a data set name (iris, moons, ...) or a .csv/.npz file")
    p.add_argument("--target", metavar="COLUMN",
                   help="the target column of a --data csv (name or index)")
    p.add_argument("--split", choices=("test", "val", "train"), default="test",
                   help="which part of the run's own data (default: test)")
    p.set_defaults(run=run)


def _other_data(spec: str, target: str | None, cfg: dict[str, Any],
                prep: data.Preprocessor) -> tuple[np.ndarray, np.ndarray]:
    """Every row of another data set or file, preprocessed as in training."""
    suffix = Path(spec).suffix.lower()
    if suffix in (".csv", ".npz"):
        dcfg: dict[str, Any] = {"name": suffix[1:], "path": find_file(spec, ".", "--data")}
        if suffix == ".csv":
            default = cfg["data"].get("target", prep.target_names[0])
            dcfg["target"] = default if target is None else (
                int(target) if target.lstrip("-").isdigit() else target)
    else:
        dcfg = {"name": spec}
    try:
        checked = data.check_config(dcfg, path="--data")
    except ConfigError as err:
        raise ConfigError("--data", err.message) from None
    raw = data.load(checked, seed=cfg["seed"])
    return prep.transform(raw.X), prep.encode_target(raw.y)


def run(args: argparse.Namespace) -> int:
    """Print a trained run's metrics as JSON.

    Parameters
    ----------
    args : argparse.Namespace
        ``run_dir``, ``data``, ``target``, ``split``.

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
    cfg, model, prep = load_run(args.run_dir)
    if args.data is None:
        ds = prepare(cfg).data
        X, y = getattr(ds, f"X_{args.split}"), getattr(ds, f"y_{args.split}")
        if X is None:
            raise ConfigError("--split", "this run has no validation split (data.val_size 0)")
        where = f"{args.split} split"
    else:
        X, y = _other_data(args.data, args.target, cfg, prep)
        where = args.data
    result = {"data": where, "n_samples": int(len(X))}
    result.update(evaluate(model, build("loss", cfg["loss"]), X, y, decode=prep.decode_output))
    print(json.dumps(result, indent=2))
    return 0
