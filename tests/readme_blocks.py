"""The README's marked sections and code blocks, for the tests that run them.

A section is the text between ``<!-- section: NAME -->`` and
``<!-- end section: NAME -->``; its ``python`` blocks run in order in one
namespace, as a reader would paste them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"


def section(name: str) -> str:
    """The text of README section ``name`` (ValueError if it is not marked)."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"<!-- section: {name} -->")
    return text[start : text.index(f"<!-- end section: {name} -->", start)]


def python_blocks(name: str) -> list[str]:
    """The ```` ```python ```` blocks of README section ``name``, in order."""
    return re.findall(r"```python\n(.*?)```", section(name), re.S)


def run_blocks(name: str) -> dict[str, Any]:
    """Run every python block of section ``name`` in one namespace; return it."""
    blocks = python_blocks(name)
    assert blocks, f"no python blocks in README section {name!r}"
    namespace: dict[str, Any] = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README[{name}] block {i + 1}", "exec"), namespace)
    return namespace
