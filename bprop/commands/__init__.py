"""The ``bprop`` subcommands, one module each.

Every module defines ``add_parser(subparsers)``, which adds its subparser
and sets ``run=<its run function>`` as the default, and ``run(args) -> int``,
which returns the exit status. `bprop.cli` lists the modules.
"""
