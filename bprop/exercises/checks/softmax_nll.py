"""Checks of the SoftmaxNLL forward and backward exercise."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ... import losses
from ...gradcheck import numerical_gradient
from ..spec import Check, Exercise, Outcome
from ._tools import compare, rel_error, seeded

FORGOT_1_OVER_N = (
    "forgot the 1/N: the loss is a mean over the batch, so dscores = (softmax - onehot) / N"
)


def _batch(seed: int, n: int = 6, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = seeded(seed)
    return rng.normal(size=(n, k)) * 2, rng.integers(0, k, size=n)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _forward(mod: ModuleType) -> Outcome:
    scores, labels = _batch(10)
    value = mod.SoftmaxNLL().forward(scores, labels)
    truth = losses.SoftmaxNLL().forward(scores, labels)
    p = _softmax(scores)[np.arange(len(labels)), labels]
    mistakes = {
        "returns the sum over the batch; the loss is the mean (divide by N)": truth * len(labels),
        "wrong sign: the loss is -log p, which is >= 0": -truth,
        "took -p instead of -log p of the right class": -p.mean(),
    }
    return compare("loss", value, np.float64(truth), mistakes)


def _stable(mod: ModuleType) -> Outcome:
    scores, labels = _batch(11)
    scores[: len(scores) // 2] += 1000.0  # exp(1000) overflows float64
    scores[len(scores) // 2 :] -= 1000.0
    value = mod.SoftmaxNLL().forward(scores, labels)
    truth = losses.SoftmaxNLL().forward(scores, labels)
    if not np.isfinite(value):
        return Outcome(False, "overflow: exp of large scores is inf; subtract each row's max first")
    return compare("loss on large scores", value, np.float64(truth), {})


def _backward(mod: ModuleType) -> Outcome:
    scores, labels = _batch(12)
    student = mod.SoftmaxNLL()
    student.forward(scores, labels)
    dz = student.backward()
    truth = losses.SoftmaxNLL()
    truth.forward(scores, labels)
    expected = truth.backward()
    p, n = _softmax(scores), len(labels)
    mistakes = {
        FORGOT_1_OVER_N: expected * n,
        "forgot to subtract the one-hot target: dscores = (softmax - onehot) / N": p / n,
        "forgot the one-hot target and the 1/N: dscores = (softmax - onehot) / N": p,
        "wrong sign: dscores = (softmax - onehot) / N": -expected,
    }
    return compare("dscores", dz, expected, mistakes)


def _gradcheck(mod: ModuleType) -> Outcome:
    scores, labels = _batch(13)
    student = mod.SoftmaxNLL()
    student.forward(scores.copy(), labels)
    dz = np.asarray(student.backward(), dtype=np.float64)
    truth = losses.SoftmaxNLL()
    numeric = numerical_gradient(lambda z: truth.forward(z, labels), scores)
    if dz.shape != numeric.shape:
        return Outcome(False, f"dscores has shape {dz.shape}, expected {numeric.shape}")
    err = rel_error(dz, numeric)
    if err > 1e-6:
        hint = f" ({FORGOT_1_OVER_N})" if rel_error(dz, numeric * len(labels)) < 1e-6 else ""
        return Outcome(False, f"backward disagrees with finite differences{hint}", err)
    return Outcome(True, "", err)


EXERCISE = Exercise(
    name="softmax_nll",
    title="SoftmaxNLL forward and backward",
    filename="softmax_nll.py",
    own=("SoftmaxNLL",),
    library=("bprop.losses:SoftmaxNLL",),
    checks=(
        Check("forward matches bprop.losses.SoftmaxNLL", 3, _forward),
        Check("forward is stable for scores of +-1000", 1, _stable),
        Check("backward matches bprop.losses.SoftmaxNLL", 4, _backward),
        Check("backward agrees with finite differences", 2, _gradcheck),
    ),
)
