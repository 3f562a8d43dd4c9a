"""The learning rules that came before backpropagation: perceptron and ADALINE.

Both train a single layer of weights, so both fail on XOR; see
``examples/xor.py`` for that demonstration and for a hidden layer trained
by backpropagation that succeeds.
"""

from .adaline import Adaline
from .perceptron import Perceptron

__all__ = ["Adaline", "Perceptron"]
