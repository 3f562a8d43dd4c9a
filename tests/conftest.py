"""Shared fixtures: every random draw is seeded (``rng`` is numpy's generator with seed 0)."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def bprop_imports():
    """``imports(path)``: the bprop packages a source file imports, lazy imports included.

    Imports under ``if TYPE_CHECKING:`` are left out (annotations only). The
    layering rule (a package imports only from those below it) is checked
    with it, per package, in the tests that mirror the package.
    """
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "bprop"

    def imports(path: Path) -> set[str]:
        rel = path.relative_to(root).with_suffix("").parts
        package = list(rel[:-1])
        found: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test)
                   for child in node.body for n in ast.walk(child)}
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level == 0:
                    parts = (node.module or "").split(".")
                    if parts[0] != "bprop":
                        continue
                    parts = parts[1:]
                else:
                    up = package[: len(package) - (node.level - 1)]
                    parts = up + (node.module.split(".") if node.module else [])
                found |= {parts[0]} if parts else {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names
                          if a.name.startswith("bprop.")}
        return found

    imports.root = root
    return imports


@pytest.fixture
def clean_registry(monkeypatch):
    """Registrations made by a test vanish after it."""
    from bprop import registry

    monkeypatch.setattr(registry, "_TABLES", {k: dict(v) for k, v in registry._TABLES.items()})
    monkeypatch.setattr(registry, "_ALIASES", {k: dict(v) for k, v in registry._ALIASES.items()})
    monkeypatch.setattr(registry, "_NAMES", {k: dict(v) for k, v in registry._NAMES.items()})


#: a user's plugin module, written without ``from __future__ import annotations``
#: (its annotations are objects, not strings)
USER_PLUGIN = """
from typing import Literal

from bprop.layers import Layer
from bprop.registry import register


class _Id(Layer):
    def forward(self, x):
        return x

    def backward(self, dy):
        return dy


@register("layer")
class Scale(Layer):
    config_fields = {"a": "> 0"}

    def __init__(self, a: float = 2.0):
        self.a = a

    def forward(self, x):
        return self.a * x

    def backward(self, dy):
        return self.a * dy


@register("layer")
class NeedsK(_Id):
    def __init__(self, k: int):
        self.k = k


@register("layer")
class Kw(_Id):
    def __init__(self, **kw):
        self.kw = kw


@register("layer")
class OptInt(_Id):
    def __init__(self, k: int | None = None):
        self.k = k


@register("layer")
class Lit(_Id):
    def __init__(self, mode: Literal["a", "b"] = "a"):
        self.mode = mode


@register("layer")
class Tup(_Id):
    def __init__(self, sizes: tuple[int, ...] = (1, 2)):
        self.sizes = sizes


@register("layer")
class Hidden(_Id):
    def __init__(self, factor: float = 1.0):
        self._factor = factor  # stored under another name: get_config cannot read it back


@register("layer")
class Exploding(_Id):
    def __init__(self, k: int = 1):
        raise RuntimeError("Exploding refuses to be built")
"""


@pytest.fixture
def user_plugin(tmp_path, monkeypatch, clean_registry):
    """A user's module of registered layers (`USER_PLUGIN`), importable by name.

    Its classes are registered for this test only; the module is importable as
    ``user_plugin.__name__`` (on ``sys.path``), as ``imports:`` in a config needs.
    """
    import importlib
    import sys

    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "bprop_user_plugin.py").write_text(USER_PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "bprop_user_plugin", raising=False)
    module = importlib.import_module("bprop_user_plugin")
    yield module
    sys.modules.pop("bprop_user_plugin", None)
