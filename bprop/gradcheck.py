"""Gradient checking: compare backward against central finite differences.

The numerical gradient of a scalar function f at x, entry by entry::

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2 h)

is accurate to O(h^2) in float64 and needs nothing but ``forward``: it is
the independent witness that a hand-written ``backward`` is right.

A verdict that holds at every weight scale needs three things that a fixed
threshold does not give (a correction to Caffe's ``max(|a|, |n|, 1)``, which is
an *absolute* error for gradients below 1 and so passes wrong code and fails
right code in small-weight networks):

1. A **relative** error, ``|a - n| / (|a| + |n|)`` (cs231n), so that a
   factor of 2 reads as 1/3 whether the gradient is 1 or 1e-9.
2. The finite differences' own **noise floor**. ``f`` is computed with
   rounding errors of size ``sigma_f``; dividing by the step turns them into
   ``sigma_f / h`` in the numerical gradient. `check_gradients` estimates
   ``sigma_f`` from the data (Moré and Wild's ECnoise: high-order differences
   of f along random directions cancel the smooth part and leave the noise),
   and only the part of ``|a - n|`` above that floor counts as error.
3. **Kinks found relative to the step.** ReLU-like functions have points
   without a derivative. A kink within ``h`` of x spoils the difference, so
   each entry is differenced at ``h`` and ``h/2``: for a smooth function the
   two agree to O(h^2) and the one-sided slopes differ by ``f'' h``, halving
   with the step; a kink breaks one or the other. The step is then cut by 10
   (up to five times) until it no longer reaches the kink; an entry that sits
   on a kink at every step is skipped and counted.
4. **What cannot be verified is not an error.** With tiny weights (std 1e-3
   and below, outside the range the checker is built for) pre-activations of
   1e-8 put kinks within every usable step, and a kink's effect can hide in
   the noise band of the small steps. An entry about to count as an error is
   looked at again with four sub-steps (h, h/2, h/4, h/8), which see kinks
   that two miss; and an entry whose step had to be cut, whose noise band is
   still above 1e-3 of its gradient and which disagrees beyond that band, is
   counted with the kinks ("cannot verify") rather than failed. A wrong
   backward still fails on the entries that can be verified: at std 0.01,
   0.05 and 1.0 (the tests) its error stays >= 0.1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .validation import check_int

if TYPE_CHECKING:  # annotations only: the checker needs nothing but the duck-typed methods
    # (forward, backward, parameters, buffers), so the maths stays below the layers
    from .layers.base import Layer
    from .losses.base import Loss

#: Allowed disagreement of the central differences at h and h/2, in noise floors
#: (their difference has a standard deviation of about 0.8 floors: a 12-sigma band).
C_BAND = 10.0
#: Allowed gap change ``|gap(h/2) - gap(h)/2|``, in noise floors (2.1 floors std).
GAP_BAND = 25.0
#: The part of ``|a - n|`` up to this many noise floors is not error: a kink can
#: hide in what the two tests above allow, at most their sum.
NOISE_BAND = C_BAND + GAP_BAND
#: After a step cut, a disagreement is put down to an unresolved kink (not an
#: error) when the noise band at the smaller step is above this fraction of the
#: gradient: the kink tests could not have seen a kink of the size that matters.
UNRESOLVED = 1e-3
#: Sub-steps (fractions of the step) of the second look at a disagreeing entry.
STRICT_STEPS = (1.0, 0.5, 0.25, 0.125)
#: Each entry's step is cut by 10 at most this many times to step past a kink.
STEP_CUTS = 5
_TINY = float(np.finfo(np.float64).tiny)
_EPS = float(np.finfo(np.float64).eps)


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f`` at ``x``.

    ``x`` is perturbed in place one entry at a time and restored exactly, so
    ``f`` may read it through any alias (a layer's weight array, say). The
    last call is ``f(x)``, so what ``f`` caches belongs to ``x``.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : ndarray of float64
        The point; any shape.
    eps : float, default=1e-6
        The step ``h``.

    Returns
    -------
    ndarray, shape of x
        ``(f(x + h e_i) - f(x - h e_i)) / (2 h)`` for every entry i.

    Examples
    --------
    >>> x = np.array([1.0, 2.0])
    >>> np.round(numerical_gradient(lambda a: float(np.sum(a ** 2)), x), 6)
    array([2., 4.])
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        f_plus, f_minus = _evaluate_pair(f, x, i, eps)
        grad[i] = (f_plus - f_minus) / (2 * eps)
    f(x)  # last at x itself: whatever f caches (a loss's softmax) belongs to x again
    return grad


def _evaluate_pair(f, x: np.ndarray, i: tuple, h: float) -> tuple[float, float]:
    """``f(x + h e_i)`` and ``f(x - h e_i)``; ``x[i]`` is restored exactly."""
    old = x[i]
    try:
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
    finally:
        x[i] = old
    return f_plus, f_minus


def estimate_noise(
    f: Callable[[], float], arrays: list[np.ndarray], *, directions: int = 3, seed: int = 0
) -> float:
    """The standard deviation of the rounding noise in ``f()``, estimated from the data.

    ECnoise (Moré and Wild, 2011): along a random direction ``p``, evaluate f
    at 9 points ``t = -4..4`` spaced ``delta`` apart. The 6th differences of
    those values cancel every polynomial of degree < 6 (the smooth part of f
    at such a tiny spacing) and leave a mix of the noise whose variance is
    ``12! / (6!)^2`` times the noise variance. The median over a few
    directions is taken at three spacings (relative 1e-6, 1e-9, 1e-12), and
    the smallest of those: the noise does not depend on the spacing, whereas
    a kink crossed by the points (a ReLU input at exactly 0 is crossed at
    any spacing) adds an amount proportional to it.

    Parameters
    ----------
    f : callable
        ``f() -> float``, reading ``arrays`` (which are perturbed in place
        and restored exactly).
    arrays : list of ndarray
        Every array f depends on (input and parameters).
    directions : int, default=3
        Random directions per spacing; their median resists one direction
        that happens to cross a kink.
    seed : int, default=0
        Seed of the directions, so that the estimate is repeatable.

    Returns
    -------
    float
        ``sigma_f``, at least half an ulp of ``f()`` (no computation of f can
        be more exact than its own representation).
    """
    rng = np.random.default_rng(seed)
    saved = [a.copy() for a in arrays]
    scales = [max(float(np.sqrt(np.mean(a * a))) if a.size else 0.0, 1e-3) for a in arrays]
    f0 = float(f())
    gamma = 1.0 / 924.0  # (6!)^2 / 12!
    per_spacing = []
    try:
        for relative in (1e-6, 1e-9, 1e-12):
            estimates = []
            for _ in range(directions):
                steps = [rng.standard_normal(a.shape) * relative * s
                         for a, s in zip(arrays, scales, strict=True)]
                values = []
                for t in range(-4, 5):
                    for a, base, step in zip(arrays, saved, steps, strict=True):
                        a[...] = base + t * step
                    values.append(float(f()))
                diffs = np.diff(np.array(values), n=6)
                estimates.append(float(np.sqrt(gamma * np.mean(diffs * diffs))))
            per_spacing.append(float(np.median(estimates)))
    finally:
        for a, base in zip(arrays, saved, strict=True):
            a[...] = base
    return max(min(per_spacing), 0.5 * _EPS * abs(f0))


@dataclass
class GradcheckRow:
    """One checked array (the input or a parameter).

    Attributes
    ----------
    name : str
    shape : tuple of int
    error : float
        Largest relative error over the checked entries:
        ``max(|a - n| - 35 * noise, 0) / (|a| + |n|)``.
    worst_index : tuple of int or None
        Where that error occurs.
    analytic, numeric : float
        Both gradients at ``worst_index`` (nan when nothing was checked).
    checked : int
        Entries compared.
    kinks : int
        Entries skipped because a kink stayed within the step at every step
        size, or could hide in the noise of the step that cleared it (cannot
        verify either way).
    noise : float
        Noise floor of the numerical gradient at the first step: ``sigma_f / h``.
    in_noise : int
        Checked entries where both gradients lie within the noise band (they
        agree, but only as well as the finite differences can tell).
    """

    name: str
    shape: tuple[int, ...]
    error: float
    worst_index: tuple[int, ...] | None
    analytic: float
    numeric: float
    checked: int
    kinks: int
    noise: float
    in_noise: int = 0

    @property
    def max_rel_error(self) -> float:
        """The same as ``error`` (the name `GradcheckReport` uses for the whole)."""
        return self.error

    @property
    def skipped(self) -> int:
        """The same as ``kinks``: entries not compared."""
        return self.kinks


@dataclass
class GradcheckReport:
    """The result of `check_gradients`; print it for a per-array table.

    Attributes
    ----------
    rows : list of GradcheckRow
    tol : float
        ``ok`` is every row's error ``<= tol``.
    noise_f : float
        Estimated rounding noise of the loss value (``sigma_f``).
    """

    rows: list[GradcheckRow] = field(default_factory=list)
    tol: float = 1e-6
    noise_f: float = 0.0

    @property
    def max_rel_error(self) -> float:
        """The largest error over all arrays."""
        return max((r.error for r in self.rows), default=0.0)

    @property
    def ok(self) -> bool:
        """Whether every array's error is ``<= tol`` (True for no rows)."""
        return bool(self.max_rel_error <= self.tol)

    @property
    def kinks(self) -> int:
        """Entries skipped over all arrays (on a kink, or unverifiable)."""
        return sum(r.kinks for r in self.rows)

    def failing(self) -> list[GradcheckRow]:
        """The rows whose error is above the tolerance.

        Returns
        -------
        list of GradcheckRow
            In the report's order (input first, then the parameters);
            empty when ``ok``.
        """
        return [r for r in self.rows if r.error > self.tol]

    def __str__(self) -> str:
        width = max([len(r.name) for r in self.rows] + [5])
        # The error column is the relative error *above the noise floor*: entries whose
        # analytic and numeric values differ only within the noise count as 0.
        head = (f"{'array':<{width}}  {'shape':<10} {'err>noise':>9}  {'worst at':<10} "
                f"{'analytic':>10} {'numeric':>10} {'checked':>7} {'kinks':>5} "
                f"{'noise':>7}  ok")
        lines = [head]
        for r in self.rows:
            where = "-" if r.worst_index is None else str(list(r.worst_index))
            mark = "yes" if r.error <= self.tol else "NO"
            note = f"  ({r.in_noise} within noise)" if r.in_noise else ""
            if r.checked == 0 and r.kinks:
                note += "  (every entry on a kink: not verified)"
            elif r.checked and r.in_noise == r.checked:
                note = "  (every entry within the noise: too small to verify)"
            lines.append(
                f"{r.name:<{width}}  {str(r.shape):<10} {r.error:>9.1e}  {where:<10} "
                f"{r.analytic:>10.3e} {r.numeric:>10.3e} {r.checked:>7} {r.kinks:>5} "
                f"{r.noise:>7.0e}  {mark}{note}"
            )
        verdict = "PASSED" if self.ok else "FAILED"
        lines.append(
            f"{verdict}: largest relative error {self.max_rel_error:.2e} beyond the noise "
            f"(tolerance {self.tol:.0e}); {self.kinks} entries on kinks skipped; "
            f"noise of the loss {self.noise_f:.1e}"
        )
        return "\n".join(lines)


def check_gradients(
    model: Layer,
    loss: Loss,
    x: Any,
    target: Any,
    *,
    eps: float = 1e-3,
    tol: float = 1e-6,
    max_entries: int = 300,
    seed: int = 0,
    weight_decay: float = 0.0,
) -> GradcheckReport:
    """Check ``model.backward`` (input and every parameter) against finite differences.

    Runs in float64 whatever the model's dtype (parameters are converted for
    the check and restored afterwards). For each entry with analytic gradient
    ``a`` and numerical gradient ``n`` the error is::

        max(|a - n| - 35 * noise, 0) / max(|a| + |n|, tiny)

    relative at every scale (a factor of 2 is 1/3, a missing factor 1/4 is
    0.6); ``noise = sigma_f / h`` is the numerical gradient's noise floor,
    from the estimated rounding noise ``sigma_f`` of the loss. Each entry is
    differenced at steps ``h`` and ``h/2`` starting from ``h = eps``; where
    the two disagree (a kink within the step, or curvature too strong for
    it) the step is cut by 10, up to 5 times; an entry still on a kink at
    ``eps * 1e-5`` is skipped and counted, and so is an entry that disagrees
    only where a kink could hide in the noise of the smaller step (tiny
    weights: it cannot be verified, which is not a failure; see the module
    docstring). Random layers (Dropout) replay
    the same mask on every forward (any ``numpy.random.Generator`` a layer
    holds is replayed, and numpy's global generator).

    Parameters
    ----------
    model : Layer
        Any layer, including a user-written subclass, or a Sequential.
    loss : Loss
        Reduces the model output to the scalar being differentiated.
    x : array-like, shape (N, D_in) or (N, ...)
        A small batch, as ``model.forward`` takes it (cast to float64).
    target : array-like, shape (N,) or (N, K)
        Its targets, as ``loss.forward`` takes them.
    eps : float, default=1e-3
        The first (largest) step.
    tol : float, default=1e-6
        ``report.ok`` is every array's error ``<= tol``.
    max_entries : int, default=300
        At most this many entries per array are checked (a seeded sample).
    seed : int, default=0
        Seed of that sample and of the noise estimate's directions.
    weight_decay : float, default=0.0
        ``lambda >= 0``: check the gradient of the regularised objective
        ``L + 0.5 * lambda * sum ||W||^2`` over the parameters with
        ``p.decay`` (weights, not biases), whose analytic gradient is
        ``p.grad + lambda * W``, as an optimiser's weight decay applies it.

    Returns
    -------
    GradcheckReport
        ``.ok``, ``.max_rel_error``, per-array ``.rows`` and a printable table.

    Raises
    ------
    ValueError
        If ``eps`` or ``tol`` is not positive, ``max_entries`` is not an
        integer >= 1, ``weight_decay`` is negative or not finite, or a
        gradient's shape differs from its array's.
    """
    if not eps > 0 or not tol > 0:
        raise ValueError(f"eps and tol must be > 0, got eps={eps}, tol={tol}")
    # checking no entry would report a wrong backward as PASSED
    check_int("max_entries", max_entries)
    if not (np.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay}")
    x = np.array(x, dtype=np.float64)
    params = model.parameters()
    saved = [(p.value, p.grad) for p in params]
    rngs = _generators(model)
    rng_states = [g.bit_generator.state for g in rngs]
    legacy_state = np.random.get_state()
    # every forward in training mode moves BatchNorm's running statistics: put them back after
    buffers = {name: b.copy() for name, b in model.buffers().items()}
    try:
        for p in params:
            p.value = np.array(p.value, dtype=np.float64)
            p.grad = np.zeros_like(p.value)
        decayed = [p for p in params if getattr(p, "decay", True)]

        def f(_: Any = None) -> float:
            # Random layers draw the same numbers on every forward: their own
            # generators and numpy's global one are replayed.
            for g, s in zip(rngs, rng_states, strict=True):
                g.bit_generator.state = s
            np.random.set_state(legacy_state)
            value = float(loss.forward(model.forward(x), target))
            if weight_decay:
                value += 0.5 * weight_decay * sum(float(np.sum(p.value * p.value))
                                                  for p in decayed)
            return value

        f()
        dx = model.backward(loss.backward())
        arrays = [("input", x, np.asarray(dx, dtype=np.float64))]
        arrays += [(n, p.value, np.array(p.grad, dtype=np.float64)
                    + (weight_decay * p.value if weight_decay and p.decay else 0.0))
                   for n, p in zip(_names(model), params, strict=True)]
        for name, value, analytic in arrays:
            if analytic.shape != value.shape:
                raise ValueError(
                    f"gradient of {name} has shape {analytic.shape}, expected {value.shape}: "
                    "backward must return/set arrays shaped like what they differentiate"
                )
        sigma_f = estimate_noise(f, [value for _, value, _ in arrays], seed=seed)
        report = GradcheckReport(tol=tol, noise_f=sigma_f)
        sampler = np.random.default_rng(seed)
        for name, value, analytic in arrays:
            report.rows.append(
                _check_array(f, name, value, analytic, eps, sigma_f, tol, max_entries, sampler)
            )
        f()  # the layers' and the loss's caches belong to x again
        return report
    finally:
        for p, (value, grad) in zip(params, saved, strict=True):
            p.value, p.grad = value, grad
        for name, b in model.buffers().items():
            b[...] = buffers[name]


def _generators(model: Layer) -> list[np.random.Generator]:
    """Every numpy Generator a layer or stack holds, whatever the attribute's name."""
    found: list[np.random.Generator] = []
    stack = [model]
    while stack:
        layer = stack.pop()
        stack.extend(getattr(layer, "layers", []))
        found += [v for v in vars(layer).values() if isinstance(v, np.random.Generator)]
    unique = {id(g): g for g in found}
    return list(unique.values())


def _check_array(f, name, value, analytic, eps, sigma_f, tol, max_entries, sampler):
    indices = list(np.ndindex(value.shape))
    if len(indices) > max_entries:
        chosen = sampler.choice(len(indices), size=max_entries, replace=False)
        indices = [indices[k] for k in sorted(chosen)]
    f0 = f()
    worst, worst_key, worst_at, worst_pair = 0.0, (0.0, -1.0), None, (np.nan, np.nan)
    kinks = in_noise = checked = 0
    for i in indices:
        a = float(analytic[i])
        found = _numeric_entry(f, value, i, f0, eps, sigma_f, tol)
        if found is None:
            kinks += 1
            continue
        n, noise, cut = found
        band = NOISE_BAND * noise
        if abs(a - n) > band + 0.5 * tol * (abs(a) + abs(n)):
            # About to be an error: look again with more sub-steps, which see kinks
            # that h and h/2 alone can miss (costs only on disagreeing entries).
            found = _numeric_entry(f, value, i, f0, eps, sigma_f, tol, STRICT_STEPS)
            if found is None:
                kinks += 1
                continue
            n, noise, cut = found
            band = NOISE_BAND * noise
        if cut and abs(a - n) > band and band > UNRESOLVED * (abs(a) + abs(n)):
            # A kink was seen at a larger step, and the smaller step that looks clean
            # is so noisy that a kink's effect can hide in what the tests allow (tiny
            # weights: pre-activations of 1e-8, steps of 1e-7): this entry cannot be
            # verified either way, so it counts with the kinks, not as an error.
            kinks += 1
            continue
        checked += 1
        if 0 < abs(a) + abs(n) <= band:  # (both exactly 0 is an exact match)
            in_noise += 1
        raw = abs(a - n) / max(abs(a) + abs(n), _TINY)
        err = max(abs(a - n) - band, 0.0) / max(abs(a) + abs(n), _TINY)
        # Ties (all within the noise band: error 0) show the largest raw
        # disagreement among entries above the noise, so the table names an
        # entry worth looking at.
        key = (err, raw if abs(a) + abs(n) > band else -1.0)
        if worst_at is None or key > worst_key:
            worst, worst_key, worst_at, worst_pair = err, key, i, (a, n)
    return GradcheckRow(name, value.shape, worst, worst_at, *worst_pair, checked, kinks,
                        sigma_f / (eps / 2), in_noise)


def _numeric_entry(f, value, i, f0, eps, sigma_f, tol, steps=(1.0, 0.5)):
    """(numerical gradient, its noise floor, step cut?) at entry i, or None on a kink.

    At each step size h, differences at ``h * s`` for consecutive ``s`` of
    ``steps`` (h and h/2 by default) must agree as a smooth function's do:
    equal central differences, and one-sided slopes whose gap halves with the
    step. ``tol`` of the gradient plus the noise is allowed. More sub-steps
    (``(1, 1/2, 1/4, 1/8)``) see kinks that two can miss: a single kink a third
    of the step away leaves the gap test blind, and several can cancel.
    """
    h = eps
    for cut in range(STEP_CUTS + 1):
        cs, gaps = [], []
        for s in steps:
            f_plus, f_minus = _evaluate_pair(f, value, i, h * s)
            cs.append((f_plus - f_minus) / (2 * h * s))
            gaps.append((f_plus - 2 * f0 + f_minus) / (h * s))  # ahead - behind: f'' h, or a kink
        c = cs[-1]
        noise = sigma_f / (h * steps[-1])
        # A quarter of tol each: whatever a kink may hide in what both tests allow
        # stays below tol / 2 of the gradient (plus the noise band).
        smooth = all(
            abs(cs[k] - cs[k + 1]) <= 0.25 * tol * abs(c) + C_BAND * noise
            and abs(gaps[k + 1] - gaps[k] * steps[k + 1] / steps[k])
            <= 0.25 * tol * abs(c) + GAP_BAND * noise
            for k in range(len(steps) - 1)
        )
        if smooth:
            return c, noise, cut > 0
        h /= 10
    return None


def _names(model: Layer) -> list[str]:
    layers = getattr(model, "layers", None)
    if layers is None:
        return [f"{type(model).__name__}.{p.name}" for p in model.parameters()]
    return [
        f"[{i}] {type(lay).__name__}.{p.name}"
        for i, lay in enumerate(layers)
        for p in lay.parameters()
    ]
