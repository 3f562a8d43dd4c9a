"""Typed config fields and one-line error messages that name the key path.

Every user-facing config error is a `ConfigError`: a key path such as
``optimizer.lr`` and a message that shows the bad value and what is allowed,
with a "did you mean" hint for near misses. The command line prints it as one
line and exits with status 2.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..registry import did_you_mean

__all__ = ["ConfigError", "Field", "check_mapping", "join_path", "parse_constraint", "short"]


class ConfigError(ValueError):
    """A bad config value, data file or command-line argument.

    Parameters
    ----------
    path : str
        Where the problem is: a key path (``"model[2].p"``) or a file name;
        empty when it concerns the whole config.
    message : str
        What is wrong, with the bad value and what is allowed.
    """

    #: the longest message printed: a value is shown by `short`, and this bounds the rest
    MAX_LENGTH = 600

    def __init__(self, path: str, message: str) -> None:
        path, message = _cut(str(path), 120), _cut(str(message), self.MAX_LENGTH)
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short(value: Any, limit: int = 60) -> str:
    """A repr of ``value`` cut to about ``limit`` characters, for messages.

    Built with `reprlib`, so a huge nested value is never expanded in full.

    Parameters
    ----------
    value : object
    limit : int, default=60

    Returns
    -------
    str
    """
    import reprlib

    r = reprlib.Repr()
    r.maxstring, r.maxother, r.maxlevel, r.maxlist, r.maxdict = limit, limit, 3, 6, 6
    return _cut(r.repr(value), limit)


def join_path(path: str, key: str | int) -> str:
    """Extend a key path.

    Parameters
    ----------
    path : str
        The path so far (``""`` at the top).
    key : str or int
        A mapping key, or a list index.

    Returns
    -------
    str
        ``join_path("model", 2) == "model[2]"``, ``join_path("model[2]", "p") == "model[2].p"``.
    """
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


@dataclass(frozen=True)
class Field:
    """One config key: its type, default and allowed values.

    Parameters
    ----------
    kind : type
        ``int``, ``float``, ``bool``, ``str``, ``list`` or ``tuple`` (both
        written as a YAML list; the value stays a list), or ``object`` for any
        value. A float field accepts integers and numeric strings such as
        ``"1e-4"`` (which YAML reads as a string, a classic trap); an int field
        rejects ``True``.
    default : object
        The value filled in when the key is absent; ``...`` marks a required key.
    low, high : float, optional
        Bounds; ``low_open``/``high_open`` make them exclusive.
    choices : tuple of str, optional
        The allowed strings.
    nullable : bool
        Whether ``null`` is allowed.
    alt : tuple of type
        Other accepted types (e.g. a csv ``target`` may be a name or an index).
    when : tuple of (str, str), optional
        ``(key, value)``: the field applies only when the sibling ``key``
        holds ``value`` (Linear's ``std`` only for ``init: normal``);
        otherwise `check_mapping` leaves it out.
    label : str, optional
        A name for the messages to start with, as a constructor's own check
        would (``"p must be a number in [0, 1), got 2"``).
    item : type, optional
        For a ``list`` or ``tuple`` field: the type of every item (``int``,
        ``float``, ``bool`` or ``str``); None takes any items.
    length : int, optional
        For a ``list`` or ``tuple`` field: the number of items (``tuple[int, int]``).
    """

    kind: type
    default: Any
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    nullable: bool = False
    alt: tuple[type, ...] = ()
    when: tuple[str, str] | None = None
    label: str | None = None
    item: type | None = None
    length: int | None = None

    def constrained(self, spec: str | tuple[Any, ...] | None) -> Field:
        """This field narrowed by a class's ``config_fields`` entry (see `parse_constraint`).

        Parameters
        ----------
        spec : str, tuple or None
            ``"> 0"``, ``"[0, 1)"``, ``("a", "b")``, ... None changes nothing.

        Returns
        -------
        Field
            A new field.
        """
        return self if spec is None else replace(self, **parse_constraint(spec))

    def describe(self) -> str:
        """What is allowed, in words.

        Returns
        -------
        str
            ``"a number in (0, 1)"``, ``"an integer >= 1 or null"``, ``"one of a, b"``.
        """
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices)) + (
                " or null" if self.nullable else "")
        word = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
            self.kind, "any value"
        )
        if self.kind in (list, tuple):
            count = f"{self.length} " if self.length is not None else ""
            items = {int: "integers", float: "numbers", bool: "booleans", str: "strings"}
            word = f"a list of {count}{items.get(self.item, 'values')}"
            if self.length == 1:
                word = word.removesuffix("s")
        if self.low is not None and self.high is not None:
            lb, rb = "(" if self.low_open else "[", ")" if self.high_open else "]"
            word += f" in {lb}{_fmt(self.low)}, {_fmt(self.high)}{rb}"
        elif self.low is not None:
            word += f" {'>' if self.low_open else '>='} {_fmt(self.low)}"
        elif self.high is not None:
            word += f" {'<' if self.high_open else '<='} {_fmt(self.high)}"
        if self.alt:
            word += " or " + " or ".join(_type_name(t()) for t in self.alt)
        return word + (" or null" if self.nullable else "")

    def check(self, path: str, value: Any) -> Any:
        """Check one value.

        Parameters
        ----------
        path : str
            Its key path, for the message.
        value : object
            As read from YAML (``...`` is not a value: required keys are
            checked by `check_mapping`).

        Returns
        -------
        object
            ``value`` coerced to ``kind`` (``"1e-4"`` to 0.0001 for a float).

        Raises
        ------
        ConfigError
            Naming ``path``, the bad value and what is allowed.
        """
        if value is None and self.nullable:
            return None
        if isinstance(value, self.alt) and not isinstance(value, bool):
            return value
        must = f"{self.label} must be" if self.label else "must be"
        coerced = self._coerce(value)
        if coerced is None:
            raise ConfigError(
                path, f"{must} {self.describe()}, got {short(value)} ({_type_name(value)})"
            )
        if self.choices and coerced not in self.choices:
            raise ConfigError(
                path,
                f"{must} {self.describe()}, got {short(value)}" + did_you_mean(value, self.choices),
            )
        if self.kind in (int, float) and not self._in_range(coerced):
            raise ConfigError(path, f"{must} {self.describe()}, got {short(value)}")
        return coerced

    def _coerce(self, value: Any) -> Any:
        if self.kind in (list, tuple):
            if not isinstance(value, (list, tuple)):
                return None
            if self.length is not None and len(value) != self.length:
                return None
            if self.item is None:
                return list(value)
            item = Field(self.item, ...)
            items = [item._coerce(v) for v in value]
            return None if any(i is None for i in items) else items
        if self.kind is bool:
            return value if isinstance(value, bool) else None
        if self.kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
            return value if ok else None
        if self.kind is float:
            if isinstance(value, bool):
                return None
            if isinstance(value, (int, float)):
                return float(value)
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    return None
            return None
        return value if isinstance(value, self.kind) else None

    def _in_range(self, x: float) -> bool:
        if isinstance(x, float) and not math.isfinite(x):
            return False
        if self.low is not None and (x < self.low or (self.low_open and x == self.low)):
            return False
        return self.high is None or not (x > self.high or (self.high_open and x == self.high))


def check_mapping(
    path: str, value: Any, fields: Mapping[str, Field], *, what: str = "",
    extra: bool = False,
) -> dict[str, Any]:
    """Validate a mapping against ``fields`` and fill in the defaults.

    A field whose ``when`` condition does not hold must not be set (the
    message says when it applies), and is left out of the result.

    Parameters
    ----------
    path : str
        The key path of the mapping, for messages.
    value : mapping or None
        The user's mapping (None means empty).
    fields : mapping of str to Field
        The allowed keys.
    what : str
        Names the owner in the unknown-key message (``"Linear"``).
    extra : bool, default=False
        Accept keys that are not in ``fields`` (a constructor taking
        ``**kwargs``): they are passed through unchecked, after the fields.

    Returns
    -------
    dict
        Every key of ``fields`` that applies, in their order, with checked
        values (then the extra keys, if allowed).

    Raises
    ------
    ConfigError
        For an unknown key (with "did you mean"), a key set where it does not
        apply, a missing required key or a bad value, naming its key path.
    """
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise ConfigError(path, f"must be a mapping, got {short(value)} ({_type_name(value)})")
    for key in value:
        if extra and key not in fields:
            if not isinstance(key, str) or not key.isidentifier():
                raise ConfigError(join_path(path, str(key)),
                                  f"{what or 'this entry'} takes keyword arguments: a key must "
                                  f"be a name, got {short(key)}")
        elif key not in fields:
            owner = f"{what} has no key" if what else "unknown key"
            allowed = ", ".join(fields) or "none"
            raise ConfigError(
                join_path(path, str(key)),
                f"{owner} {short(key)}{did_you_mean(key, fields)}; allowed: {allowed}",
            )
    for key, field in fields.items():
        if field.default is ... and key not in value:
            raise ConfigError(join_path(path, key), f"required key missing ({field.describe()})")
    checked = {k: f.check(join_path(path, k), value.get(k, f.default))
               for k, f in fields.items() if f.when is None}
    for key, field in fields.items():
        if field.when is None:
            continue
        on, wanted = field.when
        here = checked.get(on, value.get(on))
        if str(here) == wanted:
            checked[key] = field.check(join_path(path, key), value.get(key, field.default))
        elif key in value:
            raise ConfigError(join_path(path, key),
                              f"{key} applies only when {on} is {wanted!r} (here {str(here)!r}); "
                              f"remove it or set {on}: {wanted}")
    out = {k: checked[k] for k in fields if k in checked}
    if extra:
        out.update({k: v for k, v in value.items() if k not in fields})
    return out


_RANGE = re.compile(r"^(>=|>|<=|<)\s*(\S+)$")
_INTERVAL = re.compile(r"^([\[(])\s*([^,\s]+)\s*,\s*([^\])\s]+)\s*([\])])$")
_WHEN = re.compile(r"^(.*?)\s*\bif\s+(\w+)\s*==\s*(\S+)$")


def parse_constraint(spec: str | tuple[Any, ...]) -> dict[str, Any]:
    """Read one ``config_fields`` entry of a registered class.

    Parameters
    ----------
    spec : str or tuple
        A tuple lists the allowed values. A string is a bound (``"> 0"``,
        ``">= 1"``, ``"< 1"``, ``"<= 1"``), an interval (``"[0, 1)"``,
        ``"(0, 1)"``; ``[`` and ``]`` include the end), or empty, optionally
        followed by ``" if KEY == VALUE"``.

    Returns
    -------
    dict
        `Field` attributes: ``low``, ``high``, ``low_open``, ``high_open``,
        ``choices``, ``when``.

    Raises
    ------
    ValueError
        For a string that is none of these (a mistake in the class, not the config).

    Examples
    --------
    >>> parse_constraint("[0, 1)")
    {'low': 0.0, 'low_open': False, 'high': 1.0, 'high_open': True}
    >>> parse_constraint("> 0 if init == normal")
    {'low': 0.0, 'low_open': True, 'when': ('init', 'normal')}
    """
    if isinstance(spec, tuple):
        return {"choices": spec}
    out: dict[str, Any] = {}
    text = spec.strip()
    if match := _WHEN.match(text):
        text, out["when"] = match[1], (match[2], match[3])
    try:
        if match := _RANGE.match(text):
            op, x = match[1], float(match[2])
            side = "low" if op[0] == ">" else "high"
            return {side: x, f"{side}_open": "=" not in op, **out}
        if match := _INTERVAL.match(text):
            return {"low": float(match[2]), "low_open": match[1] == "(",
                    "high": float(match[3]), "high_open": match[4] == ")", **out}
    except ValueError:
        pass
    if text == "":
        return out
    raise ValueError(f"config_fields: cannot read {spec!r}; write a bound ('> 0'), an interval "
                     "('[0, 1)'), a tuple of allowed values, and optionally ' if KEY == VALUE'")
