"""Layers: objects with ``forward(x) -> y`` and ``backward(dy) -> dx``.

See `Layer` for the contract every layer keeps.
"""

from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import Layer
from .dropout import Dropout
from .flatten import Flatten
from .linear import Linear
from .more_activations import ELU, GELU, LogSoftmax, PReLU, Softplus
from .normalization import BatchNorm, LayerNorm
from .sequential import Sequential

__all__ = [
    "ELU",
    "GELU",
    "BatchNorm",
    "Dropout",
    "Flatten",
    "Identity",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "PReLU",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
]
