"""``bprop plot RUN_DIR [--out DIR]``: pictures of a trained run.

Draws what the run's data allows (`bprop.plots`):

- ``decision_boundary.png`` for a classifier on 2-D data (xor, moons,
  circles, a 2-column file): the class regions over the standardized
  feature plane, with the run's test (and validation) samples;
- ``weights.png`` for image data (digits' 8x8 pixels, or an .npz of (N, C, H,
  W) images): the first Linear layer's weights as images, one per unit.

It reads only the run directory (model.npz and splits.npz), so it works on a
run copied to another machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ..config.fields import ConfigError
from .rundir import load_run, load_splits


def add_parser(subparsers: Any) -> None:
    """Register the command on the ``bprop`` parser (`bprop.cli.app.build_parser`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
    """
    p = subparsers.add_parser(
        "plot", help="draw a run's decision boundary (2-D data) or first-layer weights (images)",
        description="Draw the decision boundary of a classifier on 2-D data "
                    "(decision_boundary.png) and the first layer's weights as images for "
                    "image data (weights.png) into the run directory (or --out).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory")
    p.add_argument("--out", metavar="DIR", help="where to write the pictures (default RUN_DIR)")
    p.set_defaults(run=run)


def plot_run(run_dir: str, out: str | None = None) -> list[Path]:
    """Draw every picture the run's data allows.

    Parameters
    ----------
    run_dir : str
        A finished run directory.
    out : str, optional
        Where to write them (default ``run_dir``; made if missing).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ConfigError
        If the run cannot be read, or its data is neither 2-D nor images.
    """
    from ..plots import decision_boundary, first_layer_weights, first_linear, image_shape_for

    cfg, model, prep = load_run(run_dir)
    where = Path(out or run_dir)
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError("--out", f"cannot make {str(where)!r}: {err.strerror}") from None
    name, written = cfg["name"], []
    n_in = len(prep.x_mean)
    if prep.task == "classification" and n_in == 2 and not prep.input_shape:
        splits = load_splits(run_dir)
        if splits is None:
            raise ConfigError(run_dir, "no splits.npz: the run has no stored samples to draw")
        X, y = splits["X_test"], splits["y_test"]
        if "X_val" in splits:
            X, y = np.concatenate([X, splits["X_val"]]), np.concatenate([y, splits["y_val"]])
        scaled = bool(np.any(prep.x_scale != 1) or np.any(prep.x_mean != 0))
        names = prep.feature_names[:2] if len(prep.feature_names) >= 2 else ["x0", "x1"]
        unit = " (standardized)" if scaled else ""
        path = where / "decision_boundary.png"
        decision_boundary(model, X, y, path=path, class_names=prep.classes,
                          title=f"{name}: decision boundary (test samples)",
                          xlabel=f"{names[0]}{unit}", ylabel=f"{names[1]}{unit}")
        written.append(path)
    try:
        n_first = first_linear(model).n_in
    except ValueError:
        n_first = 0
    shape = image_shape_for(n_first, tuple(prep.input_shape) if prep.input_shape else None)
    if n_first == n_in and shape is not None and (prep.input_shape or
                                                  cfg["data"]["name"] == "digits"):
        path = where / "weights.png"
        first_layer_weights(model, image_shape=shape, path=path,
                            title=f"{name}: first layer weights")
        written.append(path)
    if not written:
        raise ConfigError(run_dir, f"nothing to plot: the data has {n_in} features; bprop plot "
                                   "draws a decision boundary for 2-D classification data and "
                                   "first-layer weights for image data (digits, N-D .npz)")
    return written


def run(args: argparse.Namespace) -> int:
    """Draw the pictures and name them.

    Parameters
    ----------
    args : argparse.Namespace
        ``run_dir``, ``out``.

    Returns
    -------
    int
        0.
    """
    for path in plot_run(args.run_dir, args.out):
        print(path)
    return 0
