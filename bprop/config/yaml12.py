"""YAML as configs mean it: YAML 1.2 scalars, no duplicate keys, no aliases.

PyYAML implements YAML 1.1, where ``0123`` is the octal 83, ``1:30`` the
base-60 number 90 and ``yes`` a boolean; a key written twice silently keeps
the last value; and ``&anchor``/``*alias`` let a 1 KB file expand into
gigabytes (the "billion laughs"). `Loader` is PyYAML's safe loader with
these three changed:

- scalars follow the YAML 1.2 core schema: ``true``/``false`` are the only
  booleans, integers are decimal (``0123`` is 123), ``0o17`` or ``0x1f``;
  floats are decimal with an optional exponent (``1e-3`` is a number, as in
  JSON) or ``.inf``/``.nan``; ``~``, ``null`` and nothing are null; every
  other plain scalar (``1:30``, ``yes``, ``1_000``, ``2024-01-01``) is a string,
  which the config's typed fields then refuse, quoting the text;
- a key written twice in one mapping is an error naming both lines;
- anchors and aliases are an error (a config never needs them).

`Dumper` writes with the same rules, so that a string such as ``"0o17"`` is
quoted and reads back as itself.

Examples
--------
>>> load_text("seed: 0123\\nepochs: 1:30\\nlr: 1e-3")
{'seed': 123, 'epochs': '1:30', 'lr': 0.001}
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .fields import short as short_text

__all__ = ["Dumper", "Loader", "YAMLError", "dump_flow", "load_text"]

YAMLError = yaml.YAMLError

_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")

_RESOLVERS = [
    ("tag:yaml.org,2002:bool", _BOOL, list("tTfF")),
    ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789")),
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
]


def _core_resolvers(base: type) -> dict[Any, list[tuple[str, re.Pattern]]]:
    """``base``'s implicit resolvers with YAML 1.1's scalars swapped for 1.2 core's."""
    dropped = {"bool", "int", "float", "null", "timestamp", "value"}
    table: dict[Any, list[tuple[str, re.Pattern]]] = {}
    for first, items in base.yaml_implicit_resolvers.items():
        kept = [(tag, rx) for tag, rx in items if tag.rsplit(":", 1)[-1] not in dropped]
        if kept:
            table[first] = kept
    for tag, rx, firsts in _RESOLVERS:
        for ch in firsts:
            table.setdefault(ch, []).append((tag, rx))
    return table


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core scalars, no duplicate keys, no aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name, *name) are not allowed in a config; "
                "write the value out", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: PyYAML's own message follows
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None, None,
                        f"duplicate key {short_text(key)} (first at line {first.line + 1}); "
                        "a key may appear once in a mapping", key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Any) -> int:
        text = self.construct_scalar(node)
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text, 10)

    def construct_yaml_float(self, node: Any) -> float:
        text = self.construct_scalar(node).lower()
        if text.endswith(".inf"):
            return float("-inf") if text.startswith("-") else float("inf")
        if text == ".nan":
            return float("nan")
        return float(text)

    def construct_yaml_bool(self, node: Any) -> bool:
        return self.construct_scalar(node).lower() == "true"


Loader.yaml_implicit_resolvers = _core_resolvers(yaml.SafeLoader)
Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
Loader.add_constructor("tag:yaml.org,2002:float", Loader.construct_yaml_float)
Loader.add_constructor("tag:yaml.org,2002:bool", Loader.construct_yaml_bool)


class Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting exactly the strings that `Loader` would not read back."""


Dumper.yaml_implicit_resolvers = _core_resolvers(yaml.SafeDumper)


def load_text(text: Any) -> Any:
    """Read YAML text (or a text stream) with `Loader`.

    Parameters
    ----------
    text : str or file object

    Returns
    -------
    object
        Plain dicts, lists, strings, numbers, booleans and None.

    Raises
    ------
    yaml.YAMLError
        For malformed YAML, a duplicate key or an anchor/alias, with the line
        and column in ``problem_mark``.
    """
    return yaml.load(text, Loader=Loader)  # noqa: S506 (Loader is a SafeLoader)


def dump_flow(value: Any) -> str:
    """``value`` as one line of YAML flow text that `load_text` reads back as itself.

    Parameters
    ----------
    value : object

    Returns
    -------
    str
    """
    text = yaml.dump(value, Dumper=Dumper, default_flow_style=True, sort_keys=False,
                     width=10_000)
    return text.strip().removesuffix("...").strip()

