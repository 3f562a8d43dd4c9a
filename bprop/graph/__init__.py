"""Scalar computational graphs: reverse mode (`Value`), forward mode (`Dual`), drawings.

`bprop.graph.nn` builds micrograd's Neuron, Layer and MLP from `Value`s.

The layers in `bprop.layers` do backpropagation a whole matrix at a time;
this package does it one number at a time, so that every gate's local
gradient can be printed, drawn and checked by hand.
"""

from . import nn
from .draw import draw
from .dual import Dual, derivative, forward_gradient
from .value import Value, gradient, topological_order

__all__ = [
    "Dual",
    "Value",
    "derivative",
    "draw",
    "forward_gradient",
    "gradient",
    "nn",
    "topological_order",
]
