"""``bprop gradcheck CONFIG.yaml``: check the configured network's backward pass."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "gradcheck", help="check the configured network's gradients numerically",
        description="Build the network CONFIG describes (in float64), run it on a few "
                    "training samples and compare every backward gradient (input and "
                    "parameters) with central finite differences. Exit status 1 if the "
                    "check fails.")
    p.add_argument("config", metavar="CONFIG.yaml")
    p.add_argument("overrides", nargs="*", metavar="key.path=value")
    p.add_argument("--samples", type=int, default=4, help="batch size to check (default 4)")
    p.add_argument("--tol", type=float, default=1e-6,
                   help="largest relative error that passes (default 1e-6)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Check the gradients; exit status 0 when they match, 1 when not."""
    from ..config.build import prepare
    from ..config.fields import ConfigError
    from ..config.loader import load_config
    from ..gradcheck import check_gradients

    if args.samples < 1:
        raise ConfigError("--samples", f"must be >= 1, got {args.samples}")
    if not args.tol > 0:
        raise ConfigError("--tol", f"must be > 0, got {args.tol}")
    exp = prepare(load_config(args.config, args.overrides), dtype="float64")
    ds = exp.data
    report = check_gradients(exp.model, exp.loss, ds.X_train[:args.samples],
                             ds.y_train[:args.samples], tol=args.tol)
    print(report)
    print("gradients OK" if report.ok else "GRADIENT CHECK FAILED")
    return 0 if report.ok else 1
