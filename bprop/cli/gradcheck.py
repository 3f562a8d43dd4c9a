"""``bprop gradcheck CONFIG.yaml``: check the configured network's backward pass."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "gradcheck", help="check the configured network's gradients numerically",
        description="Build the network CONFIG describes (in float64), run it on a few "
                    "training samples and compare every backward gradient (input and "
                    "parameters) with central finite differences: relative error "
                    "|a - n| / (|a| + |n|) beyond the differences' own noise floor, "
                    "with entries on kinks (ReLU at 0) found and skipped. The same "
                    "verdict as bprop.gradcheck.check_gradients and the exercise "
                    "grader. Exit status 1 if the check fails.")
    p.add_argument("config", metavar="CONFIG.yaml")
    p.add_argument("overrides", nargs="*", metavar="key.path=value")
    p.add_argument("--samples", type=int, default=8, help="batch size to check (default 8)")
    p.add_argument("--tol", type=float, default=1e-6,
                   help="largest relative error that passes (default 1e-6)")
    p.add_argument("--entries", type=int, default=300,
                   help="entries checked per array, a seeded sample (default 300)")
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
    if args.entries < 1:
        raise ConfigError("--entries", f"must be >= 1, got {args.entries}")
    exp = prepare(load_config(args.config, args.overrides), dtype="float64")
    ds = exp.data
    report = check_gradients(exp.model, exp.loss, ds.X_train[:args.samples],
                             ds.y_train[:args.samples], tol=args.tol, max_entries=args.entries)
    print(report)
    print("gradients OK" if report.ok else "GRADIENT CHECK FAILED")
    return 0 if report.ok else 1
