"""The ``bprop`` command line: one module per command, and the run directory.

`main` is the console script's entry point (see `bprop.cli.app`).
"""

from .app import main

__all__ = ["main"]
