"""Layers: objects with ``forward(x) -> y`` and ``backward(dy) -> dx``.

See `Layer` for the contract every layer keeps.
"""

from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import Layer
from .dropout import Dropout
from .linear import Linear
from .sequential import Sequential

__all__ = [
    "Dropout",
    "Identity",
    "Layer",
    "LeakyReLU",
    "Linear",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
]
