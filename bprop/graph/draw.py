"""Draw a `Value` graph as Graphviz DOT, annotated like a lecture's circuit."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .value import Value, topological_order


def draw(out: Value, path: str | Path | None = None, *, rankdir: str = "LR") -> str:
    """Describe the graph that computed ``out`` in Graphviz DOT.

    Each value node shows its label (if any), its forward value ``data`` and
    its gradient ``grad`` (run ``out.backward()`` first to fill them); each
    gate appears as a small oval named by its operation, as the circuits of
    backprop lectures show forward values above the wires and gradients
    below them.

    Parameters
    ----------
    out : Value
        The graph's output node.
    path : str or Path, optional
        If given, write the DOT text to ``path`` with suffix ``.dot`` and,
        when the Graphviz ``dot`` program is installed, render
        ``path`` with suffix ``.svg`` too. Graphviz is optional.
    rankdir : {"LR", "TB"}, default="LR"
        Left-to-right (inputs on the left) or top-to-bottom layout.

    Returns
    -------
    str
        The DOT source (render it with ``dot -Tsvg``).

    Raises
    ------
    subprocess.CalledProcessError
        If ``path`` is given and Graphviz's ``dot`` fails to render it (the
        ``.dot`` file is written first and stays).

    Examples
    --------
    >>> a = Value(2.0, label="a")
    >>> y = a * a
    >>> y.backward()
    >>> print(draw(y).splitlines()[3])
      n0 [label="{a | data 2 | grad 4}", shape=record];
    """
    nodes = topological_order(out)
    ids = {id(node): f"n{i}" for i, node in enumerate(nodes)}
    lines = [
        "digraph G {",
        f"  rankdir={rankdir};",
        '  node [fontname="Helvetica"];',
    ]
    for node in nodes:
        nid = ids[id(node)]
        fields = ([_escape(node.label)] if node.label else []) + [
            f"data {node.data:.4g}",
            f"grad {node.grad:.4g}",
        ]
        lines.append(f'  {nid} [label="{{{" | ".join(fields)}}}", shape=record];')
        if node._op:
            # The gate is drawn as its own small node feeding the value it made.
            lines.append(f'  {nid}_op [label="{_escape(node._op)}", shape=oval];')
            lines.append(f"  {nid}_op -> {nid};")
            for child in node._prev:
                lines.append(f"  {ids[id(child)]} -> {nid}_op;")
    lines.append("}")
    dot_text = "\n".join(lines) + "\n"
    if path is not None:
        _write(dot_text, Path(path))
    return dot_text


def _write(dot_text: str, path: Path) -> None:
    path.with_suffix(".dot").write_text(dot_text)
    dot = shutil.which("dot")
    if dot is not None:  # rendering is a bonus; the DOT file is always there
        subprocess.run(
            [dot, "-Tsvg", "-o", str(path.with_suffix(".svg"))],
            input=dot_text,
            text=True,
            check=True,
        )


def _escape(text: str) -> str:
    # Characters that DOT record labels treat as syntax.
    for ch in '\\"{}|<>':
        text = text.replace(ch, "\\" + ch)
    return text
