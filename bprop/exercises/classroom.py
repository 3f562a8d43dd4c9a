"""Grade a whole class: one sub-directory per student, one CSV row each.

``SUBMISSIONS/alice/``, ``SUBMISSIONS/bob/``, ... each hold a student's copy
of the files written by ``bprop exercises make``. Every submission is read
into memory first, then graded from a private copy in a process of its own
(which starts one process per exercise) under a wall-clock limit: a student
who loops, crashes, kills their grading process or rewrites a classmate's
files changes nobody's grade but their own. ``grades.json`` and
``feedback.md`` are written into each student's directory afterwards, and
the CSV has one column of points per exercise.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .grading import (
    MEMORY_MB,
    TIME_LIMIT,
    CheckResult,
    ExerciseResult,
    GradeReport,
    exercises_for,
)

_ONE = ("import sys; del sys.path[0]; from bprop.exercises.classroom import _grade_one; "
        "sys.exit(_grade_one(sys.argv[1:]))")


@dataclass
class StudentRow:
    """One student's line of the gradebook."""

    student: str
    report: GradeReport
    error: str = ""  # why the grading process itself failed, if it did


def grade_class(
    submissions: str | Path,
    csv_path: str | Path,
    *,
    teacher: str | Path | None = None,
    time_limit: float = TIME_LIMIT,
    memory_mb: int = MEMORY_MB,
) -> list[StudentRow]:
    """Grade every sub-directory of ``submissions``; write the CSV, grades and feedback.

    Parameters
    ----------
    submissions : str or Path
        One sub-directory per student (hidden ones and files are ignored).
    csv_path : str or Path
        Where to write the gradebook: ``student``, one column per exercise,
        ``total``, ``max_points`` and ``error``.
    teacher : str or Path, optional
        A teacher file (points and hidden checks) for every student.
    time_limit, memory_mb
        As for `bprop.exercises.grading.grade`, per exercise.

    Returns
    -------
    list of StudentRow
        In the order of the CSV (sorted by directory name).

    Raises
    ------
    FileNotFoundError
        If ``submissions`` is not a directory.
    """
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise FileNotFoundError(f"no such directory: {submissions}")
    exercises = exercises_for(None, teacher)
    names = {e.filename for e in exercises} | {Path(e.filename).stem + ".ipynb"
                                               for e in exercises}
    # Read everything first: nothing a student runs later can change a classmate's files.
    snapshot = {
        d.name: {f.name: f.read_bytes() for f in d.iterdir() if f.name in names and f.is_file()}
        for d in sorted(submissions.iterdir()) if d.is_dir() and not d.name.startswith(".")
    }
    wall = (time_limit * (max(len(e.checks) for e in exercises) + 1) + 20) * len(exercises)
    rows = []
    for student, files in snapshot.items():
        report, error = _grade_copy(student, files, teacher, time_limit, memory_mb, wall)
        if report is None:
            report = _failed_report(student, exercises, error)
        rows.append(StudentRow(student, report, error))
    for row in rows:
        directory = submissions / row.student
        report = GradeReport(str(directory), row.report.exercises)
        report.write_json(directory / "grades.json")
        report.write_feedback(directory / "feedback.md")
    _write_csv(csv_path, rows, [e.name for e in exercises])
    return rows


def _grade_copy(student: str, files: dict[str, bytes], teacher, time_limit: float,
                memory_mb: int, wall: float) -> tuple[GradeReport | None, str]:
    """Grade a private copy of one submission in its own process: (report, error)."""
    with tempfile.TemporaryDirectory(prefix="bprop-grade-") as tmp:
        work = Path(tmp) / student
        work.mkdir()
        for name, data in files.items():
            (work / name).write_bytes(data)
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
        command = [sys.executable, "-s", "-c", _ONE, str(work), str(time_limit), str(memory_mb),
                   str(Path(teacher).resolve()) if teacher else ""]
        proc = subprocess.Popen(command, cwd=tmp, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=wall)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.communicate()
            return None, f"grading did not finish within {wall:g} s"
        _kill(proc)
        try:
            return GradeReport.from_dict(json.loads(out.decode())), ""
        except (ValueError, KeyError, TypeError):
            return None, f"the grading process ended without a result (exit status " \
                         f"{proc.returncode})"


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _failed_report(student: str, exercises, error: str) -> GradeReport:
    return GradeReport(student, [
        ExerciseResult(e.name, e.title, e.filename,
                       [CheckResult(c.description, 0, c.points, False, error, None, c.hidden)
                        for c in e.checks])
        for e in exercises
    ])


def _write_csv(path: str | Path, rows: list[StudentRow], names: list[str]) -> None:
    fields = ["student", *names, "total", "max_points", "error", "notes"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            line: dict[str, object] = {"student": row.student}
            line.update({e.name: e.points for e in row.report.exercises})
            line.update(total=row.report.points, max_points=row.report.max_points,
                        error=row.error, notes="; ".join(
                            f"[{e.name}] {n}" for e in row.report.exercises for n in e.notes))
            writer.writerow(line)


def _grade_one(argv: list[str]) -> int:
    """The per-student process: grade ``DIR`` and print the report as JSON on stdout."""
    from .grading import grade

    directory, time_limit, memory_mb, teacher = argv
    report = grade(directory, teacher=teacher or None, time_limit=float(time_limit),
                   memory_mb=int(memory_mb))
    sys.stdout.write(json.dumps(report.to_dict()))
    return 0
