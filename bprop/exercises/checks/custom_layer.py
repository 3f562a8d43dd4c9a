"""Checks of the custom-layer exercise: any layer the student designs."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ... import layers
from ...gradcheck import check_gradients
from ...losses import SquaredError
from ..spec import Check, Exercise, Outcome
from ._tools import accumulation_outcome, generators, own_array, seeded

N_FEATURES = 4


def _forward(mod: ModuleType) -> Outcome:
    layer = mod.MyLayer(N_FEATURES)
    if not isinstance(layer, layers.Layer):
        return Outcome(False, "MyLayer must subclass bprop.layers.Layer")
    x = seeded(30).normal(size=(5, N_FEATURES))
    given = x.copy()
    y = own_array("forward's output", layer.forward(given))
    if not np.array_equal(given, x):
        return Outcome(False, "forward changed its input x in place (x *= ..., x[...] = ...): "
                              "the caller still needs x; compute a new array for y")
    if not isinstance(y, np.ndarray) or y.dtype.kind != "f":
        return Outcome(False, f"forward must return a float ndarray, got {type(y).__name__}")
    if y.ndim != 2 or y.shape[0] != len(x):
        return Outcome(False, f"forward returned shape {y.shape}; expected (5, D_out)")
    if y.shape == x.shape and np.allclose(y, x):
        return Outcome(False, "forward returns its input unchanged: design a layer that does "
                              "something")
    if not np.all(np.isfinite(y)):
        return Outcome(False, "forward returned nan or inf")
    return Outcome(True)


def _gradcheck(mod: ModuleType) -> Outcome:
    if not _forward(mod).passed:  # an identity layer passes trivially: not worth the points
        return Outcome(False, "fix forward first: " + _forward(mod).message)
    rng = seeded(31)
    model = layers.Sequential(layers.Linear(3, N_FEATURES, rng=rng), mod.MyLayer(N_FEATURES))
    x = rng.normal(size=(5, 3))
    out = model.forward(x)
    target = rng.normal(size=out.shape)
    report = check_gradients(model, SquaredError(), x, target)
    message = "" if report.ok else f"gradient check failed:\n{report}"
    return Outcome(report.ok, message, report.max_rel_error)


def _sets_gradients(mod: ModuleType) -> Outcome:
    layer = mod.MyLayer(N_FEATURES)
    params = layer.parameters()
    if not params:
        return Outcome(True, "no parameters: nothing to accumulate")
    rng = seeded(32)
    x = rng.normal(size=(5, N_FEATURES))
    # A layer may draw noise from its own generator: both passes replay the same draws.
    states = [g.bit_generator.state for g in generators(layer)]
    legacy = np.random.get_state()
    dy = rng.normal(size=layer.forward(x.copy()).shape)
    layer.backward(dy.copy())
    first = [own_array(f"{p.name}.grad", p.grad) for p in params]
    for g, state in zip(generators(layer), states, strict=False):
        g.bit_generator.state = state
    np.random.set_state(legacy)
    layer.forward(x.copy())
    layer.backward(dy.copy())
    return accumulation_outcome(params, first)


EXERCISE = Exercise(
    name="custom_layer",
    title="A layer of your own",
    filename="custom_layer.py",
    own=("MyLayer",),
    library=("registry:layer",),
    checks=(
        Check("forward returns a new (N, D_out) float array", 2, _forward),
        Check("Linear + MyLayer passes the gradient checker", 6, _gradcheck),
        Check("backward sets parameter gradients (no accumulation)", 2, _sets_gradients),
    ),
)
