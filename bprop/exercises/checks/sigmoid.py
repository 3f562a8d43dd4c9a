"""Checks of the Sigmoid backward exercise."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ... import layers
from ...gradcheck import check_gradients
from ...losses import SquaredError
from ..spec import Check, Exercise, Outcome
from ._tools import compare, seeded


def _values(mod: ModuleType) -> Outcome:
    rng = seeded(1)
    x, dy = rng.normal(size=(4, 5)) * 2, rng.normal(size=(4, 5))
    student = mod.Sigmoid()
    y_out = student.forward(x.copy())
    y_seen = np.array(y_out, dtype=np.float64, copy=True)
    dx = student.backward(dy.copy())
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
    if isinstance(y_out, np.ndarray) and not np.array_equal(y_out, y_seen):
        return Outcome(False, "backward changed the cached output y in place (y *= ... or "
                              "y -= ...): that is the array forward returned, which the next "
                              "layer still holds; compute a new array, dx = dy * y * (1 - y)")
    again = student.backward(dy.copy())
    return compare("dx of a second backward after the same forward", again, truth.backward(dy),
                   {})


def _gradcheck(mod: ModuleType) -> Outcome:
    rng = seeded(2)
    x, target = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    report = check_gradients(mod.Sigmoid(), SquaredError(), x, target)
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
