"""The grading process of one exercise: import the student's file, run its checks.

`bprop.exercises.grading` starts one such process per exercise (and per
student), with limits on memory and CPU time, and reads its results from a
pipe, one JSON line per check. Whatever the student's file does here (exit,
crash, loop, allocate, patch modules) stays in this process, and the parent
turns it into that exercise's error.

What this process guards against, before trusting a result:

- **Patching.** Before the student's file is imported, it fingerprints the
  grader, the library, numpy and the builtins (every module attribute, class
  attribute and function body). After the import and after every check the
  fingerprint is taken again; a difference means the file changed code it
  does not own, and the exercise scores 0, naming what was changed.
- **The library's own answer.** The graded name must be the student's:
  being, subclassing, copying a method of, or calling the library's
  implementation of the graded class (``from bprop.layers import Sigmoid``)
  scores 0 with a message saying so. Calls are caught by a wrapper around
  the library's methods that looks for the student's file on the stack.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import json
import os
import signal
import sys
import traceback
import types
from collections.abc import Iterator
from pathlib import Path

# Modules whose attributes a student file must leave alone (prefixes).
WATCHED = ("bprop", "bprop_teacher_file", "numpy", "builtins", "math", "json", "os", "signal",
           "traceback", "warnings", "importlib", "types", "functools", "itertools",
           "dataclasses", "pathlib", "resource", "operator", "copy", "inspect")
# Modules where data counts as much as code: the grader and the gradient checker.
STRICT = ("bprop.exercises", "bprop.gradcheck", "bprop_teacher_file")
_MISSING = object()
# The methods of a library class that compute what an exercise asks for.
COMPUTING = frozenset({"forward", "backward", "backward_params", "step"})


def set_limits(memory_mb: int, cpu_seconds: float) -> None:
    """Limit this process's address space and CPU time (POSIX; no-op elsewhere)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if cpu_seconds > 0:
        soft = int(cpu_seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 2))
    # Files the student's code writes (and its error output) stay small.
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024 * 1024, 64 * 1024 * 1024))


def _watched_modules() -> dict[str, types.ModuleType]:
    return {
        name: mod for name, mod in list(sys.modules.items())
        if isinstance(mod, types.ModuleType) and name.split(".")[0] in WATCHED
    }


def _function_parts(f) -> tuple:
    """Identity of a function's body and defaults, and whether ``f`` is code at all."""
    code_like = callable(f) or isinstance(f, types.ModuleType)
    return (id(getattr(f, "__code__", None)), id(getattr(f, "__defaults__", None)),
            id(getattr(f, "__kwdefaults__", None)), code_like)


def fingerprint() -> dict[str, dict]:
    """``{module: {attribute: identity}}``, with class attributes and function bodies."""
    prints: dict[str, dict] = {}
    for name, mod in _watched_modules().items():
        entries: dict[str, tuple] = {"<module>": (id(mod), True)}
        for key, value in list(vars(mod).items()):
            entries[key] = (id(value), *_function_parts(value))
            if isinstance(value, type) and value.__module__ == name:
                for attr, member in list(vars(value).items()):
                    inner = getattr(member, "__func__", member)
                    entries[f"{key}.{attr}"] = (id(member), *_function_parts(inner))
        prints[name] = entries
    return prints


def changes(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """What differs between two fingerprints, as ``module.attribute`` names.

    In the grader and the gradient checker every attribute counts (a
    tolerance is data); elsewhere only code (functions, classes, modules),
    since libraries rebind their own caches.
    """
    found = []
    for name, entries in before.items():
        now = after.get(name)
        if now is None or now["<module>"] != entries["<module>"]:
            found.append(f"sys.modules[{name!r}]")
            continue
        strict = name.startswith(STRICT)
        for key, ident in entries.items():
            new = now.get(key, _MISSING)
            if new != ident and (strict or new is _MISSING or ident[-1] or new[-1]):
                found.append(f"{name}.{key}")
        for key in now.keys() - entries.keys():
            # Lazily imported submodules and warning registries appear by themselves;
            # a new function in a library module would shadow a builtin there.
            if ((strict or now[key][-1]) and key != "__warningregistry__"
                    and not _is_module_attr(name, key)):
                found.append(f"{name}.{key}")
    return found


def _is_module_attr(module: str, key: str) -> bool:
    value = getattr(sys.modules.get(module), key.split(".")[0], None)
    return isinstance(value, types.ModuleType)


def library_classes(exercise) -> list[type]:
    """The library's implementations of what the exercise grades."""
    found = []
    for ref in exercise.library:
        if ref == "registry:layer":
            from ..registry import lookup, names

            found += [lookup("layer", n) for n in names("layer")]
        else:
            module, _, attr = ref.partition(":")
            found.append(getattr(importlib.import_module(module), attr))
    return found


class Tripwire:
    """Wraps the library classes' methods; records calls made from the student's file."""

    def __init__(self, student_file: str) -> None:
        self.student_file = student_file
        self.calls: list[str] = []
        self.methods: dict[int, str] = {}  # id of a library method (either form) -> its name

    def install(self, cls: type) -> None:
        """Wrap the methods that compute (forward, backward, step) of ``cls``."""
        for attr, member in list(vars(cls).items()):
            if not isinstance(member, types.FunctionType) or attr not in COMPUTING:
                continue
            qualname = f"{cls.__module__.split('.')[0]}.{_public_module(cls)}.{cls.__name__}.{attr}"
            guarded = self._guard(member, qualname)
            setattr(cls, attr, guarded)
            self.methods[id(member)] = qualname
            self.methods[id(guarded)] = qualname

    def _guard(self, method, qualname: str):
        student_file, calls = self.student_file, self.calls

        @functools.wraps(method)
        def guarded(*args, **kwargs):
            frame = sys._getframe(1)
            while frame is not None:
                if frame.f_code.co_filename == student_file:
                    calls.append(qualname)
                    break
                frame = frame.f_back
            return method(*args, **kwargs)

        return guarded


def _public_module(cls: type) -> str:
    """``layers`` for bprop.layers.activations.Sigmoid: where students import it from."""
    parts = cls.__module__.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def ownership(exercise, module, classes: list[type], tripwire: Tripwire) -> str:
    """Why the graded names are not the student's own ("" if they are)."""
    library = {id(c): f"bprop.{_public_module(c)}.{c.__name__}" for c in classes}
    for name in exercise.own:
        obj = getattr(module, name, None)
        if obj is None:
            continue
        if id(obj) in library:
            return (f"{name} is {library[id(obj)]}, imported from the library: the exercise "
                    f"is to write {name} yourself (0 points for this exercise)")
        if isinstance(obj, type):
            for base in obj.__mro__[1:]:
                if id(base) in library:
                    return (f"{name} subclasses {library[id(base)]}, the library's "
                            f"implementation: write {name} yourself, as a subclass of the "
                            "scaffold's base class (0 points for this exercise)")
            for klass in obj.__mro__:
                for attr, member in vars(klass).items():
                    inner = getattr(member, "__func__", member)
                    if id(inner) in tripwire.methods:
                        return (f"{name}.{attr} is {tripwire.methods[id(inner)]} from the "
                                f"library: write it yourself (0 points for this exercise)")
    if exercise.name != "custom_layer":
        for attr, value in vars(module).items():
            if id(value) in library and attr not in exercise.own:
                return (f"{exercise.filename} imports {library[id(value)]} (as {attr}): "
                        "the library's implementation of what you are asked to write; "
                        "remove the import (0 points for this exercise)")
    return ""


def describe(err: BaseException, path: str, prefix: str = "") -> str:
    """``ErrorType at line N of file: message``, pointing into the student's file."""
    line = None
    real = os.path.realpath(path)
    for frame in traceback.extract_tb(err.__traceback__):
        if os.path.realpath(frame.filename) == real:
            line = frame.lineno
    if isinstance(err, SyntaxError) and err.lineno is not None and (
        err.filename is None or os.path.realpath(err.filename) == real
    ):
        line = err.lineno
    where = f" at line {line} of {Path(path).name}" if line is not None else ""
    text = f"{type(err).__name__}{where}: {err}"
    if isinstance(err, SystemExit):
        text = (f"SystemExit{where}: the file called exit({err.code!r}); a student file "
                "must not stop the program")
    elif isinstance(err, MemoryError):
        text += " (out of memory: the grader limits each exercise's memory)"
    return f"{prefix}: {text}" if prefix else text


def load_student_module(path: str, name: str) -> types.ModuleType:
    """Execute the file at ``path`` as a new module called ``name``."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{Path(path).name} is missing")
    if path.endswith(".ipynb"):
        from .notebooks import notebook_source

        source = notebook_source(Path(path).read_text())
        module = types.ModuleType(name)
        module.__file__ = path
        sys.modules[name] = module
        exec(compile(source, path, "exec"), module.__dict__)
        return module
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    """``runner EXERCISE STUDENT_FILE RESULT_FD TIME_LIMIT MEMORY_MB [TEACHER_FILE]``."""
    exercise_name, path, fd, time_limit, memory_mb = argv[:5]
    teacher = argv[5] if len(argv) > 5 else ""
    time_limit, memory_mb = float(time_limit), int(memory_mb)
    import warnings

    import numpy as np

    from . import teacher as teaching
    from .checks import EXERCISES

    exercise = next(e for e in EXERCISES if e.name == exercise_name)
    if teacher:
        exercise = teaching.load(teacher).apply(exercise)
    checks = [(c.description, c.points, c.run) for c in exercise.checks]
    token = sys.stdin.readline().strip()  # before the student's file can read it
    out = os.fdopen(int(fd), "w", buffering=1)
    write, dumps = out.write, json.dumps

    def send(**record) -> None:
        write(dumps({**record, "token": token}) + "\n")

    path = os.path.realpath(path)
    tripwire = Tripwire(path)
    classes = library_classes(exercise)
    for cls in classes:
        tripwire.install(cls)
    # Everything the checks use is imported now, so that the fingerprint covers it.
    import bprop.graph  # noqa: F401
    import bprop.losses  # noqa: F401
    import bprop.optim  # noqa: F401

    set_limits(memory_mb, time_limit * (len(checks) + 1) + 5)
    before = fingerprint()
    name = f"student_{exercise_name}"
    try:
        with check_time_limit(time_limit):  # an endless loop at module level, too
            module = load_student_module(path, name)
    except BaseException as err:  # a syntax error, a missing file, exit(): this exercise only
        send(kind="import_error", message=describe(err, path, f"could not import "
                                                             f"{Path(path).name}"))
        return 0
    refused = _refusal(exercise, module, classes, tripwire, before, path)
    if refused:
        send(kind="refused", message=refused)
        return 0
    send(kind="imported")
    for index, (description, points, run) in enumerate(checks):
        try:
            with check_time_limit(time_limit), warnings.catch_warnings(), \
                    np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                outcome = run(module)
            if isinstance(outcome, bool):  # a teacher's check may answer yes or no
                outcome = types.SimpleNamespace(passed=outcome, message="" if outcome else
                                                "this check failed", grad_error=None)
            result = dict(passed=bool(outcome.passed), message=str(outcome.message),
                          grad_error=None if outcome.grad_error is None
                          else float(outcome.grad_error))
        except NotImplementedError as err:
            hint = str(err)
            result = dict(passed=False, grad_error=None,
                          message="not implemented yet" + (f" (hint: {hint})" if hint else ""))
        except BaseException as err:  # noqa: BLE001 - exit() inside a method is an error too
            result = dict(passed=False, grad_error=None, message=describe(err, path))
        refused = _refusal(exercise, module, classes, tripwire, before, path)
        if refused:
            send(kind="refused", message=refused)
            return 0
        send(kind="check", index=index, description=description, points=points, **result)
    send(kind="done")
    return 0


def _refusal(exercise, module, classes, tripwire, before, path) -> str:
    changed = changes(before, fingerprint())
    if changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3
                                          else "")
        return (f"{Path(path).name} changed {shown}: code it does not own (the grader, the "
                "library, numpy or Python's builtins). A student file may only define its "
                "own functions and classes (0 points for this exercise)")
    if tripwire.calls:
        called = tripwire.calls[0]
        return (f"{Path(path).name} calls {called}, the library's implementation of what "
                "you are asked to write: write it yourself (0 points for this exercise)")
    return ownership(exercise, module, classes, tripwire)


class GradingTimeout(Exception):
    """A check ran longer than its time limit (an endless loop, say)."""


@contextlib.contextmanager
def check_time_limit(seconds: float) -> Iterator[None]:
    """Raise `GradingTimeout` in the main thread after ``seconds`` (POSIX SIGALRM).

    The parent's wall-clock limit on the whole process backs this up (a loop
    that catches the exception, a file that ignores SIGALRM).
    """
    if not hasattr(signal, "SIGALRM"):  # pragma: no cover - Windows
        yield
        return

    def _raise(signum, frame):
        raise GradingTimeout(f"stopped after {seconds:g} s: is there an endless loop?")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
