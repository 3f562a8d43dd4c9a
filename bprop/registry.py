"""The one place where names become classes: layers, losses, optimizers, schedules.

Config files, the estimators' ``layers=`` argument and model files all look
classes up here, so a user-written layer registered once works everywhere.
"""

from __future__ import annotations

import difflib
from typing import Any

from . import layers, losses, optim
from .layers.base import Layer

LAYERS: dict[str, type] = {
    name: getattr(layers, name) for name in layers.__all__ if name != "Layer"
}
LOSSES: dict[str, type] = {name: getattr(losses, name) for name in losses.__all__ if name != "Loss"}
OPTIMIZERS: dict[str, type] = {"SGD": optim.SGD, "Adam": optim.Adam}
SCHEDULES: dict[str, type] = {
    name: getattr(optim, name)
    for name in ("Constant", "InverseScaling", "StepDecay", "Cosine", "ReduceOnPlateau")
}

_KINDS = {"layer": LAYERS, "loss": LOSSES, "optimizer": OPTIMIZERS, "schedule": SCHEDULES}


def lookup(kind: str, name: Any) -> type:
    """The class registered as ``name`` under ``kind`` ("layer", "loss", "optimizer", "schedule").

    Raises
    ------
    ValueError
        For an unknown name, with the closest match ("did you mean") and the
        allowed names.
    """
    table = _KINDS[kind]
    if isinstance(name, str) and name in table:
        return table[name]
    raise ValueError(unknown_name_message(kind, name, list(table)))


def unknown_name_message(kind: str, name: Any, allowed: list[str]) -> str:
    """``unknown layer 'Relu'; did you mean 'ReLU'? allowed: ...``"""
    message = f"unknown {kind} {name!r}"
    if isinstance(name, str):
        lowered = {a.lower(): a for a in allowed}
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        if close:
            message += f"; did you mean {lowered[close[0]]!r}?"
    return f"{message} (allowed: {', '.join(sorted(allowed))})"


def register_layer(cls: type) -> type:
    """Register a user-written `Layer` subclass by its class name (usable as a decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"register_layer expects a Layer subclass, got {cls!r}")
    LAYERS[cls.__name__] = cls
    return cls


def build_layer(config: dict[str, Any]) -> Layer:
    """A layer from ``{"type": name, **kwargs}`` (a Sequential's ``layers`` recursively)."""
    kwargs = dict(config)
    cls = lookup("layer", kwargs.pop("type", None))
    if cls is layers.Sequential:
        return layers.Sequential(*[build_layer(c) for c in kwargs.get("layers", [])])
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ValueError(f"bad arguments for layer {cls.__name__}: {err}") from err
