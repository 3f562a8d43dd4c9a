"""``bprop print-config CONFIG.yaml [key.path=value ...]``: the resolved config."""

from __future__ import annotations

import argparse
from typing import Any

from ..config.build import load_data
from ..config.loader import dump, load_config


def add_parser(subparsers: Any) -> None:
    """Register the command on the ``bprop`` parser (`bprop.cli.app.build_parser`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
    """
    p = subparsers.add_parser(
        "print-config", help="print the resolved config (defaults filled in)",
        description="Validate CONFIG with its overrides, fill in every default, and print "
                    "the YAML that 'bprop train' would run and write to config.yaml.")
    p.add_argument("config", metavar="CONFIG.yaml")
    p.add_argument("overrides", nargs="*", metavar="key.path=value")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the resolved config as YAML.

    Parameters
    ----------
    args : argparse.Namespace
        ``config``, ``overrides``.

    Returns
    -------
    int
        0.

    Raises
    ------
    ConfigError
        For a bad config, or data that does not fit it. No layer, loss,
        optimizer or callback is built, so what only a constructor checks is
        reported by ``bprop train``.
    """
    cfg = load_config(args.config, args.overrides)
    # loads the data: checks the file and fills in a default loss; builds nothing (a
    # constructor is the user's code, run by train)
    load_data(cfg)
    print(dump(cfg), end="")
    return 0
