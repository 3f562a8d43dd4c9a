"""Weight initialisers: each draws an ``(n_in, n_out)`` array from an rng.

Scales follow the usual fan-in/fan-out analysis: keep the variance of
activations (forward) and of gradients (backward) roughly constant from layer
to layer.

=================  =====================================  ============================
name               distribution                           scale
=================  =====================================  ============================
glorot_uniform     U(-a, a)                               a = sqrt(6 / (fan_in + fan_out))
glorot_normal      N(0, s^2)                              s = sqrt(2 / (fan_in + fan_out))
he_uniform         U(-a, a)                               a = sqrt(6 / fan_in)
he_normal          N(0, s^2)                              s = sqrt(2 / fan_in)
lecun_uniform      U(-a, a)                               a = sqrt(3 / fan_in)
lecun_normal       N(0, s^2)                              s = sqrt(1 / fan_in)
normal             N(0, std^2)                            std (default 0.01)
zeros              0
=================  =====================================  ============================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Initializer = Callable[[np.random.Generator, int, int], np.ndarray]


def _uniform(scale: Callable[[int, int], float]) -> Initializer:
    def init(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
        a = scale(n_in, n_out)
        return rng.uniform(-a, a, size=(n_in, n_out))

    return init


def _normal(scale: Callable[[int, int], float]) -> Initializer:
    def init(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
        return rng.normal(0.0, scale(n_in, n_out), size=(n_in, n_out))

    return init


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": _uniform(lambda i, o: np.sqrt(6.0 / (i + o))),
    "glorot_normal": _normal(lambda i, o: np.sqrt(2.0 / (i + o))),
    "he_uniform": _uniform(lambda i, o: np.sqrt(6.0 / i)),
    "he_normal": _normal(lambda i, o: np.sqrt(2.0 / i)),
    "lecun_uniform": _uniform(lambda i, o: np.sqrt(3.0 / i)),
    "lecun_normal": _normal(lambda i, o: np.sqrt(1.0 / i)),
    "zeros": lambda rng, i, o: np.zeros((i, o)),
}


def initialize(
    name: str, rng: np.random.Generator, n_in: int, n_out: int, *, std: float = 0.01
) -> np.ndarray:
    """Draw an ``(n_in, n_out)`` float64 weight matrix with initialiser ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not one of ``INITIALIZERS`` or ``"normal"``, or
        ``std <= 0``.
    """
    if name == "normal":
        if not std > 0:
            raise ValueError(f"std must be > 0 for init='normal', got {std}")
        return rng.normal(0.0, std, size=(n_in, n_out))
    if name not in INITIALIZERS:
        allowed = ", ".join(sorted([*INITIALIZERS, "normal"]))
        raise ValueError(f"unknown init {name!r}; allowed: {allowed}")
    return INITIALIZERS[name](rng, n_in, n_out)


def as_rng(rng: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed, a Generator (used as is) or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be an int seed, a numpy Generator or None, got {rng!r}")


def check_dtype(dtype: object) -> np.dtype:
    """Accept float32 or float64 (as a dtype, type or name)."""
    try:
        dt = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError as err:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}") from err
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt
