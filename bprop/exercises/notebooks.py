"""The exercises as Jupyter notebooks: writing them (nbformat) and reading a submission.

One notebook per exercise: a Markdown cell with the task and the formulas
(the file's docstring), the code cell to complete, and a cell that runs the
exercise's checks in the notebook (`check_here`). The grader reads a
submitted notebook's code cells in order, as one module, leaving out the
checking cell (tagged ``bprop-check``) and turning IPython magics (``%``,
``!``) into comments.
"""

from __future__ import annotations

import ast
import json
import types

CHECK_TAG = "bprop-check"


def to_notebook(source: str, exercise_name: str, title: str) -> str:
    """The notebook (JSON text) of one exercise file's ``source``."""
    import nbformat
    from nbformat import v4

    tree = ast.parse(source)
    docstring = ast.get_docstring(tree, clean=True) or ""
    body = source
    if docstring and tree.body and isinstance(tree.body[0], ast.Expr):
        body = "\n".join(source.splitlines()[tree.body[0].end_lineno:]).strip() + "\n"
    check = v4.new_code_cell(
        "# Run this cell to check your work here; the teacher grades the saved notebook.\n"
        "from bprop.exercises.notebooks import check_here\n"
        f"check_here({exercise_name!r}, globals())",
        metadata={"tags": [CHECK_TAG]},
    )
    notebook = v4.new_notebook(cells=[
        v4.new_markdown_cell(f"# {title}\n\n{_markdown(docstring)}"),
        v4.new_code_cell(body.rstrip("\n")),
        check,
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    nbformat.validate(notebook)
    return nbformat.writes(notebook)


def _markdown(docstring: str) -> str:
    """Indented blocks (formulas) of a docstring as fenced code for Markdown."""
    out, in_block = [], False
    for line in docstring.splitlines():
        indented = line.startswith("    ")
        if indented and not in_block:
            out.append("```")
            in_block = True
        elif not indented and line.strip() and in_block:
            out.append("```")
            in_block = False
        out.append(line[4:] if indented else line)
    if in_block:
        while out and not out[-1].strip():
            out.pop()
        out.append("```")
    return "\n".join(out)


def notebook_source(text: str) -> str:
    """The Python source a submitted notebook stands for: its code cells in order.

    Raises
    ------
    ValueError
        If ``text`` is not a notebook.
    """
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"not a Jupyter notebook: {err}") from None
    parts = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        if CHECK_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        lines = [f"# {line}" if line.lstrip().startswith(("%", "!")) else line
                 for line in source.splitlines()]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def check_here(exercise_name: str, namespace: dict) -> bool:
    """Run one exercise's checks on the definitions in a notebook and print the result.

    A quick check while working (in the notebook's own process); the teacher's
    ``bprop exercises grade`` runs the saved notebook in a process of its own.
    """
    from .checks import EXERCISES

    exercise = next(e for e in EXERCISES if e.name == exercise_name)
    module = types.ModuleType(f"notebook_{exercise_name}")
    module.__dict__.update(namespace)
    points = 0
    for check in exercise.checks:
        try:
            outcome = check.run(module)
            passed, message = outcome.passed, outcome.message
        except NotImplementedError as err:
            passed, message = False, f"not implemented yet (hint: {err})"
        except Exception as err:  # the student's error, shown rather than raised
            passed, message = False, f"{type(err).__name__}: {err}"
        points += check.points if passed else 0
        print(f"[{'pass' if passed else 'FAIL'}] {check.points if passed else 0}/{check.points}"
              f"  {check.description}" + (f"\n        {message}" if message else ""))
    print(f"{exercise_name}: {points}/{exercise.points}")
    return points == exercise.points
