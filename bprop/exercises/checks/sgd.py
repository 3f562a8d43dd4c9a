"""Checks of the SGD-with-weight-decay exercise."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ... import optim
from ...parameter import Parameter
from ..spec import Check, Exercise, Outcome
from ._tools import compare, seeded

LR, WD = 0.1, 0.01


def _params(seed: int) -> list[Parameter]:
    """A weight (decayed) and a bias (not decayed) with gradients set."""
    rng = seeded(seed)
    weight = Parameter(rng.normal(size=(3, 2)), "weight")
    bias = Parameter(rng.normal(size=2), "bias", decay=False)
    for p in (weight, bias):
        p.grad = rng.normal(size=p.value.shape)
    return [weight, bias]


def _copy(params: list[Parameter]) -> list[Parameter]:
    copies = []
    for p in params:
        q = Parameter(p.value.copy(), p.name, decay=p.decay)
        q.grad = p.grad.copy()
        copies.append(q)
    return copies


def _step(mod: ModuleType, seed: int, weight_decay: float, steps: int = 1):
    """Run the student's and the library's SGD side by side; return both params."""
    student = _params(seed)
    truth = _copy(student)
    before = _copy(student)
    s_opt = mod.SGD(student, lr=LR, weight_decay=weight_decay)
    t_opt = optim.SGD(truth, LR, weight_decay=weight_decay)
    rng = seeded(seed + 100)
    for _ in range(steps):
        s_opt.step()
        t_opt.step()
        for s, t in zip(student, truth, strict=True):  # fresh gradients for the next step
            s.grad = rng.normal(size=s.value.shape)
            t.grad = s.grad.copy()
    return student, truth, before


def _plain(mod: ModuleType) -> Outcome:
    student, truth, before = _step(mod, 20, weight_decay=0.0)
    w, g = before[0].value, before[0].grad
    mistakes = {
        "wrong sign: step against the gradient, value -= lr * grad": w + LR * g,
        "forgot the learning rate: value -= lr * grad": w - g,
    }
    return compare("weight after one step (weight_decay=0)", student[0].value, truth[0].value,
                   mistakes)


def _decay(mod: ModuleType) -> Outcome:
    student, truth, before = _step(mod, 21, weight_decay=WD)
    w, g = before[0].value, before[0].grad
    mistakes = {
        "weight decay ignored: add weight_decay * value to the gradient": w - LR * g,
        "decay not scaled by lr: value -= lr * (grad + weight_decay * value)":
            w - LR * g - WD * w,
        "wrong sign of the decay: it pulls weights towards 0, grad + weight_decay * value":
            w - LR * (g - WD * w),
        "used 0.5 * weight_decay: the gradient of 0.5 * wd * ||W||^2 is wd * W":
            w - LR * (g + 0.5 * WD * w),
    }
    return compare("weight after one step with weight decay", student[0].value, truth[0].value,
                   mistakes)


def _bias(mod: ModuleType) -> Outcome:
    student, truth, before = _step(mod, 22, weight_decay=WD)
    b, g = before[1].value, before[1].grad
    mistakes = {"decayed a parameter whose .decay is False (a bias)": b - LR * (g + WD * b)}
    return compare("bias after one step", student[1].value, truth[1].value, mistakes)


def _several(mod: ModuleType) -> Outcome:
    student, truth, _ = _step(mod, 23, weight_decay=WD, steps=3)
    for s, t in zip(student, truth, strict=True):
        outcome = compare(f"{s.name} after three steps", s.value, t.value, {})
        if not outcome.passed:
            return outcome
    if not isinstance(student[0].value, np.ndarray):
        return Outcome(False, "p.value must stay a numpy array")
    return Outcome(True)


EXERCISE = Exercise(
    name="sgd",
    title="SGD with weight decay",
    filename="sgd.py",
    own=("SGD",),
    library=("bprop.optim:SGD",),
    checks=(
        Check("plain step: value -= lr * grad", 3, _plain),
        Check("weight decay on weights", 3, _decay),
        Check("no decay on parameters with decay=False", 2, _bias),
        Check("three steps in a row match bprop.optim.SGD", 2, _several),
    ),
)
