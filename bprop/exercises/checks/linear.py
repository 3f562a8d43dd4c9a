"""Checks of the Linear backward exercise."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ... import layers
from ...gradcheck import check_gradients
from ...losses import SquaredError
from ..spec import Check, Exercise, Outcome
from ._tools import RTOL, accumulation_outcome, compare, own_array, rel_error, seeded

TRANSPOSE = "W is not transposed: dx = dy @ W.T has x's shape (N, D_in)"


def _pair(mod: ModuleType, n_in: int, n_out: int, seed: int):
    """The student's layer and the library's, with the same weights, after one pass."""
    rng = seeded(seed)
    student = mod.Linear(n_in, n_out, rng=seed)
    student.weight.value = rng.normal(size=(n_in, n_out))
    student.bias.value = rng.normal(size=n_out)
    truth = layers.Linear(n_in, n_out)
    truth.weight.value[...] = student.weight.value
    truth.bias.value[...] = student.bias.value
    x, dy = rng.normal(size=(5, n_in)), rng.normal(size=(5, n_out))
    student.forward(x)
    truth.forward(x)
    return student, truth, x, dy


def _backward_for_grads(layer, dy: np.ndarray) -> None:
    """Run backward for its parameter gradients: a failure computing dx after
    setting them (a missing transpose, say) is graded by `_dx`, not here."""
    before, values = layer.weight.grad, np.array(layer.weight.grad, copy=True)
    try:
        layer.backward(dy)
    except Exception:
        after = layer.weight.grad
        untouched = after is before and np.array_equal(after, values)
        if untouched or not isinstance(after, np.ndarray):
            raise


def _dx(mod: ModuleType) -> Outcome:
    student, truth, x, dy = _pair(mod, 3, 4, seed=3)
    W = student.weight.value
    try:
        dx = own_array("dx", student.backward(dy))
    except ValueError as err:  # numpy's shape errors: most often a missing transpose
        square, _, _, dy_sq = _pair(mod, 4, 4, seed=3)
        try:
            dx_sq = own_array("dx", square.backward(dy_sq))
        except Exception:
            raise err from None
        if np.allclose(dx_sq, dy_sq @ square.weight.value):
            return Outcome(False, f"dx: {TRANSPOSE} (with a non-square W, dy @ W fails)")
        raise
    mistakes = {
        "dx is transposed: dx = dy @ W.T has x's shape (N, D_in)": W @ dy.T,
        "divided by N: dy already carries the loss's 1/N, so dx = dy @ W.T": dy @ W.T / len(x),
    }
    return compare("dx", dx, truth.backward(dy), mistakes)


def _dW(mod: ModuleType) -> Outcome:
    student, truth, x, dy = _pair(mod, 3, 4, seed=4)
    _backward_for_grads(student, dy)
    dW = own_array("weight.grad", student.weight.grad)
    truth.backward(dy)
    mistakes = {
        "dW is transposed: dW = x.T @ dy has W's shape (D_in, D_out)": dy.T @ x,
        "divided by N: dy already carries the loss's 1/N, so dW = x.T @ dy": x.T @ dy / len(x),
    }
    return compare("weight.grad", dW, truth.weight.grad, mistakes)


def _db(mod: ModuleType) -> Outcome:
    student, truth, x, dy = _pair(mod, 3, 4, seed=5)
    student.bias.grad = np.zeros(4)
    _backward_for_grads(student, dy)
    db = own_array("bias.grad", student.bias.grad)
    truth.backward(dy)
    if not db.any():
        return Outcome(False, "bias.grad is still 0: backward never set it; "
                              "db = dy.sum(axis=0), since b is added to every row")
    mistakes = {
        "db must be summed over the batch (axis 0): b is shared by all N rows": dy,
        "db summed over the wrong axis: sum over the batch, axis 0": dy.sum(axis=1),
        "divided by N: dy already carries the loss's 1/N, so db = dy.sum(axis=0)": dy.mean(0),
    }
    return compare("bias.grad", db, truth.bias.grad, mistakes)


def _sets_gradients(mod: ModuleType) -> Outcome:
    student, _, x, dy = _pair(mod, 3, 4, seed=6)
    _backward_for_grads(student, dy)
    first = [own_array(f"{p.name}.grad", p.grad) for p in (student.weight, student.bias)]
    student.forward(x.copy())
    _backward_for_grads(student, dy.copy())
    return accumulation_outcome([student.weight, student.bias], first)


def _gradcheck(mod: ModuleType) -> Outcome:
    student, truth, x, _ = _pair(mod, 3, 4, seed=7)
    # The checker differentiates the student's forward: it must be right first.
    y = own_array("forward's output", student.forward(x.copy()))
    expected = truth.forward(x)
    if y.shape != expected.shape or rel_error(y, expected) >= RTOL:
        return Outcome(False, "forward no longer computes x @ W + b (it is given in the "
                              "scaffold): the gradient checker differentiates your forward, "
                              "so it must be right first")
    rng = seeded(7)
    model = layers.Sequential(mod.Linear(3, 4, rng=7), layers.Tanh(), mod.Linear(4, 2, rng=8))
    x, target = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    report = check_gradients(model, SquaredError(), x, target)
    message = "" if report.ok else f"gradient check failed:\n{report}"
    return Outcome(report.ok, message, report.max_rel_error)


EXERCISE = Exercise(
    name="linear",
    title="Linear backward",
    filename="linear.py",
    own=("Linear",),
    library=("bprop.layers:Linear",),
    checks=(
        Check("dx matches bprop.layers.Linear", 3, _dx),
        Check("weight.grad matches bprop.layers.Linear", 3, _dW),
        Check("bias.grad matches bprop.layers.Linear", 1, _db),
        Check("backward sets gradients (no accumulation)", 1, _sets_gradients),
        Check("a Linear-Tanh-Linear stack passes the gradient checker", 2, _gradcheck),
    ),
)
