"""The one place where names become classes: layers, losses, optimizers, schedules, callbacks.

Each class registers itself on the line above its definition (Caffe's
``REGISTER_LAYER_CLASS``, tinygrad's ``register``)::

    @register("layer", aliases=("relu",))
    class ReLU(Layer): ...

Config files, the estimators' ``layers=`` and ``activation=`` arguments and
model files all look classes up here, so a class a user registers once works
everywhere. scikit-learn's activation names (``relu``, ``logistic``, ``tanh``,
``identity``) are aliases of the layers they name.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, TypeVar

KINDS = ("layer", "loss", "optimizer", "schedule", "callback")

_TABLES: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}
_ALIASES: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}

T = TypeVar("T", bound=type)


def register(
    kind: str, name: str | None = None, *, aliases: tuple[str, ...] = ()
) -> Callable[[T], T]:
    """A class decorator: make ``cls`` available under ``name`` (default: its class name).

    Parameters
    ----------
    kind : {"layer", "loss", "optimizer", "schedule", "callback"}
    name : str, optional
        The name used in configs and model files; the class name by default.
    aliases : tuple of str
        Other names for the same class (scikit-learn's ``"relu"`` for `ReLU`).

    Returns
    -------
    callable
        The decorator; it returns the class unchanged.

    Raises
    ------
    ValueError
        For an unknown ``kind``, or a decorated object that is not a class.

    Examples
    --------
    >>> from bprop.layers import Layer
    >>> @register("layer")
    ... class Square(Layer):
    ...     def forward(self, x):
    ...         self._x = x
    ...         return x * x
    ...     def backward(self, dy):
    ...         return 2 * self._x * dy
    >>> lookup("layer", "Square") is Square
    True
    """
    _check_kind(kind)

    def decorate(cls: T) -> T:
        if not isinstance(cls, type):
            raise ValueError(f"register({kind!r}) decorates a class, got {cls!r}")
        _TABLES[kind][name or cls.__name__] = cls
        for alias in aliases:
            _ALIASES[kind][alias] = name or cls.__name__
        return cls

    return decorate


def lookup(kind: str, name: Any) -> type:
    """The class registered as ``name`` (or an alias of it) under ``kind``.

    Raises
    ------
    ValueError
        For an unknown name, with the closest match ("did you mean") and the
        allowed names.
    """
    _check_kind(kind)
    if isinstance(name, str):
        name = _ALIASES[kind].get(name, name)
        if name in _TABLES[kind]:
            return _TABLES[kind][name]
    raise ValueError(unknown_name_message(kind, name, names(kind)))


def names(kind: str, *, aliases: bool = False) -> list[str]:
    """The registered names of ``kind`` in registration order (with aliases if asked)."""
    _check_kind(kind)
    return [*_TABLES[kind], *(_ALIASES[kind] if aliases else ())]


def table(kind: str) -> dict[str, type]:
    """A copy of the ``name -> class`` table of ``kind`` (aliases not included)."""
    _check_kind(kind)
    return dict(_TABLES[kind])


def unknown_name_message(kind: str, name: Any, allowed: list[str]) -> str:
    """``unknown layer 'Relu'; did you mean 'ReLU'? (allowed: ...)``"""
    hint = did_you_mean(name, allowed)
    return f"unknown {kind} {name!r}{hint} (allowed: {', '.join(sorted(allowed))})"


def did_you_mean(word: Any, choices: list[str] | tuple[str, ...]) -> str:
    """``"; did you mean 'ReLU'?"`` for the closest of ``choices`` (case-insensitive), or ``""``."""
    if not isinstance(word, str):
        return ""
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""


def register_layer(cls: type) -> type:
    """Register a user-written `Layer` subclass by its class name (usable as a decorator).

    Raises
    ------
    ValueError
        If ``cls`` is not a subclass of `bprop.layers.Layer`.
    """
    from .layers.base import Layer

    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"register_layer expects a Layer subclass, got {cls!r}")
    return register("layer")(cls)


def build_layer(config: dict[str, Any]) -> Any:
    """A layer from ``{"type": name, **kwargs}`` (a Sequential's ``layers`` recursively)."""
    kwargs = dict(config)
    cls = lookup("layer", kwargs.pop("type", None))
    if "layers" in kwargs and cls.__name__ == "Sequential":
        return cls(*[build_layer(c) for c in kwargs.pop("layers")])
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ValueError(f"bad arguments for layer {cls.__name__}: {err}") from err


def _check_kind(kind: str) -> None:
    if kind not in _TABLES:
        raise ValueError(f"unknown registry kind {kind!r} (allowed: {', '.join(KINDS)})")
