"""The README's Python tour runs as written (the front door must tell the truth)."""

from __future__ import annotations

import pytest
from readme_blocks import run_blocks


@pytest.mark.parametrize("section", ["api"])
def test_python_blocks_run(section, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = run_blocks(section)
    assert set(namespace) - {"__builtins__"}  # the blocks defined names: they ran
