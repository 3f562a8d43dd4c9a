"""The one place where names become classes: layers, losses, optimizers, schedules, callbacks.

Each class registers itself on the line above its definition (Caffe's
``REGISTER_LAYER_CLASS``, tinygrad's ``register``)::

    @register("layer", aliases=("relu",))
    class ReLU(Layer): ...

Config files, the estimators' ``layers=`` and ``activation=`` arguments and
model files all look classes up here and build them with `build`, so a class
a user registers once works everywhere. scikit-learn's activation names
(``relu``, ``logistic``, ``tanh``, ``identity``) are aliases of the layers they
name.

Your own classes, of every kind, register the same way::

    @register("loss")
    class Cauchy(Loss): ...          # then `loss: Cauchy` in a config

    @register("optimizer")
    class SignSGD(Optimizer):        # `optimizer: {type: SignSGD, lr: 0.01, beta: 0.9}`
        config_fields = {"beta": "[0, 1)"}   # lr > 0 comes from Optimizer's
        def __init__(self, params, lr: float = 0.01, *, beta: float = 0.9): ...

A config may set every constructor argument except those the run supplies
(``n_in``, ``dtype``, ``rng``, an optimizer's ``params``); types and defaults
come from the signature. ``config_fields`` optionally adds what a signature
cannot say, so that a config is checked without building anything: a range
(``"> 0"``, ``">= 1"``, ``"[0, 1)"``, ``"(0, 1)"``), a tuple of allowed values,
and ``" if KEY == VALUE"`` for a key that applies only then. Subclasses inherit
their bases' declarations. A config names callbacks in its optional
``callbacks`` list, and lists the modules that register your classes under
``imports`` (or ``bprop --import MODULE``), which imports them first.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

KINDS = ("layer", "loss", "optimizer", "schedule", "callback")

_TABLES: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}
#: each registered class's name, for writing configs and model files back
_NAMES: dict[str, dict[type, str]] = {kind: {} for kind in KINDS}
_ALIASES: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}

T = TypeVar("T", bound=type)


def register(
    kind: str, name: str | None = None, *, aliases: tuple[str, ...] = (), override: bool = False
) -> Callable[[T], T]:
    """A class decorator: make ``cls`` available under ``name`` (default: its class name).

    Parameters
    ----------
    kind : {"layer", "loss", "optimizer", "schedule", "callback"}
    name : str, optional
        The name used in configs and model files; the class name by default.
    aliases : tuple of str
        Other names for the same class (scikit-learn's ``"relu"`` for `ReLU`).
    override : bool
        Replace a different class already registered under one of these
        names; without it that is an error (a plugin must not silently change
        what a built-in name, or another plugin's, means).

    Returns
    -------
    callable
        The decorator; it returns the class unchanged.

    Raises
    ------
    ValueError
        For an unknown ``kind``, a decorated object that is not a class, or a name
        (or alias) taken by another class, unless ``override``.

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
        for key in (name or cls.__name__, *aliases):
            taken = _TABLES[kind].get(key) or _TABLES[kind].get(_ALIASES[kind].get(key, ""))
            # the same class defined again (a module re-imported or reloaded) is no clash
            same = taken is not None and (taken.__module__, taken.__qualname__) == (
                cls.__module__, cls.__qualname__)
            if taken is not None and not same and not override:
                raise ValueError(
                    f"register({kind!r}): the name {key!r} is taken by "
                    f"{taken.__module__}.{taken.__qualname__}; register "
                    f"{cls.__qualname__} under another name, or pass override=True")
        _TABLES[kind][name or cls.__name__] = cls
        _NAMES[kind][cls] = name or cls.__name__
        for alias in aliases:
            _ALIASES[kind][alias] = name or cls.__name__
        return cls

    return decorate


def name_of(kind: str, cls: type) -> str:
    """The name ``cls`` is registered under (what configs and model files write).

    Parameters
    ----------
    kind : str
        One of `KINDS`.
    cls : type
        A class; one registered as ``register(kind, "Name")`` gives "Name".

    Returns
    -------
    str
        The registered name, or the class's own name if it is not registered.
    """
    _check_kind(kind)
    return _NAMES[kind].get(cls, cls.__name__)


def lookup(kind: str, name: Any) -> type:
    """The class registered as ``name`` (or an alias of it) under ``kind``.

    Parameters
    ----------
    kind : {"layer", "loss", "optimizer", "schedule", "callback"}
    name : object
        A registered name or alias; anything else is an error.

    Returns
    -------
    type

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
    """The registered names of ``kind`` in registration order.

    Parameters
    ----------
    kind : {"layer", "loss", "optimizer", "schedule", "callback"}
    aliases : bool, default=False
        Append the aliases (``"relu"``, ...).

    Returns
    -------
    list of str
    """
    _check_kind(kind)
    return [*_TABLES[kind], *(_ALIASES[kind] if aliases else ())]


def table(kind: str) -> dict[str, type]:
    """A copy of the ``name -> class`` table of ``kind`` (aliases not included).

    Parameters
    ----------
    kind : {"layer", "loss", "optimizer", "schedule", "callback"}

    Returns
    -------
    dict of str to type
    """
    _check_kind(kind)
    return dict(_TABLES[kind])


def unknown_name_message(kind: str, name: Any, allowed: list[str]) -> str:
    """The one-line error for an unknown name.

    Parameters
    ----------
    kind : str
        What was looked up (``"layer"``, ``"loss"``, ``"data set"``, ...).
    name : object
        The name given.
    allowed : list of str
        The names that exist.

    Returns
    -------
    str
        ``"unknown layer 'Relu' (did you mean 'ReLU'?); allowed: Dropout, ..."``.
    """
    hint = did_you_mean(name, allowed)
    return f"unknown {kind} {name!r}{hint}; allowed: {', '.join(sorted(allowed))}"


def did_you_mean(word: Any, choices: Iterable[Any]) -> str:
    """A hint naming the choice closest to ``word``, for error messages.

    Case is ignored: an exact match up to case wins (``"relu"`` -> ``"ReLU"``),
    else the closest by `difflib.get_close_matches` (ratio >= 0.6).

    Parameters
    ----------
    word : object
        What the user wrote (None gives no hint).
    choices : iterable of str
        The allowed names.

    Returns
    -------
    str
        ``" (did you mean 'ReLU'?)"``, or ``""`` when nothing is close.
    """
    if word is None:
        return ""
    lowered = {str(c).lower(): str(c) for c in choices}
    key = str(word).lower()
    close = [key] if key in lowered else difflib.get_close_matches(key, list(lowered), n=1)
    return f" (did you mean {lowered[close[0]]!r}?)" if close else ""


def register_layer(cls: type) -> type:
    """Register a user-written `Layer` subclass by its class name (usable as a decorator).

    Parameters
    ----------
    cls : type
        A subclass of `bprop.layers.Layer`.

    Returns
    -------
    type
        ``cls``, unchanged.

    Raises
    ------
    ValueError
        If ``cls`` is not a subclass of `bprop.layers.Layer`.
    """
    # The registry sits below the layers, so it knows `Layer` by its qualified name rather
    # than importing it (a package imports only from those below it).
    layer = ("bprop.layers.base", "Layer")
    is_layer = isinstance(cls, type) and any(
        (base.__module__, base.__qualname__) == layer for base in cls.__mro__
    )
    if not is_layer:
        raise ValueError(f"register_layer expects a Layer subclass, got {cls!r}")
    return register("layer")(cls)


def arguments(cls: type) -> dict[str, inspect.Parameter]:
    """The constructor arguments of ``cls`` by name (``self`` left out).

    Parameters
    ----------
    cls : type

    Returns
    -------
    dict of str to inspect.Parameter
        In the signature's order.
    """
    params = inspect.signature(cls.__init__).parameters
    return {name: p for name, p in params.items() if name != "self"}


def build(kind: str, spec: str | Mapping[str, Any], **context: Any) -> Any:
    """Build the object a registry entry describes: the one dict -> object builder.

    Model files, YAML configs and the estimators' ``layers=`` all build here.

    Parameters
    ----------
    kind : {"layer", "loss", "optimizer", "schedule", "callback"}
    spec : str or mapping
        A registered name, or ``{"type": name, **kwargs}``; a Sequential's
        ``layers`` (a list of specs) are built recursively.
    **context
        What the caller supplies rather than the spec (``n_in``, ``dtype``,
        ``rng``, an optimizer's ``params``): each is passed only when the
        constructor takes it and ``spec`` does not set it.

    Returns
    -------
    object
        The new instance.

    Raises
    ------
    ValueError
        For an unknown name (with "did you mean"), arguments the constructor
        does not take, or values it rejects (its own message).
    """
    kwargs = {"type": spec} if isinstance(spec, str) else dict(spec)
    cls = lookup(kind, kwargs.pop("type", None))
    takes = arguments(cls)
    kwargs.update({k: v for k, v in context.items() if k in takes and k not in kwargs})
    if kind == "layer" and "layers" in kwargs and "layers" in takes:  # a Sequential
        return cls(*[build("layer", item) for item in kwargs.pop("layers")], **kwargs)
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ValueError(f"bad arguments for {kind} {cls.__name__}: {err}") from err


def _check_kind(kind: str) -> None:
    if kind not in _TABLES:
        raise ValueError(f"unknown registry kind {kind!r} (allowed: {', '.join(KINDS)})")
