"""Optimizers (`SGD`, `Adam`) and learning-rate schedules."""

from .adam import Adam
from .base import Optimizer
from .schedules import Constant, Cosine, InverseScaling, ReduceOnPlateau, Schedule, StepDecay
from .sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "Constant",
    "Cosine",
    "InverseScaling",
    "Optimizer",
    "ReduceOnPlateau",
    "Schedule",
    "StepDecay",
]
