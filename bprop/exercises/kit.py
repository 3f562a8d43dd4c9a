"""Make the student version of the exercises from the reference solutions.

A reference solution marks the code students must write::

    def backward(self, dy):
        # BEGIN SOLUTION: sigma'(x) can be written with the output y alone
        y = self._y
        return dy * y * (1.0 - y)
        # END SOLUTION

and the student version keeps everything else but replaces each marked
block, at the same indentation, with::

        raise NotImplementedError("sigma'(x) can be written with the output y alone")
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from .checks import EXERCISES

_BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?::[ \t]*(?P<hint>.*?))?[ \t]*$")
_END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")


def strip_solutions(source: str, filename: str = "<source>") -> str:
    """The student version of ``source``: each marked block becomes a hint.

    Raises
    ------
    ValueError
        If markers are nested, unclosed or unopened, naming the line.
    """
    out: list[str] = []
    opened: int | None = None
    for lineno, line in enumerate(source.splitlines(keepends=True), 1):
        begin, end = _BEGIN.match(line.rstrip("\r\n")), _END.match(line.rstrip("\r\n"))
        if begin:
            if opened is not None:
                raise ValueError(f"{filename}:{lineno}: BEGIN SOLUTION inside the block "
                                 f"opened at line {opened}")
            opened = lineno
            hint = begin["hint"] or "write this part"
            out.append(f"{begin['indent']}raise NotImplementedError({hint!r})\n")
        elif end:
            if opened is None:
                raise ValueError(f"{filename}:{lineno}: END SOLUTION without BEGIN SOLUTION")
            opened = None
        elif opened is None:
            out.append(line)
    if opened is not None:
        raise ValueError(f"{filename}:{opened}: BEGIN SOLUTION is never closed")
    return "".join(out)


def keep_solutions(source: str) -> str:
    """The reference version of ``source``: the code stays, the marker lines go."""
    lines = source.splitlines(keepends=True)
    return "".join(
        line for line in lines
        if not (_BEGIN.match(line.rstrip("\r\n")) or _END.match(line.rstrip("\r\n")))
    )


def solution_source(filename: str) -> str:
    """The marked reference file shipped in ``bprop/exercises/solutions``."""
    return resources.files("bprop.exercises.solutions").joinpath(filename).read_text()


def make(
    out_dir: str | Path, *, solutions: bool = False, force: bool = False, fmt: str = "py"
) -> list[Path]:
    """Write the student version (or, with ``solutions=True``, the reference) to ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Created if missing.
    solutions : bool, default=False
        Write the reference solutions instead, for the teacher.
    force : bool, default=False
        Overwrite existing files; otherwise refuse, so a student's work is
        never lost to a second ``make``.
    fmt : {"py", "ipynb"}, default="py"
        One Python file per exercise, or one Jupyter notebook (task and
        formulas, the code to complete, a cell running the checks).

    Returns
    -------
    list of Path
        The files written: one per exercise, then README.md.
    """
    if fmt not in ("py", "ipynb"):
        raise ValueError(f"fmt must be 'py' or 'ipynb', got {fmt!r}")
    out_dir = Path(out_dir)
    files = {}
    for e in EXERCISES:
        text = solution_source(e.filename)
        text = keep_solutions(text) if solutions else strip_solutions(text, e.filename)
        if fmt == "ipynb":
            from .notebooks import to_notebook

            files[Path(e.filename).stem + ".ipynb"] = to_notebook(text, e.name, e.title)
        else:
            files[e.filename] = text
    files["README.md"] = _readme(fmt)
    existing = [name for name in files if (out_dir / name).exists()]
    if existing and not force:
        raise FileExistsError(
            f"{out_dir / existing[0]} already exists; use --force to overwrite "
            f"({len(existing)} file(s) would be replaced)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        (out_dir / name).write_text(text)
        written.append(out_dir / name)
    return written


def _readme(fmt: str = "py") -> str:
    def shown(e) -> str:
        return e.filename if fmt == "py" else Path(e.filename).stem + ".ipynb"

    rows = "\n".join(
        f"| {i} | `{shown(e)}` | {e.title} | {e.points} |" for i, e in enumerate(EXERCISES, 1)
    )
    total = sum(e.points for e in EXERCISES)
    notebook_note = "" if fmt == "py" else (
        "\nIn a notebook, the last cell runs that exercise's checks on the spot; "
        "save the notebook\nbefore grading, which reads the saved file.\n")
    return f"""# Backpropagation exercises

Fill in every `raise NotImplementedError(...)` (its message is a hint). Each
file's docstring states what to write and the formulas to start from.

| # | file | exercise | points |
|---|------|----------|--------|
{rows}
| | | total | {total} |

Grade your work at any time (it only adds `grades.json` and `feedback.md`):

```bash
bprop exercises grade .                 # all exercises, writes grades.json
bprop exercises grade . --only sigmoid  # one exercise
```
{notebook_note}
The table shows each exercise's points, pass/fail, the largest relative
error found by the gradient checker and a message about the first problem;
`feedback.md` lists every check. Write your own code: a file that imports
or subclasses the library's implementation of what it is asked to write,
stops the program or changes the grader scores 0 for that exercise.
"""
