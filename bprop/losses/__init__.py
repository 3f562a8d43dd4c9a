"""Losses: ``forward(pred, target, sample_weight=None) -> float`` and ``backward() -> dpred``."""

from .base import Loss
from .poisson import PoissonDeviance
from .sigmoid_ce import SigmoidCrossEntropy
from .softmax_nll import SoftmaxNLL
from .squared_error import SquaredError

__all__ = ["Loss", "PoissonDeviance", "SigmoidCrossEntropy", "SoftmaxNLL", "SquaredError"]
