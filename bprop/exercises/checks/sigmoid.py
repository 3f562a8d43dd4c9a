"""Checks of the Sigmoid backward exercise."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ... import layers
from ...gradcheck import check_gradients
from ...losses import SquaredError
from ..spec import Check, Exercise, Outcome
from ._tools import RTOL, compare, own_array, rel_error, seeded


def _values(mod: ModuleType) -> Outcome:
    rng = seeded(1)
    x, dy = rng.normal(size=(4, 5)) * 2, rng.normal(size=(4, 5))
    # Everything the student's code returns is taken (as a private plain copy)
    # before the grader computes what it expects: nothing to peek at on the stack.
    student = mod.Sigmoid()
    y_out = student.forward(x.copy())
    y_seen = own_array("forward's output y", y_out)
    dx = own_array("dx", student.backward(dy.copy()))
    in_place = not np.array_equal(y_out, y_seen)
    again = own_array("dx of a second backward", student.backward(dy.copy()))
    truth = layers.Sigmoid()
    y = truth.forward(x)
    s = 1.0 / (1.0 + np.exp(-y))
    mistakes = {
        "missing the sigmoid derivative factor y * (1 - y): dx = dy * y * (1 - y)": dy,
        "missing the factor (1 - y): sigma'(x) = y * (1 - y)": dy * y,
        "missing the factor y: sigma'(x) = y * (1 - y)": dy * (1 - y),
        "used the input x instead of the output y in y * (1 - y)": dy * x * (1 - x),
        "applied sigma' to the output y: y already is sigma(x), so use y * (1 - y)":
            dy * s * (1 - s),
        "wrong sign: sigma'(x) = y * (1 - y) is positive": -truth.backward(dy),
    }
    outcome = compare("dx", dx, truth.backward(dy), mistakes)
    if not outcome.passed:
        return outcome
    # Right once is not enough: a backward that writes into its cache (y *= 1 - y)
    # changes the output forward returned, and a second backward goes wrong.
    if in_place:
        return Outcome(False, "backward changed the cached output y in place (y *= ... or "
                              "y -= ...): that is the array forward returned, which the next "
                              "layer still holds; compute a new array, dx = dy * y * (1 - y)")
    return compare("dx of a second backward after the same forward", again, truth.backward(dy),
                   {})


def _gradcheck(mod: ModuleType) -> Outcome:
    rng = seeded(2)
    x, target = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    student = mod.Sigmoid()
    # The checker differentiates the student's forward: a wrong forward with a
    # matching backward (the identity for both, say) must not pass it.
    y = own_array("forward's output y", student.forward(x.copy()))
    truth = layers.Sigmoid().forward(x)
    if y.shape != truth.shape or rel_error(y, truth) >= RTOL:
        return Outcome(False, "forward no longer computes sigma(x) = 1 / (1 + exp(-x)) (it is "
                              "given in the scaffold): the gradient checker differentiates "
                              "your forward, so it must be right first")
    report = check_gradients(student, SquaredError(), x, target)
    message = "" if report.ok else f"gradient check failed:\n{report}"
    return Outcome(report.ok, message, report.max_rel_error)


EXERCISE = Exercise(
    name="sigmoid",
    title="Sigmoid backward",
    filename="sigmoid.py",
    own=("Sigmoid",),
    library=("bprop.layers:Sigmoid",),
    checks=(
        Check("dx matches bprop.layers.Sigmoid", 6, _values),
        Check("passes the gradient checker", 4, _gradcheck),
    ),
)
