"""Checks of the SGD-with-weight-decay exercise."""

from __future__ import annotations

from types import ModuleType

from ... import optim
from ...parameter import Parameter
from ..spec import Check, Exercise, Outcome
from ._tools import compare, own_array, seeded

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
    """Run the student's SGD, then the library's; return the student's values, both params.

    The student's steps all run before the library's, and their results are
    taken as private plain copies first: nothing the grader expects exists yet.
    """
    student = _params(seed)
    truth = _copy(student)
    before = _copy(student)
    rng = seeded(seed + 100)
    fresh = [[rng.normal(size=p.value.shape) for p in student] for _ in range(steps)]
    s_opt = mod.SGD(student, lr=LR, weight_decay=weight_decay)
    for grads in fresh:
        s_opt.step()
        for p, g in zip(student, grads, strict=True):  # fresh gradients for the next step
            p.grad = g.copy()
    values = [own_array(f"{p.name}.value", p.value) for p in student]
    t_opt = optim.SGD(truth, LR, weight_decay=weight_decay)
    for grads in fresh:
        t_opt.step()
        for p, g in zip(truth, grads, strict=True):
            p.grad = g.copy()
    return values, truth, before


def _plain(mod: ModuleType) -> Outcome:
    student, truth, before = _step(mod, 20, weight_decay=0.0)
    w, g = before[0].value, before[0].grad
    mistakes = {
        "wrong sign: step against the gradient, value -= lr * grad": w + LR * g,
        "forgot the learning rate: value -= lr * grad": w - g,
    }
    return compare("weight after one step (weight_decay=0)", student[0], truth[0].value,
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
    return compare("weight after one step with weight decay", student[0], truth[0].value,
                   mistakes)


def _bias(mod: ModuleType) -> Outcome:
    student, truth, before = _step(mod, 22, weight_decay=WD)
    b, g = before[1].value, before[1].grad
    mistakes = {"decayed a parameter whose .decay is False (a bias)": b - LR * (g + WD * b)}
    return compare("bias after one step", student[1], truth[1].value, mistakes)


def _several(mod: ModuleType) -> Outcome:
    student, truth, _ = _step(mod, 23, weight_decay=WD, steps=3)
    for s, t in zip(student, truth, strict=True):
        outcome = compare(f"{t.name} after three steps", s, t.value, {})
        if not outcome.passed:
            return outcome
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
