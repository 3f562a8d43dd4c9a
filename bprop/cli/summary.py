"""``bprop summary RUN_DIR|CONFIG.yaml [key.path=value ...]``: the model's layer table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "summary", help="print a model's layers, output shapes and parameter counts",
        description="Print the Keras-style summary of a model: each layer with its output "
                    "shape and number of parameters, and the totals. Give a run directory "
                    "(its trained model.npz) or a config (the model it would build, for its "
                    "data's number of features).")
    p.add_argument("source", metavar="RUN_DIR|CONFIG.yaml")
    p.add_argument("overrides", nargs="*", metavar="key.path=value",
                   help="config overrides (with a CONFIG)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary table."""
    from ..config.build import prepare
    from ..config.fields import ConfigError
    from ..config.loader import load_config
    from .rundir import load_run

    source = Path(args.source)
    if source.is_dir() and (source / "model.npz").is_file():
        if args.overrides:
            raise ConfigError(args.overrides[0], "overrides apply to a CONFIG, not to a "
                                                 "trained run")
        _, model, prep = load_run(args.source)
        title, n_features = f"{source / 'model.npz'} (trained)", len(prep.x_mean)
    else:
        config = source / "config.yaml" if source.is_dir() else source
        exp = prepare(load_config(str(config), args.overrides))
        title, n_features = f"{config} (untrained)", exp.data.n_features
        model = exp.model
    print(f"{title}\n{model.summary(n_features)}")
    return 0
