"""Gradient checking: compare backward against central finite differences.

The numerical gradient of a scalar function f at x, entry by entry::

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

is accurate to O(eps^2) in float64, and needs nothing but ``forward``: it is
the independent witness that a hand-written ``backward`` is right.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .layers.base import Layer, layer_rngs
from .losses.base import Loss


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f`` at ``x``.

    ``x`` is perturbed in place one entry at a time and restored exactly, so
    ``f`` may read it through any alias (a layer's weight array, say).

    Examples
    --------
    >>> x = np.array([1.0, 2.0])
    >>> np.round(numerical_gradient(lambda a: float(np.sum(a ** 2)), x), 6)
    array([2., 4.])
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        grad[i] = _central_difference(f, x, i, eps)[0]
    return grad


def _central_difference(f: Callable[[np.ndarray], float], x: np.ndarray, i: tuple, eps: float):
    """(central, forward, backward) difference quotients at entry i."""
    old = x[i]
    x[i] = old + eps
    f_plus = f(x)
    x[i] = old - eps
    f_minus = f(x)
    x[i] = old
    f_0 = f(x)
    return (f_plus - f_minus) / (2 * eps), (f_plus - f_0) / eps, (f_0 - f_minus) / eps


@dataclass
class GradcheckRow:
    """One checked array: the input or a parameter."""

    name: str
    shape: tuple[int, ...]
    max_rel_error: float
    checked: int
    skipped: int


@dataclass
class GradcheckReport:
    """The result of `check_gradients`; print it for a per-parameter table."""

    rows: list[GradcheckRow] = field(default_factory=list)
    tol: float = 1e-6

    @property
    def max_rel_error(self) -> float:
        return max((r.max_rel_error for r in self.rows), default=0.0)

    @property
    def ok(self) -> bool:
        return self.max_rel_error <= self.tol

    def __str__(self) -> str:
        width = max([len(r.name) for r in self.rows] + [9])
        lines = [f"{'array':<{width}}  {'shape':<12} {'max rel err':>11} {'checked':>8}  ok"]
        for r in self.rows:
            mark = "yes" if r.max_rel_error <= self.tol else "NO"
            kinks = f"  ({r.skipped} at kinks skipped)" if r.skipped else ""
            lines.append(
                f"{r.name:<{width}}  {str(r.shape):<12} {r.max_rel_error:>11.2e} "
                f"{r.checked:>8}  {mark}{kinks}"
            )
        verdict = "PASSED" if self.ok else "FAILED"
        lines.append(
            f"{verdict}: max relative error {self.max_rel_error:.2e} (tolerance {self.tol:.0e})"
        )
        return "\n".join(lines)


def check_gradients(
    model: Layer,
    loss: Loss,
    x: Any,
    target: Any,
    *,
    eps: float = 1e-6,
    tol: float = 1e-6,
    max_entries: int = 300,
    seed: int = 0,
) -> GradcheckReport:
    """Check ``model.backward`` (input and every parameter) against finite differences.

    Runs in float64 whatever the model's dtype (parameters are converted for
    the check and restored afterwards). The relative error of each entry is
    ``|a - n| / max(|a|, |n|, 1)`` (Caffe's scale: absolute for small
    gradients). Entries where the function has a kink within ``eps`` (one-sided
    differences disagree, e.g. a ReLU input at 0) are skipped and counted.
    Random layers (Dropout) replay the same mask on every forward.

    Parameters
    ----------
    model : Layer
        Any layer, including a user-written subclass, or a Sequential.
    loss : Loss
        Reduces the model output to the scalar being differentiated.
    x, target : array-like
        A small batch and its targets.
    eps : float, default=1e-6
    tol : float, default=1e-6
        ``report.ok`` is ``max_rel_error <= tol``.
    max_entries : int, default=300
        At most this many entries per array are checked (a seeded sample).
    seed : int, default=0
        Seed of that sample.

    Returns
    -------
    GradcheckReport
        ``.max_rel_error``, ``.ok`` and a printable table.
    """
    x = np.array(x, dtype=np.float64)
    params = model.parameters()
    saved = [(p.value, p.grad) for p in params]
    rng_states = [g.bit_generator.state for g in layer_rngs(model)]
    # every forward in training mode moves BatchNorm's running statistics: put them back after
    buffers = {name: b.copy() for name, b in model.buffers().items()}
    try:
        for p in params:
            p.value = p.value.astype(np.float64)
            p.grad = np.zeros_like(p.value)

        def f(_: np.ndarray) -> float:
            for g, s in zip(layer_rngs(model), rng_states, strict=True):
                g.bit_generator.state = s
            return loss.forward(model.forward(x), target)

        f(x)
        dx = model.backward(loss.backward())
        arrays = [("input", x, np.asarray(dx))]
        arrays += [(n, p.value, p.grad.copy()) for n, p in zip(_names(model), params, strict=True)]
        report = GradcheckReport(tol=tol)
        sampler = np.random.default_rng(seed)
        for name, value, analytic in arrays:
            report.rows.append(_check_array(f, name, value, analytic, eps, max_entries, sampler))
        return report
    finally:
        for p, (value, grad) in zip(params, saved, strict=True):
            p.value, p.grad = value, grad
        for name, b in model.buffers().items():
            b[...] = buffers[name]


def _check_array(f, name, value, analytic, eps, max_entries, sampler) -> GradcheckRow:
    if analytic.shape != value.shape:
        raise ValueError(
            f"gradient of {name} has shape {analytic.shape}, expected {value.shape}: "
            "backward must return/set arrays shaped like what they differentiate"
        )
    indices = list(np.ndindex(value.shape))
    if len(indices) > max_entries:
        chosen = sampler.choice(len(indices), size=max_entries, replace=False)
        indices = [indices[k] for k in sorted(chosen)]
    worst, skipped = 0.0, 0
    for i in indices:
        central, ahead, behind = _central_difference(f, value, i, eps)
        if abs(ahead - behind) > 1e-2 * max(abs(ahead), abs(behind), 1.0):
            skipped += 1  # a kink between x - eps and x + eps: no derivative to compare
            continue
        a = float(analytic[i])
        worst = max(worst, abs(a - central) / max(abs(a), abs(central), 1.0))
    return GradcheckRow(name, value.shape, worst, len(indices) - skipped, skipped)


def _names(model: Layer) -> list[str]:
    layers = getattr(model, "layers", None)
    if layers is None:
        return [f"{type(model).__name__}.{p.name}" for p in model.parameters()]
    return [
        f"[{i}] {type(lay).__name__}.{p.name}"
        for i, lay in enumerate(layers)
        for p in lay.parameters()
    ]
