"""Losses: ``forward(pred, target, sample_weight=None) -> float`` and ``backward() -> dpred``."""

from .absolute_error import AbsoluteError
from .base import Loss
from .hinge import MulticlassHinge
from .huber import Huber
from .nll import NLL
from .poisson import PoissonDeviance
from .sigmoid_ce import SigmoidCrossEntropy
from .softmax_nll import SoftmaxNLL
from .squared_error import SquaredError

__all__ = [
    "NLL",
    "AbsoluteError",
    "Huber",
    "Loss",
    "MulticlassHinge",
    "PoissonDeviance",
    "SigmoidCrossEntropy",
    "SoftmaxNLL",
    "SquaredError",
]
