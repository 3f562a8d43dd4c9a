"""The ``bprop`` command line: ``bprop COMMAND ...``, one module per command.

- ``train``: train a network from a YAML config (a run directory)
- ``eval``: a trained run's metrics on its test split or on other data
- ``predict``: a trained run's predictions for the rows of a csv file
- ``gradcheck``: the configured network's gradients against finite differences
- ``print-config``: the resolved config, every default filled in
- ``export``: a trained run as ONNX, with its preprocessing
- ``summary``: a model's layers, output shapes and parameter counts
- ``list``: the registered layers, losses, optimizers, schedules, callbacks, data sets
- ``init``: a commented starter config
- ``sweep``: one config over a grid or a random search of values
- ``plot``: a trained run's decision boundary (2-D data) or first-layer weights (images)
- ``exercises``: the student version of the backprop exercises, and their grading

Each subcommand lives in its own module with ``add_parser(subparsers)`` and
``run(args) -> int``; add a module to `COMMANDS` to add a subcommand. Errors in
what the user supplied (a config, a file, an argument) are
`bprop.config.fields.ConfigError`: `main` prints them as one line and exits with
status 2, never with a traceback.

``bprop --import MODULE COMMAND ...`` imports MODULE first (repeatable), so
that the classes it registers work in configs and model files, as a config's
``imports:`` list does.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ..config.fields import ConfigError
from ..config.loader import import_modules

#: each command's name and the module that adds its subparser and runs it
COMMANDS = {
    "train": "bprop.cli.train",
    "eval": "bprop.cli.evaluate",
    "predict": "bprop.cli.predict",
    "gradcheck": "bprop.cli.gradcheck",
    "print-config": "bprop.cli.print_config",
    "export": "bprop.cli.export",
    "summary": "bprop.cli.summary",
    "plot": "bprop.cli.plot",
    "list": "bprop.cli.listing",
    "init": "bprop.cli.init",
    "sweep": "bprop.cli.sweep",
    "exercises": "bprop.exercises.cli",
}


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("bprop")
    except Exception:  # not installed (running from a source tree)
        import bprop

        return getattr(bprop, "__version__", "unknown")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with the subcommands of `COMMANDS` registered.

    Parameters
    ----------
    command : str, optional
        A command name of `COMMANDS`: only its module is imported (``bprop
        train`` never loads the grader or the exporter). None, or an unknown
        name: every command, as ``bprop --help`` shows them.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="bprop",
        description="Train, evaluate and inspect bprop networks from YAML configs.",
        epilog="Run 'bprop COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"bprop {_version()}")
    parser.add_argument("--import", dest="imports", action="append", default=[],
                        metavar="MODULE",
                        help="import MODULE first, so that the classes it registers can be "
                             "named in configs and model files (runs its code; repeatable)")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    names = [command] if command in COMMANDS else list(COMMANDS)
    for name in names:
        importlib.import_module(COMMANDS[name]).add_parser(subparsers)
    return parser


def _command(argv: list[str]) -> str | None:
    """The command's name: the first argument that is not a global option or its value."""
    skip = False
    for arg in argv:
        if skip or arg.startswith("--import="):
            skip = False
            continue
        if arg == "--import":
            skip = True
            continue
        return arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bprop`` console script.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``bprop``; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for a bad config, file or argument,
        or an operating-system error on a file (one line on stderr, no
        traceback), 130 on Ctrl-C, or the command's own.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command(argv))
    # Overrides may come after options (train CONFIG --out DIR lr=0.1), which a
    # plain parse_args rejects: collect the key=value leftovers by hand.
    args, extra = parser.parse_known_args(argv)
    unknown = [e for e in extra if e.startswith("-") or "=" not in e]
    if unknown or (extra and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(unknown or extra)}")
    if extra:
        args.overrides = [*args.overrides, *extra]
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.imports:
            args.imports = import_modules(args.imports, "--import")
        return int(args.run(args) or 0)
    except ConfigError as err:
        print(f"bprop: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `bprop ... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as err:  # a full disk, a read-only or missing folder: one line, no traceback
        reason = err.strerror or str(err) or type(err).__name__
        where = f"{err.filename}: " if err.filename else ""
        print(f"bprop: error: {where}{reason}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bprop: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
