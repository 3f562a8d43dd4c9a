"""`bprop.summary.summary`, kept at its old path: the table lives beside the layers.

See `bprop.layers.summary`.
"""

from .layers.summary import summary

__all__ = ["summary"]
