"""Checks of the SoftmaxNLL forward and backward exercise."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ... import layers, losses
from ...gradcheck import check_gradients
from ..spec import Check, Exercise, Outcome
from ._tools import compare, own_array, seeded

FORGOT_1_OVER_N = (
    "forgot the 1/N: the loss is a mean over the batch, so dscores = (softmax - onehot) / N"
)


def _batch(seed: int, n: int = 6, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = seeded(seed)
    return rng.normal(size=(n, k)) * 2, rng.integers(0, k, size=n)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _wrong_axis(z: np.ndarray) -> np.ndarray:
    """Softmax normalised down the columns (over the batch) instead of along each row."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


WRONG_AXIS = ("softmax normalised over the wrong axis: each row (one sample's K scores) "
              "must sum to 1, so take max and sum over axis=1 with keepdims=True")


def _forward(mod: ModuleType) -> Outcome:
    scores, labels = _batch(10)
    value = own_array("loss", mod.SoftmaxNLL().forward(scores.copy(), labels.copy()))
    truth = losses.SoftmaxNLL().forward(scores, labels)
    rows = np.arange(len(labels))
    p = _softmax(scores)[rows, labels]
    p_cols = _wrong_axis(scores)[rows, labels]
    mistakes = {
        "returns the sum over the batch; the loss is the mean (divide by N)": truth * len(labels),
        "wrong sign: the loss is -log p, which is >= 0": -truth,
        "took -p instead of -log p of the right class": -p.mean(),
        WRONG_AXIS: -np.log(p_cols).mean(),
        f"{WRONG_AXIS} (and the loss is the mean, not the sum)": -np.log(p_cols).sum(),
    }
    return compare("loss", value, np.float64(truth), mistakes)


def _stable(mod: ModuleType) -> Outcome:
    scores, labels = _batch(11)
    scores[: len(scores) // 2] += 1000.0  # exp(1000) overflows float64
    scores[len(scores) // 2 :] -= 1000.0
    value = own_array("loss", mod.SoftmaxNLL().forward(scores, labels))
    truth = losses.SoftmaxNLL().forward(scores, labels)
    if not np.isfinite(value):
        return Outcome(False, "overflow: exp of large scores is inf; subtract each row's max first")
    return compare("loss on large scores", value, np.float64(truth), {})


def _backward(mod: ModuleType) -> Outcome:
    scores, labels = _batch(12)
    student = mod.SoftmaxNLL()
    student.forward(scores.copy(), labels.copy())
    dz = own_array("dscores", student.backward())
    truth = losses.SoftmaxNLL()
    truth.forward(scores, labels)
    expected = truth.backward()
    p, n = _softmax(scores), len(labels)
    onehot = np.eye(p.shape[1])[labels]
    mistakes = {
        WRONG_AXIS: (_wrong_axis(scores) - onehot) / n,
        FORGOT_1_OVER_N: expected * n,
        "forgot to subtract the one-hot target: dscores = (softmax - onehot) / N": p / n,
        "forgot the one-hot target and the 1/N: dscores = (softmax - onehot) / N": p,
        "wrong sign: dscores = (softmax - onehot) / N": -expected,
    }
    return compare("dscores", dz, expected, mistakes)


class _StudentBackward:
    """The library's forward (the truth to differentiate) with the student's backward."""

    def __init__(self, student) -> None:
        self.student, self.truth = student, losses.SoftmaxNLL()

    def forward(self, scores: np.ndarray, labels: np.ndarray) -> float:
        self.student.forward(scores.copy(), labels.copy())
        return self.truth.forward(scores, labels)

    def backward(self) -> np.ndarray:
        return own_array("dscores", self.student.backward())


def _gradcheck(mod: ModuleType) -> Outcome:
    scores, labels = _batch(13)
    report = check_gradients(layers.Identity(), _StudentBackward(mod.SoftmaxNLL()), scores,
                             labels)
    if report.ok:
        return Outcome(True, "", report.max_rel_error)
    row = report.rows[0]
    hint = ""
    if np.isfinite(row.analytic) and np.isclose(row.analytic, row.numeric * len(labels)):
        hint = f" ({FORGOT_1_OVER_N})"
    return Outcome(False, f"backward disagrees with finite differences{hint}:\n{report}",
                   report.max_rel_error)


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
