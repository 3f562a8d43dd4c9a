"""Optimizers (`SGD`, `Adam`, `AdamW`, `RMSProp`, `AdaGrad`), gradient clipping and
learning-rate schedules."""

from .adagrad import AdaGrad
from .adam import Adam
from .adamw import AdamW
from .base import Optimizer
from .clipping import clip_gradients, global_norm
from .rmsprop import RMSProp
from .schedules import Constant, Cosine, InverseScaling, ReduceOnPlateau, Schedule, StepDecay
from .sgd import SGD

__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "AdamW",
    "Constant",
    "Cosine",
    "InverseScaling",
    "Optimizer",
    "RMSProp",
    "ReduceOnPlateau",
    "Schedule",
    "StepDecay",
    "clip_gradients",
    "global_norm",
]
