"""Config entries for registered classes: check them without building, then build them.

A layer, loss, optimizer or schedule in a config is a registry name, bare
(``ReLU``) or with arguments (``{type: Dropout, p: 0.2}``). Each class
declares what a config may set: the constructor's signature gives the keys,
types and defaults, and the class's ``config_fields`` adds ranges and choices
(see `bprop.registry`), so a class added to the registry is configurable
with no change here, and checking a config never instantiates anything.
Arguments the run supplies itself are hidden: the input size ``n_in``
(inferred), ``dtype`` (``train.dtype``), ``rng`` (from ``seed``) and an
optimizer's ``params``. A Linear's ``n_out`` is written ``out``.

What only a constructor can tell (a check across several arguments of a
user's class) still surfaces before training: `build` reports it with the
key path.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from dataclasses import replace
from typing import Any

import numpy as np

from .. import registry
from ..layers.sequential import Sequential, layer_config
from .fields import ConfigError, Field, check_mapping, join_path, short

__all__ = ["build", "build_model", "check_callbacks", "check_loss", "check_model",
           "check_optimizer", "check_schedule", "fields_of"]

HIDDEN = {"params", "rng", "dtype", "n_in", "layers"}
RENAMED = {"n_out": "out"}  # constructor name -> config name
_ORIGINAL = {v: k for k, v in RENAMED.items()}


@functools.cache
def fields_of(cls: type) -> dict[str, Field]:
    """The config keys of a registered class.

    Parameters
    ----------
    cls : type
        A registered class.

    Returns
    -------
    dict of str to Field
        By config name, in the signature's order: the type from the
        annotation (resolved as `typing.get_type_hints` does, so a module
        with or without ``from __future__ import annotations`` reads the
        same; ``int``, ``float``, ``bool``, ``str``, ``Literal[...]``,
        ``list[...]``, ``tuple[...]``, ``X | None``; else the default's type),
        the default (``...`` when required), narrowed by the ``config_fields``
        of ``cls`` and its bases.

    Raises
    ------
    ValueError
        If a ``config_fields`` entry cannot be read.
    """
    declared: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        declared.update(vars(base).get("config_fields", {}))
    hints = _hints(cls.__init__)
    fields: dict[str, Field] = {}
    for name, p in registry.arguments(cls).items():
        if name in HIDDEN or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = ... if p.default is p.empty else p.default
        key = RENAMED.get(name, name)
        field = _field(hints.get(name, p.empty), default, key)
        fields[key] = field.constrained(declared.get(name))
    return fields


def takes_any_key(cls: type) -> bool:
    """Whether the constructor of ``cls`` takes ``**kwargs`` (a config may set any key).

    Parameters
    ----------
    cls : type

    Returns
    -------
    bool
    """
    if cls.__init__ is object.__init__:  # no constructor of its own: (*args, **kwargs) takes none
        return False
    return any(p.kind is p.VAR_KEYWORD for p in registry.arguments(cls).values())


def _hints(function: Any) -> dict[str, Any]:
    """The annotations of ``function`` as objects, strings (PEP 563) evaluated.

    `typing.get_type_hints` evaluates them all at once; when one cannot be
    evaluated (a name imported only for type checkers), each of the others
    is evaluated alone and that one is left out (any value).
    """
    try:
        return typing.get_type_hints(function)
    except Exception:  # an annotation that names something not importable at run time
        pass
    namespace = getattr(inspect.getmodule(function), "__dict__", {})
    hints = {}
    for name, annotation in getattr(function, "__annotations__", {}).items():
        try:
            hints[name] = (eval(annotation, namespace) if isinstance(annotation, str)  # noqa: S307
                           else annotation)
        except Exception:  # as above: this one annotation says nothing a config can use
            continue
    return hints


_SCALARS = (bool, int, float, str)


def _field(annotation: Any, default: Any, key: str) -> Field:
    """The `Field` an annotation and a default describe."""
    nullable = default is None
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        nullable = nullable or type(None) in args
        members = [a for a in args if a is not type(None)]
        known = [a for a in members if a in _SCALARS or typing.get_origin(a) is not None]
        annotation = known[0] if known else (members[0] if len(members) == 1 else object)
        alt = tuple(a for a in known[1:] if a in _SCALARS)
        return replace(_field(annotation, default, key), nullable=nullable, alt=alt)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        kinds = {type(a) for a in args}
        kind = kinds.pop() if len(kinds) == 1 else object
        return Field(kind, default, choices=args, nullable=nullable, label=key)
    if origin in (list, tuple) or annotation in (list, tuple):
        item, length = None, None
        if origin is tuple and args and args[-1] is not Ellipsis:
            length = len(args)
            args = args if len(set(args)) == 1 else ()
        item = args[0] if args and args[0] in _SCALARS else None
        return Field(origin or annotation, default, nullable=nullable, item=item,
                     length=length, label=key)
    kind = annotation if annotation in _SCALARS else object
    if annotation is inspect.Parameter.empty and type(default) in _SCALARS:
        kind = type(default)  # no annotation: the default's type
    if kind is int and isinstance(default, float):
        kind = float
    return Field(kind, default, nullable=nullable, label=key)


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
                                f"got {short(value)}")
    try:
        cls = registry.lookup(kind, value["type"])
    except ValueError as err:
        hint = ("; a class of your own: list the module that registers it under imports: "
                "(or run bprop --import MODULE)")
        raise ConfigError(join_path(path, "type"), f"{err}{hint}") from None
    args = {k: v for k, v in value.items() if k != "type"}
    return cls, check_mapping(path, args, fields_of(cls), what=cls.__name__,
                              extra=takes_any_key(cls))


def _spec(cls: type, args: dict[str, Any], kind: str) -> str | dict[str, Any]:
    name = registry.name_of(kind, cls)
    return {"type": name, **args} if args else name


def check_model(value: Any, path: str = "model") -> list[str | dict[str, Any]]:
    """Check the layer list: one name, or ``{type: name, **args}`` mapping, per layer.

    Parameters
    ----------
    value : object
        The ``model`` section as read from YAML.
    path : str
        Its key path, for messages.

    Returns
    -------
    list of str or dict
        Per layer its class name, with every argument that applies filled in
        (a bare name when there are none).

    Raises
    ------
    ConfigError
        Naming the key path (``model[2].p``) and what is allowed.
    """
    if not isinstance(value, list) or not value:
        raise ConfigError(path, f"must be a non-empty list of layers, got {short(value)}")
    out = []
    for i, item in enumerate(value):
        where = join_path(path, i)
        cls, args = _entry(where, item, "layer")
        if issubclass(cls, Sequential):
            raise ConfigError(join_path(where, "type"), "list the layers directly: the "
                                                        "model is already a Sequential")
        out.append(_spec(cls, args, "layer"))
    return out


def check_loss(value: Any, path: str = "loss") -> str | dict[str, Any] | None:
    """Check a loss entry; None means "pick by task" once the data is loaded.

    Parameters
    ----------
    value : object
        The ``loss`` section: None, a name or ``{type: name, **args}``.
    path : str

    Returns
    -------
    str, dict or None
        The class name (a mapping when it has arguments), or None.

    Raises
    ------
    ConfigError
    """
    if value is None:
        return None
    return _spec(*_entry(path, value, "loss"), "loss")


def check_optimizer(value: Any, path: str = "optimizer") -> dict[str, Any]:
    """Check an optimizer entry (SGD when the type is left out).

    Parameters
    ----------
    value : object
        None, a name, or a mapping (``{lr: 0.1}`` means SGD).
    path : str

    Returns
    -------
    dict
        ``{"type": name, **every argument}``.

    Raises
    ------
    ConfigError
    """
    cls, args = _entry(path, value, "optimizer", default="SGD")
    return {"type": registry.name_of("optimizer", cls), **args}


def check_schedule(value: Any, *, epochs: int, path: str = "schedule") -> str | dict[str, Any]:
    """Check a schedule entry (Constant by default); Cosine anneals over ``epochs``.

    Parameters
    ----------
    value : object
        None, a name or ``{type: name, **args}``.
    epochs : int
        ``train.epochs``, Cosine's default length.
    path : str

    Returns
    -------
    str or dict

    Raises
    ------
    ConfigError
    """
    if isinstance(value, str):
        value = {"type": value}
    if isinstance(value, dict) and value.get("type") == "Cosine" and "epochs" not in value:
        value = {**value, "epochs": epochs}  # anneal over the whole run by default
    return _spec(*_entry(path, value, "schedule", default="Constant"), "schedule")


def check_callbacks(value: Any, path: str = "callbacks") -> list[str | dict[str, Any]]:
    """Check a list of registered callbacks (yours, registered with ``@register("callback")``).

    Parameters
    ----------
    value : object
        The ``callbacks`` section: a list of names or ``{type: name, **args}``.
    path : str

    Returns
    -------
    list of str or dict

    Raises
    ------
    ConfigError
    """
    if not isinstance(value, list):
        raise ConfigError(path, f"must be a list of callbacks, got {short(value)}")
    return [_spec(*_entry(join_path(path, i), item, "callback"), "callback")
            for i, item in enumerate(value)]


def build(kind: str, spec: str | dict[str, Any], path: str | None = None, **context: Any) -> Any:
    """Instantiate a checked entry with `bprop.registry.build`.

    Parameters
    ----------
    kind : {"layer", "loss", "optimizer", "schedule", "callback"}
    spec : str or dict
        A checked entry (config names: a Linear's ``out``).
    path : str, optional
        Its key path for messages; ``kind`` by default.
    **context
        The hidden arguments the run supplies (``params``, ``n_in``, ``dtype``,
        ``rng``), passed to constructors that take them.

    Returns
    -------
    object

    Raises
    ------
    ConfigError
        When the constructor rejects its arguments; the key path names the
        argument when its message does (``optimizer.lr: lr must be > 0``).
        Any other exception a constructor raises becomes one line too:
        ``model[2] (Scale): RuntimeError: ...``.
    """
    path = path or kind
    spec = {"type": spec} if isinstance(spec, str) else dict(spec)
    cls = registry.lookup(kind, spec["type"])
    params = inspect.signature(cls.__init__).parameters
    # `out` is the config's name of the library's `n_out`; a user's class taking `out` keeps it
    kwargs = {(_ORIGINAL[k] if k in _ORIGINAL and k not in params else k): v
              for k, v in spec.items()}
    fields = fields_of(cls)
    for key, value in spec.items():  # YAML has lists only; a tuple argument gets a tuple
        if key in fields and fields[key].kind is tuple and isinstance(value, list):
            kwargs[_ORIGINAL[key] if key in _ORIGINAL and key not in params else key] = \
                tuple(value)
    name = str(spec.get("type"))
    try:
        return registry.build(kind, kwargs, **context)
    except ValueError as err:
        msg = " ".join(str(err).split()).removeprefix(f"{name}: ")  # one line, always
        first = msg.split(" ", 1)[0]
        if first in kwargs and first != "type":
            raise ConfigError(join_path(path, RENAMED.get(first, first)), msg) from None
        raise ConfigError(path, f"{name}: {msg or 'ValueError'}") from None
    except Exception as err:  # a user's constructor: one line with where it is configured
        msg = " ".join(str(err).split())
        raise ConfigError(f"{path} ({name})",
                          f"{type(err).__name__}: {msg}" if msg else type(err).__name__) from None


def build_model(layers: list[str | dict[str, Any]], n_in: int, *, dtype: str,
                seed_seq: np.random.SeedSequence, path: str = "model") -> tuple[Sequential, int]:
    """The `Sequential` of checked ``layers`` for ``n_in`` input features.

    Each layer that draws random numbers (Linear's initialiser, Dropout's
    masks) gets its own generator spawned from ``seed_seq``, in layer order,
    so runs are reproducible.

    Parameters
    ----------
    layers : list of str or dict
        As returned by `check_model`.
    n_in : int
        Input features; each layer's input size is the previous one's output.
    dtype : str
        ``"float32"`` or ``"float64"``, for layers with parameters.
    seed_seq : numpy SeedSequence
    path : str
        The list's key path, for messages.

    Returns
    -------
    model : Sequential
    n_out : int
        The width of the model's output.

    Raises
    ------
    ConfigError
        If a constructor rejects its arguments (or raises), or a layer's
        ``get_config`` cannot give back its arguments.
    """
    built, dim = [], n_in
    for i, spec in enumerate(layers):
        cls = registry.lookup("layer", spec if isinstance(spec, str) else spec["type"])
        context: dict[str, Any] = {"n_in": dim, "dtype": dtype}
        if "rng" in registry.arguments(cls):
            context["rng"] = np.random.default_rng(seed_seq.spawn(1)[0])
        layer = build("layer", spec, join_path(path, i), **context)
        try:  # at the start, not when model.npz is written after the training
            layer_config(layer)
        except ValueError as err:
            raise ConfigError(join_path(path, i), f"{err}; a model file could not rebuild it"
                              ) from None
        dim = layer.output_dim(dim)
        built.append(layer)
    return Sequential(*built), dim
