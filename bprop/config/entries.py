"""Config entries for registered classes: check them, then build them.

A layer, loss, optimizer or schedule in a config is a registry name, bare
(``ReLU``) or with arguments (``{type: Dropout, p: 0.2}``). The allowed
arguments are read from the class's constructor signature, so a layer added
to `bprop.registry` is configurable with no change here. Arguments the run
supplies itself are hidden: the input size ``n_in`` (inferred), ``dtype``
(``train.dtype``), ``rng`` (from ``seed``) and an optimizer's ``params``.
A Linear's ``n_out`` is written ``out``.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from .. import registry
from ..parameter import Parameter
from .fields import ConfigError, Field, check_mapping, join_path

__all__ = ["check_loss", "check_model", "check_optimizer", "check_schedule", "build_model"]

HIDDEN = {"self", "params", "rng", "dtype", "n_in", "layers"}
RENAMED = {"n_out": "out"}  # constructor name -> config name
_TYPES = {"int": int, "float": float, "bool": bool, "str": str}


def fields_of(cls: type) -> dict[str, Field]:
    """The config keys of a registered class, from its constructor signature."""
    fields: dict[str, Field] = {}
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name in HIDDEN or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = ... if p.default is p.empty else p.default
        kind = _TYPES.get(str(p.annotation).split(" ")[0].replace("'", ""))
        if kind is None:
            kind = type(default) if default not in (None, ...) else object
        if kind is int and isinstance(default, float):
            kind = float
        low = 1 if p.name == "n_out" else None
        # Linear's init names an initialiser; PReLU's init is a number
        choices = _init_names() if p.name == "init" and isinstance(default, str) else None
        fields[RENAMED.get(p.name, p.name)] = Field(kind, default, low=low, choices=choices,
                                                    nullable=default is None)
    return fields


def _init_names() -> tuple[str, ...]:
    from ..init import INITIALIZERS

    return (*INITIALIZERS, "normal")


def _entry(path: str, value: Any, kind: str, default: str | None = None) -> tuple[type, dict]:
    """Split ``name`` or ``{type: name, **args}`` into the class and its checked args."""
    if value is None and default is not None:
        value = default
    if isinstance(value, str):
        value = {"type": value}
    if isinstance(value, dict) and "type" not in value and default is not None:
        value = {"type": default, **value}  # `optimizer: {lr: 0.1}` means SGD
    if not isinstance(value, dict) or "type" not in value:
        article = "an" if kind[0] in "aeiou" else "a"
        raise ConfigError(path, f"must be {article} {kind} name or a mapping with 'type', "
                                f"got {value!r}")
    try:
        cls = registry.lookup(kind, value["type"])
    except ValueError as err:
        raise ConfigError(join_path(path, "type"), str(err)) from None
    args = {k: v for k, v in value.items() if k != "type"}
    return cls, check_mapping(path, args, fields_of(cls), what=cls.__name__)


def _construct(path: str, cls: type, *args: Any, **kwargs: Any) -> Any:
    """Build once so that the constructor's own range checks run at load time."""
    kwargs = {k if k != "out" else "n_out": v for k, v in kwargs.items()}
    try:
        return cls(*args, **kwargs)
    except (ValueError, TypeError) as err:
        msg = str(err).removeprefix(f"{cls.__name__}: ")
        # "lr must be > 0" belongs to optimizer.lr: name the key when the message does.
        first = msg.split(" ", 1)[0]
        if first in kwargs:
            raise ConfigError(join_path(path, RENAMED.get(first, first)), msg) from None
        raise ConfigError(path, f"{cls.__name__}: {msg}") from None


def check_model(value: Any, path: str = "model") -> list[str | dict[str, Any]]:
    """Check the layer list: one name, or ``{type: name, **args}`` mapping, per layer."""
    if not isinstance(value, list) or not value:
        raise ConfigError(path, f"must be a non-empty list of layers, got {value!r}")
    out = []
    for i, item in enumerate(value):
        where = join_path(path, i)
        cls, args = _entry(where, item, "layer")
        if cls is registry.lookup("layer", "Sequential"):
            raise ConfigError(join_path(where, "type"), "list the layers directly: the "
                                                        "model is already a Sequential")
        needs_in = "n_in" in inspect.signature(cls.__init__).parameters
        layer = _construct(where, cls, *([1] if needs_in else []), **args)
        # The layer's own get_config drops what does not apply (Linear's std
        # unless init is "normal"); hidden arguments stay hidden.
        shown = {RENAMED.get(k, k): v for k, v in layer.get_config().items() if k not in HIDDEN}
        shown = shown or args
        out.append({"type": cls.__name__, **shown} if shown else cls.__name__)
    return out


def check_loss(value: Any, path: str = "loss") -> str | dict[str, Any] | None:
    """A loss name (or mapping when it has arguments); None means "pick by task"."""
    if value is None:
        return None
    cls, args = _entry(path, value, "loss")
    _construct(path, cls, **args)
    return {"type": cls.__name__, **args} if args else cls.__name__


def check_optimizer(value: Any, path: str = "optimizer") -> dict[str, Any]:
    """Check an optimizer entry (default SGD) by building it on a dummy parameter."""
    cls, args = _entry(path, value, "optimizer", default="SGD")
    _construct(path, cls, [Parameter(np.zeros(1))], **args)
    return {"type": cls.__name__, **args}


def check_schedule(value: Any, *, epochs: int, path: str = "schedule") -> str | dict[str, Any]:
    """Check a schedule entry (default Constant); Cosine anneals over ``epochs``."""
    if isinstance(value, str):
        value = {"type": value}
    if isinstance(value, dict) and value.get("type") == "Cosine" and "epochs" not in value:
        value = {**value, "epochs": epochs}  # anneal over the whole run by default
    cls, args = _entry(path, value, "schedule", default="Constant")
    _construct(path, cls, **args)
    return {"type": cls.__name__, **args} if args else cls.__name__


def build(kind: str, spec: str | dict[str, Any], *args: Any, **extra: Any) -> Any:
    """Instantiate a checked entry; ``extra`` are the hidden arguments (params, rng, ...)."""
    spec = {"type": spec} if isinstance(spec, str) else dict(spec)
    cls = registry.lookup(kind, spec.pop("type"))
    return _construct(kind, cls, *args, **spec, **extra)


def build_model(layers: list[str | dict[str, Any]], n_in: int, *, dtype: str,
                seed_seq: np.random.SeedSequence) -> tuple[Any, int]:
    """The `Sequential` of ``layers`` for ``n_in`` input features, and its output size.

    Each layer that draws random numbers (Linear's initialiser, Dropout's masks)
    gets its own generator spawned from ``seed_seq``, so runs are reproducible.
    """
    from ..layers import Sequential

    built, dim = [], n_in
    for i, spec in enumerate(layers):
        spec = {"type": spec} if isinstance(spec, str) else dict(spec)
        cls = registry.lookup("layer", spec.pop("type"))
        params = inspect.signature(cls.__init__).parameters
        extra: dict[str, Any] = {}
        if "dtype" in params:
            extra["dtype"] = dtype
        if "rng" in params:
            extra["rng"] = np.random.default_rng(seed_seq.spawn(1)[0])
        args = [dim] if "n_in" in params else []
        layer = _construct(join_path("model", i), cls, *args, **spec, **extra)
        dim = layer.output_dim(dim)
        built.append(layer)
    return Sequential(*built), dim
