"""Checks of the Value gate (softplus) exercise."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType

from ...graph import Value
from ..spec import Check, Exercise, Outcome
from ._tools import own_float

POINTS = (-3.0, -0.5, 0.0, 0.8, 4.0)


def _softplus(x: float) -> float:
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


def _sigmoid(x: float) -> float:
    return 0.5 * (1.0 + math.tanh(0.5 * x))


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-9)


def _forward(mod: ModuleType) -> Outcome:
    for x in POINTS:
        v = Value(x)
        out = mod.softplus(v)
        if not isinstance(out, Value):
            return Outcome(False, f"softplus must return a Value, got {type(out).__name__}")
        structure = _one_node(mod, out, v)
        if structure:
            return Outcome(False, structure)
        data = own_float("softplus(x).data", out.data)
        if not _close(data, _softplus(x)):
            return Outcome(False, f"softplus({x:g}).data = {data:.6g}, "
                                  f"expected log(1 + e^x) = {_softplus(x):.6g}")
    return Outcome(True)


def _one_node(mod: ModuleType, out: Value, x: Value) -> str:
    """Why ``out`` is not ONE softplus node over ``x`` with the student's ``_backward``."""
    prev = tuple(out._prev)
    if len(prev) != 1 or prev[0] is not x:
        return ("softplus must be ONE node of the graph whose only input is x (out._prev == "
                "(x,)), with its own _backward; a composition of existing gates such as "
                "(x.exp() + 1).log() is not the gate asked for")
    code = getattr(out._backward, "__code__", None)
    own = getattr(mod, "__file__", None)
    if code is None or own is None or Path(code.co_filename).resolve() != Path(own).resolve():
        return ("softplus's out._backward must be a function written in the student's file "
                "(the gate's own backward), not one of Value's existing gates")
    return ""


def _local_gradient(mod: ModuleType) -> Outcome:
    """d softplus/dx with an upstream gradient of 3, one use of x."""
    for x in POINTS:
        v = Value(x)
        (3.0 * mod.softplus(v)).backward()
        grad = own_float("x.grad", v.grad)
        expected = 3.0 * _sigmoid(x)
        if _close(grad, expected):
            continue
        if _close(grad, _sigmoid(x)):
            message = "ignored the upstream gradient: multiply the local gradient by out.grad"
        elif _close(grad, 3.0 * math.exp(x)):
            message = "local gradient e^x is missing the division: d/dx log(1+e^x) = e^x/(1+e^x)"
        elif _close(grad, 3.0 * _sigmoid(-x)):
            message = "sign inside the sigmoid: the local gradient is 1 / (1 + e^-x)"
        elif grad == 0.0:
            message = "x.grad stayed 0: did out._backward get set, and does the node list x?"
        else:
            message = f"x.grad = {grad:.6g} at x = {x:g}, expected {expected:.6g}"
        return Outcome(False, message)
    return Outcome(True)


def _fork(mod: ModuleType) -> Outcome:
    """x feeds two softplus gates and a product: every use must add to x.grad."""
    x = 0.8
    v = Value(x)
    out = mod.softplus(v)
    # Probe the gate alone: with 5 already in x.grad (from another use of x),
    # its backward must add its share, not replace what is there.
    v.grad, out.grad = 5.0, 1.0
    out._backward()
    if _close(own_float("x.grad", v.grad), _sigmoid(x)):
        return Outcome(False, "x.grad is overwritten: gradients add up at forks, use x.grad += ...")
    v = Value(x)
    (mod.softplus(v) + mod.softplus(v) * 2.0 + v * 5.0).backward()
    grad = own_float("x.grad", v.grad)
    expected = 3.0 * _sigmoid(x) + 5.0
    if _close(grad, expected):
        return Outcome(True)
    message = f"with x used three times, x.grad = {grad:.6g}, expected {expected:.6g}"
    return Outcome(False, message)


def _finite_differences(mod: ModuleType) -> Outcome:
    worst = 0.0
    for x in POINTS:
        v = Value(x)
        mod.softplus(v).backward()
        grad = own_float("x.grad", v.grad)
        eps = 1e-6
        numeric = (own_float("softplus(x).data", mod.softplus(Value(x + eps)).data)
                   - own_float("softplus(x).data", mod.softplus(Value(x - eps)).data)) / (2 * eps)
        # The gradient checker's relative measure (softplus' is 0.05 to 1 here).
        worst = max(worst, abs(grad - numeric) / max(abs(grad) + abs(numeric), 1e-300))
    ok = worst < 1e-6
    return Outcome(ok, "" if ok else "backward disagrees with finite differences of forward",
                   worst)


def _as_one_node(run):
    """``run`` after checking that softplus is one node: a composition scores nothing."""
    def checked(mod: ModuleType) -> Outcome:
        v = Value(0.5)
        out = mod.softplus(v)
        if isinstance(out, Value):
            structure = _one_node(mod, out, v)
            if structure:
                return Outcome(False, structure)
        return run(mod)

    return checked


EXERCISE = Exercise(
    name="value_gate",
    title="A Value gate: softplus",
    filename="value_gate.py",
    own=("softplus",),
    library=(),
    checks=(
        Check("forward: log(1 + e^x)", 2, _as_one_node(_forward)),
        Check("backward: local gradient x upstream gradient", 4, _as_one_node(_local_gradient)),
        Check("gradients add up at forks", 3, _as_one_node(_fork)),
        Check("backward agrees with finite differences", 1, _as_one_node(_finite_differences)),
    ),
)
