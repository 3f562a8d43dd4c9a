"""The autograder: grade each exercise in a process of its own, report a table, JSON, feedback.

Each exercise of each student runs in a separate Python process
(`bprop.exercises.runner`) with a memory limit and a time limit that covers
importing the student's file as well as each check. The results come back
one JSON line per check; whatever the process does instead (exit, crash,
loop, run out of memory, patch the grader) becomes that exercise's error,
named in its message, and never affects another exercise or student.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .checks import EXERCISES
from .spec import Exercise

#: Seconds allowed to import the student's file, and again to each check.
TIME_LIMIT = 20.0
#: Address-space limit of each grading process, in MiB.
MEMORY_MB = 2048
_STARTUP_S = 15.0  # Python, numpy and bprop starting on a busy machine
_RUNNER = ("import sys; del sys.path[0]; from bprop.exercises.runner import main; "
           "sys.exit(main(sys.argv[1:]))")
# Between the grader and the runner, a supervisor: the runner's parent, so that a
# student file killing "its parent" kills only this, and the runner's exit status
# (a signal, say) comes back on the supervisor's stdout.
_SUPERVISOR = ("import subprocess, sys; del sys.path[0]; "
               "p = subprocess.Popen([sys.executable, '-s', '-c', sys.argv[1], *sys.argv[2:]], "
               "stdout=subprocess.DEVNULL, pass_fds=(int(sys.argv[4]),)); "
               "print(p.wait(), flush=True)")


@dataclass
class CheckResult:
    description: str
    points: int
    max_points: int
    passed: bool
    message: str = ""
    grad_error: float | None = None
    hidden: bool = False


@dataclass
class ExerciseResult:
    name: str
    title: str
    filename: str
    checks: list[CheckResult] = field(default_factory=list)
    #: What the teacher should look at, points or not (a copy of the reference,
    #: files changed while grading).
    notes: list[str] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(c.points for c in self.checks)

    @property
    def max_points(self) -> int:
        return sum(c.max_points for c in self.checks)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def grad_error(self) -> float | None:
        errors = [c.grad_error for c in self.checks if c.grad_error is not None]
        return max(errors) if errors else None

    @property
    def message(self) -> str:
        """The first failing check's message: the thing to fix first."""
        return next((c.message for c in self.checks if not c.passed), "")


@dataclass
class GradeReport:
    """Every exercise's result; ``str(report)`` is the table, `to_dict` the JSON."""

    directory: str
    exercises: list[ExerciseResult]

    @property
    def points(self) -> int:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> int:
        return sum(e.max_points for e in self.exercises)

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.exercises)

    def to_dict(self) -> dict:
        return {
            "directory": self.directory,
            "points": self.points,
            "max_points": self.max_points,
            "exercises": [
                {
                    "name": e.name,
                    "title": e.title,
                    "file": e.filename,
                    "points": e.points,
                    "max_points": e.max_points,
                    "passed": e.passed,
                    "grad_error": e.grad_error,
                    "message": e.message,
                    "checks": [asdict(c) for c in e.checks],
                    "notes": list(e.notes),
                }
                for e in self.exercises
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> GradeReport:
        """Rebuild a report from `to_dict`'s output."""
        return cls(data["directory"], [
            ExerciseResult(e["name"], e["title"], e["file"],
                           [CheckResult(**c) for c in e["checks"]], list(e.get("notes", [])))
            for e in data["exercises"]
        ])

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    def write_feedback(self, path: str | Path) -> None:
        Path(path).write_text(self.feedback())

    def feedback(self) -> str:
        """The report for the student, in Markdown: every check, what to fix first."""
        lines = [f"# Feedback: {Path(self.directory).resolve().name}", "",
                 f"**Total: {self.points}/{self.max_points} points**", "",
                 "| exercise | file | points | result |", "|---|---|---|---|"]
        for e in self.exercises:
            lines.append(f"| {e.title} | `{e.filename}` | {e.points}/{e.max_points} | "
                         f"{'pass' if e.passed else 'FAIL'} |")
        for e in self.exercises:
            lines += ["", f"## {e.title} (`{e.filename}`): {e.points}/{e.max_points}", ""]
            for c in e.checks:
                mark = "x" if c.passed else " "
                hidden = " (hidden check)" if c.hidden else ""
                lines.append(f"- [{mark}] {c.description}{hidden}: {c.points}/{c.max_points}")
                if c.message and not c.passed:
                    body = c.message.splitlines()
                    if len(body) == 1:
                        lines.append(f"  - {body[0]}")
                    else:
                        lines += ["", "  ```", *(f"  {line}" for line in body), "  ```", ""]
            if e.passed:
                lines.append("\nAll checks pass.")
            lines += [f"\n**Note:** {note}" for note in e.notes]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        lines = [f"{'exercise':<14}{'points':>8}  {'result':<7}{'grad error':>11}  message"]
        for e in self.exercises:
            err = "-" if e.grad_error is None else f"{e.grad_error:.1e}"
            first_line = e.message.splitlines()[0] if e.message else ""
            lines.append(
                f"{e.name:<14}{f'{e.points}/{e.max_points}':>8}  "
                f"{'pass' if e.passed else 'FAIL':<7}{err:>11}  {first_line}"
            )
        lines.append(f"{'total':<14}{f'{self.points}/{self.max_points}':>8}")
        notes = [(e.name, n) for e in self.exercises for n in e.notes]
        if notes:
            lines.append("\nnotes for the teacher:")
            lines.extend(f"  [{name}] {note}" for name, note in notes)
        if not self.passed:
            lines.append("\nfailed checks:")
        for e in self.exercises:
            failed = [c for c in e.checks if not c.passed]
            # Checks failing for the same reason (say, not implemented) share one message.
            for message, group in itertools.groupby(failed, key=lambda c: c.message):
                lines.extend(f"  [{e.name}] 0/{c.max_points}  {c.description}" for c in group)
                lines.extend(f"      {line}" for line in message.splitlines())
        return "\n".join(lines)


def exercises_for(only: list[str] | None = None, teacher: str | Path | None = None
                  ) -> list[Exercise]:
    """The exercises to grade, with a teacher file's points and hidden checks applied.

    Raises
    ------
    ValueError
        If ``only`` names an unknown exercise or the teacher file is invalid.
    """
    names = [e.name for e in EXERCISES]
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise ValueError(f"unknown exercise {unknown[0]!r}; choose from {', '.join(names)}")
    chosen = [e for e in EXERCISES if only is None or e.name in only]
    if teacher is not None:
        from .teacher import load

        rules = load(teacher)
        chosen = [rules.apply(e) for e in chosen]
    return chosen


def grade(
    directory: str | Path,
    only: list[str] | None = None,
    *,
    teacher: str | Path | None = None,
    time_limit: float = TIME_LIMIT,
    memory_mb: int = MEMORY_MB,
    jobs: int | None = None,
) -> GradeReport:
    """Grade the student files in ``directory`` (those named by the exercises).

    Every ``.py`` and ``.ipynb`` of ``directory`` is read before any student
    code runs, and each exercise is graded from a private copy of them all:
    a file that rewrites a sibling (or itself) scores 0 for its own exercise
    and changes nothing graded; a file of ``directory`` that changes while
    grading is noted (``ExerciseResult.notes``) and graded as it was.

    Parameters
    ----------
    directory : str or Path
        Holds ``sigmoid.py``, ``linear.py``, ... (or ``sigmoid.ipynb``, ...)
        as written by ``bprop exercises make``.
    only : list of str, optional
        Exercise names to grade; all by default.
    teacher : str or Path, optional
        A teacher file (`bprop.exercises.teacher`): points and hidden checks.
    time_limit : float, default=20
        Seconds for importing the student's file, and again for each check.
    memory_mb : int, default=2048
        Address-space limit of each grading process, in MiB.
    jobs : int, optional
        Exercises graded at the same time (default: up to 4, one per CPU).

    Returns
    -------
    GradeReport

    Raises
    ------
    FileNotFoundError
        If ``directory`` does not exist.
    ValueError
        If ``only`` or the teacher file is invalid, or a limit is not positive.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no such directory: {directory}")
    if not time_limit > 0 or not memory_mb > 0:
        raise ValueError(f"time_limit and memory_mb must be > 0, got {time_limit}, {memory_mb}")
    chosen = exercises_for(only, teacher)
    jobs = jobs or max(1, min(4, os.cpu_count() or 1, len(chosen)))
    # Read every file of the submission before any student code runs; each
    # exercise is graded from a private copy of them all, so a file that
    # rewrites its siblings (or itself) changes nothing that is graded.
    snapshot = read_submission(directory)

    with tempfile.TemporaryDirectory(prefix="bprop-grade-") as tmp:
        def one(exercise: Exercise) -> ExerciseResult:
            work = Path(tmp) / exercise.name
            work.mkdir()
            for name, data in snapshot.items():
                (work / name).write_bytes(data)
            result = grade_exercise(exercise, work, time_limit=time_limit,
                                    memory_mb=memory_mb, teacher=teacher)
            changed = _changed(work, snapshot)
            if changed:
                message = (f"{result.filename} changed {', '.join(changed)} while it was "
                           "graded: a student file must not write to the submission's files "
                           "(0 points for this exercise)")
                result = _assemble(exercise, result.filename,
                                   [{"kind": "refused", "message": message}], "")
            return result

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(one, chosen))
    changed = _changed(directory, snapshot)
    for result in results:
        stem = Path(result.filename).stem
        for name in changed:
            if Path(name).stem == stem:
                result.notes.append(f"{name} changed in {directory} while the submission was "
                                    "graded; it was graded as it was before grading started")
    return GradeReport(str(directory), results)


#: What `read_submission` reads: files of these kinds, at most this many and bytes.
_SUBMISSION_SUFFIXES = (".py", ".ipynb")
_SUBMISSION_FILES, _SUBMISSION_BYTES = 200, 20_000_000


def read_submission(directory: str | Path) -> dict[str, bytes]:
    """``{file name: contents}`` of the submission's Python files and notebooks (top level).

    Student files may import each other (or a helper module of their own),
    so every ``.py`` travels with each exercise's private copy.
    """
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(Path(directory).iterdir()):
        if path.suffix not in _SUBMISSION_SUFFIXES or not path.is_file():
            continue
        if len(files) >= _SUBMISSION_FILES:
            break
        data = path.read_bytes()
        total += len(data)
        if total > _SUBMISSION_BYTES:
            break
        files[path.name] = data
    return files


def _changed(directory: Path, snapshot: dict[str, bytes]) -> list[str]:
    """The snapshot's files that now differ (or are gone) in ``directory``, and new ones."""
    changed = []
    for name, data in snapshot.items():
        try:
            if (directory / name).read_bytes() != data:
                changed.append(name)
        except OSError:
            changed.append(name)
    try:
        now = {p.name for p in Path(directory).iterdir()
               if p.suffix in _SUBMISSION_SUFFIXES and p.is_file()}
    except OSError:
        now = set()
    return changed + sorted(now - set(snapshot))


def student_file(exercise: Exercise, directory: Path) -> Path:
    """``directory/sigmoid.py``, or ``sigmoid.ipynb`` if only the notebook is there."""
    path = directory / exercise.filename
    notebook = path.with_suffix(".ipynb")
    return notebook if not path.exists() and notebook.exists() else path


def grade_exercise(
    exercise: Exercise,
    directory: str | Path,
    *,
    time_limit: float = TIME_LIMIT,
    memory_mb: int = MEMORY_MB,
    teacher: str | Path | None = None,
) -> ExerciseResult:
    """Grade one exercise in a new process; every way it can end is this exercise's result."""
    directory = Path(directory).resolve()
    path = student_file(exercise, directory)
    if not path.is_file():  # nothing to run: no process needed
        missing = {"kind": "import_error",
                   "message": f"could not import {path.name}: FileNotFoundError: "
                              f"{path.name} is missing"}
        return _assemble(exercise, path.name, [missing], "")
    read_fd, write_fd = os.pipe()
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    env.update(PYTHONDONTWRITEBYTECODE="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    command = [sys.executable, "-s", "-c", _SUPERVISOR, _RUNNER, exercise.name, str(path),
               str(write_fd), str(time_limit), str(memory_mb),
               str(Path(teacher).resolve()) if teacher else ""]
    token = secrets.token_hex(16)  # results must carry it: stray lines are not results
    chunks: list[bytes] = []
    with tempfile.TemporaryFile() as stderr:
        try:
            proc = subprocess.Popen(command, cwd=directory, env=env, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=stderr,
                                    pass_fds=(write_fd,), start_new_session=True)
        finally:
            os.close(write_fd)
        reader = threading.Thread(target=_read_all, args=(read_fd, chunks), daemon=True)
        reader.start()
        wall = time_limit * (len(exercise.checks) + 1) + _STARTUP_S
        timed_out = False
        try:
            status, _ = proc.communicate(token.encode() + b"\n", timeout=wall)
        except subprocess.TimeoutExpired:
            timed_out, status = True, b""
        _kill_group(proc)  # the runner too, and whatever the student's file started
        proc.wait()
        reader.join(timeout=5)
        stderr.seek(0, os.SEEK_END)
        stderr.seek(max(0, stderr.tell() - 2000))
        tail = stderr.read().decode(errors="replace").strip().splitlines()
    try:
        returncode: int | None = int(status.decode().strip())
    except ValueError:  # the supervisor itself was killed: by the student's file
        returncode = None
    records = _parse(b"".join(chunks), token)
    ending = _ending(returncode, timed_out, wall, tail, path.name, memory_mb)
    return _assemble(exercise, path.name, records, ending)


def _read_all(fd: int, chunks: list[bytes]) -> None:
    with os.fdopen(fd, "rb") as pipe:
        while True:
            data = pipe.read(65536)
            if not data:
                return
            if sum(map(len, chunks)) < 10_000_000:  # a flood from the student is cut
                chunks.append(data)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        pass


def _parse(data: bytes, token: str) -> list[dict]:
    records = []
    for line in data.decode(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "kind" in record and record.get("token") == token:
            records.append(record)
    return records


def _ending(returncode: int | None, timed_out: bool, wall: float, tail: list[str], filename: str,
            memory_mb: int) -> str:
    """Why a grading process stopped early, in words for the student."""
    if timed_out:
        return f"stopped after {wall:g} s: is there an endless loop?"
    if returncode is None:
        return (f"the grading process was killed from inside: {filename} must not stop or "
                "kill processes")
    if returncode is not None and returncode < 0:
        sig = -returncode
        if sig == getattr(signal, "SIGXCPU", -1):
            return "stopped: used up its CPU time limit (is there an endless loop?)"
        if sig == signal.SIGKILL:
            return f"killed (out of memory? the limit is {memory_mb} MiB)"
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        return f"the grading process crashed ({name}) while running {filename}"
    last = next((line for line in reversed(tail) if line.strip()), "")
    detail = f": {last}" if last else ""
    return (f"the grading process ended (exit status {returncode}) before the checks "
            f"finished: {filename} must not call exit(), os._exit() or end the program{detail}")


def _assemble(exercise: Exercise, filename: str, records: list[dict],
              ending: str) -> ExerciseResult:
    result = ExerciseResult(exercise.name, exercise.title, filename)
    by_kind = {r["kind"]: r for r in records}
    done = {r["index"]: r for r in records if r["kind"] == "check"}
    result.notes += [str(r.get("message", "")) for r in records if r["kind"] == "note"]
    # A refusal (sent at once, say when the file read the solutions) names the
    # trick; the import error it may have caused only follows from it.
    stop = by_kind.get("refused") or by_kind.get("import_error")
    imported = "imported" in by_kind
    first_missing = True
    for i, check in enumerate(exercise.checks):
        if stop is not None:
            message, passed = str(stop.get("message", "")), False
        elif i in done:
            message, passed = str(done[i].get("message", "")), bool(done[i].get("passed"))
        elif not imported:
            message, passed = f"while importing {filename}: {ending}", False
        elif first_missing:
            message, passed, first_missing = ending, False, False
        else:
            message, passed = "not run: the grading process stopped during an earlier check", \
                False
        grad_error = done[i].get("grad_error") if i in done and stop is None else None
        result.checks.append(CheckResult(
            check.description, check.points if passed else 0, check.points, passed, message,
            float(grad_error) if isinstance(grad_error, int | float) else None, check.hidden))
    return result
