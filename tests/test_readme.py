"""The README's Python tour runs as written (the front door must tell the truth)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _section(name: str) -> str:
    text = README.read_text()
    start = text.index(f"<!-- section: {name} -->")
    return text[start : text.index(f"<!-- end section: {name} -->")]


@pytest.mark.parametrize("section", ["api"])
def test_python_blocks_run(section, tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", _section(section), re.S)
    assert blocks, f"no python blocks in README section {section!r}"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, f"README[{section}]", "exec"), namespace)
