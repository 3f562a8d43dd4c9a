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
