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
  the computing methods of every ``bprop`` class (but the Layer, Parameter
  and Value the stubs build on) that looks, on the stack, for any code that
  did not exist before the student's file ran (the file itself, or code it
  built with ``exec``/``compile`` under any file name); any call in a thread
  other than the main one (the grader has no other) is the student's too.
- **Hooks.** A ``sys``/``threading`` profile or trace hook set after the
  import or after a check scores 0 (it could read and change the grader's
  frames).
- **Results.** The token and the pipe live in an audit hook's closure, which
  writes only for ``_send`` called from `main`; no frame holds them. The original methods are
  found by their code, not their name: a function the student's module can
  reach (globals, class attributes, closures, defaults) whose code *is* a
  library method's (``__wrapped__``, ``types.FunctionType(f.__code__, ...)``)
  or, for code not compiled from the submitted file (or any code run with
  ``exec``, seen by an audit hook), equals a library
  method's or a reference solution's (``exec`` of the library source or of
  ``bprop/exercises/solutions/NAME.py``) scores 0, naming it.
- **The reference solutions.** Reading a file of ``bprop/exercises/solutions``
  while being graded (an audit hook sees every ``open``) scores 0 at once,
  and so does a submitted file that is the shipped reference verbatim.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import importlib.util
import json
import os
import signal
import sys
import threading
import traceback
import types
from collections.abc import Iterator
from pathlib import Path

# Modules whose attributes a student file must leave alone (prefixes).
WATCHED = ("bprop", "bprop_teacher_file", "numpy", "builtins", "math", "json", "os", "signal",
           "traceback", "warnings", "importlib", "types", "functools", "itertools",
           "dataclasses", "pathlib", "resource", "operator", "copy", "inspect", "sys",
           "threading")
# Modules where data counts as much as code: the grader and the gradient checker.
STRICT = ("bprop.exercises", "bprop.gradcheck", "bprop_teacher_file")
_MISSING = object()
HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by Python code, not a C type
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
    """Wraps the library classes' methods; records calls made from code the student brought.

    A call counts as the student's when any frame on its stack runs code that
    did not exist before the student's file was imported (`trust_existing`):
    the file itself, or anything it compiled, whatever file name it gave.
    """

    def __init__(self, student_file: str) -> None:
        self.student_file = student_file
        self.calls: list[str] = []
        self.methods: dict[int, str] = {}  # id of a library method (either form) -> its name
        self.codes: dict[int, tuple[str, types.CodeType]] = {}  # id of its code -> name, code
        self.trusted: dict[int, types.CodeType] = {}
        self.types: dict[int, type] = {}  # the classes that existed before the import
        self.on_call = None  # called with the method's name at once (sends the refusal)

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
            self.codes[id(member.__code__)] = (qualname, member.__code__)

    def trust_existing(self) -> None:
        """Remember every code object that exists now: the grader's, the library's, Python's."""
        trusted = self.trusted
        classes = {}
        for obj in gc.get_objects():
            if isinstance(obj, types.FunctionType):
                _add_codes(obj.__code__, trusted)
            elif isinstance(obj, type):
                classes[id(obj)] = obj  # kept alive: a new class cannot reuse its id
        self.types = classes
        frame = sys._getframe()
        while frame is not None:  # the runner's own frames (its -c module has no function)
            _add_codes(frame.f_code, trusted)
            frame = frame.f_back

    def _guard(self, method, qualname: str):
        calls, trusted, tripwire = self.calls, self.trusted, self
        main_thread = threading.main_thread()

        @functools.wraps(method)
        def guarded(*args, **kwargs):
            # The grader runs in the main thread only: a library method running in
            # any other thread was started by the student's code (a Thread, an
            # executor), whose stack no longer shows the student's frames.
            frame = None if threading.current_thread() is not main_thread else sys._getframe(1)
            if frame is None:
                calls.append(f"{qualname} (in another thread)")
                if tripwire.on_call is not None:
                    tripwire.on_call(f"{qualname} (in another thread)")
            while frame is not None:
                if id(frame.f_code) not in trusted:
                    calls.append(qualname)
                    if tripwire.on_call is not None:
                        tripwire.on_call(qualname)
                    break
                frame = frame.f_back
            return method(*args, **kwargs)

        return guarded


def _add_codes(code: types.CodeType, into: dict[int, types.CodeType]) -> None:
    into[id(code)] = code
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and id(const) not in into:
            _add_codes(const, into)


def code_key(code: types.CodeType, where: bool = False) -> tuple:
    """What a function's code computes (bytecode, constants, names), not where it lives.

    With ``where``, also the file and first line: the key of code compiled
    from one particular file.
    """
    consts = tuple(code_key(c, where) if isinstance(c, types.CodeType)
                   else (type(c).__name__, repr(c)) for c in code.co_consts)
    key = (code.co_name, code.co_code, consts, code.co_names, code.co_varnames)
    return key + (code.co_filename, code.co_firstlineno) if where else key


def _all_codes(code: types.CodeType) -> list[types.CodeType]:
    found: dict[int, types.CodeType] = {}
    _add_codes(code, found)
    return list(found.values())


def solution_answers() -> dict[tuple, str]:
    """``{code_key: "bprop/exercises/solutions/NAME.py"}`` of every function holding an answer.

    An answer function is one whose reference version differs from the
    student version (the scaffold's functions are given to everyone).
    """
    from .checks import EXERCISES
    from .kit import keep_solutions, solution_source, strip_solutions

    answers: dict[tuple, str] = {}
    for e in EXERCISES:
        source = solution_source(e.filename)
        scaffold = compile(strip_solutions(source), "s", "exec", dont_inherit=True)
        given = {code_key(c) for c in _all_codes(scaffold)}
        for c in _all_codes(compile(keep_solutions(source), "r", "exec", dont_inherit=True)):
            if code_key(c) not in given and c.co_name != "<module>":
                answers[code_key(c)] = f"bprop/exercises/solutions/{e.filename}"
    return answers


def copied_reference(exercise, text: str) -> tuple[str, bool]:
    """Whether ``text`` (the submitted file) is the shipped reference: (message, refuse).

    The marked reference (with its ``# BEGIN SOLUTION`` lines, which no
    student writes) is refused: 0 points. The reference as ``make
    --solutions`` writes it keeps its points but is noted for the teacher
    (the table, ``feedback.md``, ``grades.json`` and the class CSV): a short
    answer typed exactly like the reference cannot be told from a copy, and
    the teacher grades that very file to try the kit.
    """
    from .kit import keep_solutions, solution_source

    def norm(t: str) -> str:
        return "\n".join(line.rstrip() for line in t.replace("\r\n", "\n").split("\n")).strip()

    source = solution_source(exercise.filename)
    where = f"bprop/exercises/solutions/{exercise.filename}"
    if norm(text) == norm(source):
        return (f"{exercise.filename} is the reference solution shipped in {where} (with its "
                "SOLUTION markers): write the exercise yourself (0 points for this exercise)",
                True)
    if norm(text) == norm(keep_solutions(source)):
        return (f"{exercise.filename} is identical to the reference solution ({where}, as "
                "written by `bprop exercises make --solutions`)", False)
    return "", False


def provenance(exercise, module, path: str, source: str | bytes | None, tripwire: Tripwire,
               library_keys: dict[tuple, str], answers: dict[tuple, str]) -> str:
    """Why code the student's module can reach is not the student's own ("" if it is).

    Every function reachable from the module (globals, classes defined after
    the grader started, closures, defaults, containers) is looked at:

    - its code *is* a library method's code (``__wrapped__``, a clone made
      with ``types.FunctionType``): refused;
    - it was not compiled from the submitted file as submitted (built at run
      time by ``exec``/``compile``, under any file name) and computes what a
      library method or a reference solution computes: refused;
    - a graded class's forward/backward/step not compiled from the submitted
      file: refused (a student writes their answer in their file).
    """
    own_keys = own_code_keys(source, path)
    filename = Path(path).name
    for where, fn in _reachable_functions(module, tripwire.trusted, tripwire.types):
        code = fn.__code__
        if id(code) in tripwire.codes or id(fn) in tripwire.methods:
            name = tripwire.codes.get(id(code), (tripwire.methods.get(id(fn)), None))[0]
            return (f"{where} is {name} from the library (its code, reached through "
                    f"__wrapped__, a closure or types.FunctionType): write it yourself "
                    "(0 points for this exercise)")
        if id(code) in tripwire.trusted or code_key(code, where=True) in own_keys:
            continue
        origin = (f"code built at run time from {code.co_filename!r} (exec/compile), not "
                  f"written in {filename}")
        key = code_key(code)
        if key in library_keys:
            return (f"{where} is a copy of {library_keys[key]}, the library's implementation "
                    f"({origin}): write it yourself (0 points for this exercise)")
        if key in answers:
            return (f"{where} is the reference solution from {answers[key]} ({origin}): write "
                    "it yourself (0 points for this exercise)")
        owner, _, attr = where.rpartition(".")
        if attr in COMPUTING and owner in exercise.own:
            return (f"{where} is {origin}: write {owner} in {filename} itself "
                    "(0 points for this exercise)")
    return ""


def own_code_keys(source: str | bytes | None, path: str) -> set[tuple]:
    """``code_key(where=True)`` of every code object of the submitted file, as submitted."""
    if source is None:
        return set()
    try:
        # As the import compiles it: from the bytes, none of the grader's __future__ flags.
        code = compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return set()
    return {code_key(c, where=True) for c in _all_codes(code)}


def _reachable_functions(module, trusted: dict[int, types.CodeType],
                         trusted_types: dict[int, type] | None = None,
                         limit: int = 20000):
    """``(where, function)`` for every function reachable from ``module``'s namespace."""
    seen: set[int] = set()
    trusted_types = trusted_types or {}
    # Classes that existed before the student's file ran; a class it built (even
    # one whose __module__ claims to be the library's) is walked.
    stack = [(name, value) for name, value in reversed(list(vars(module).items()))
             if name != "__builtins__"]
    while stack and len(seen) < limit:
        where, obj = stack.pop()
        if id(obj) in seen or isinstance(obj, types.ModuleType):
            continue
        seen.add(id(obj))
        if isinstance(obj, staticmethod | classmethod | types.MethodType):
            stack.append((where, obj.__func__))
        elif isinstance(obj, property):
            stack += [(where, f) for f in (obj.fget, obj.fset, obj.fdel) if f is not None]
        elif isinstance(obj, functools.partial):
            stack += [(where, obj.func), *((where, a) for a in obj.args)]
        elif isinstance(obj, types.FunctionType):
            yield where, obj
            if id(obj.__code__) in trusted:  # a library function: not walked into
                continue
            for cell in obj.__closure__ or ():
                try:
                    stack.append((f"{where} (closure)", cell.cell_contents))
                except ValueError:  # an empty cell
                    pass
            stack += [(f"{where} (default)", d) for d in obj.__defaults__ or ()]
            stack += [(f"{where} (default)", d) for d in (obj.__kwdefaults__ or {}).values()]
            if obj.__globals__ is not vars(module):
                stack += [(f"{where} (globals)", v) for v in list(obj.__globals__.values())]
        elif isinstance(obj, type):
            if id(obj) in trusted_types or not obj.__flags__ & HEAPTYPE:
                continue  # the library's and numpy's classes: not the student's
            stack += [(f"{obj.__name__}.{k}", v) for k, v in list(vars(obj).items())]
        elif isinstance(obj, list | tuple | set | frozenset):
            stack += [(where, v) for v in list(obj)[:1000]]
        elif isinstance(obj, dict):
            stack += [(where, v) for v in list(obj.values())[:1000]]
        elif hasattr(obj, "__dict__") and not isinstance(obj, type) and \
                type(obj).__module__.split(".")[0] not in WATCHED:
            try:
                stack += [(f"{where}.{k}", v) for k, v in list(vars(obj).items())]
            except TypeError:
                pass


def library_code_keys(classes: list[type], tripwire: Tripwire) -> dict[tuple, str]:
    """``{code_key: "bprop.layers.Sigmoid.backward"}`` of the library's computing methods.

    Keys that the student scaffolds give everyone (a forward written like
    the library's) are left out: using the scaffold is not copying.
    """
    from .checks import EXERCISES
    from .kit import solution_source, strip_solutions

    given: set[tuple] = set()
    for e in EXERCISES:
        compiled = compile(strip_solutions(solution_source(e.filename)), "s", "exec",
                           dont_inherit=True)
        given |= {code_key(c) for c in _all_codes(compiled)}
    keys = {}
    for name, code in tripwire.codes.values():
        for c in _all_codes(code):
            if code_key(c) not in given:
                keys[code_key(c)] = name
    # Every other function of the library modules of the graded classes: the
    # source of bprop.layers.activations run with exec under another name has
    # the same bytecode and constants.
    for modname, mod in list(sys.modules.items()):
        if mod is None or not modname.startswith(LIBRARY_CODE):
            continue
        for value in list(vars(mod).values()):
            members = [value]
            if isinstance(value, type) and value.__module__ == modname:
                members = [getattr(m, "__func__", m) for m in vars(value).values()]
            for f in members:
                if isinstance(f, types.FunctionType) and f.__module__ == modname:
                    for c in _all_codes(f.__code__):
                        key = code_key(c)
                        if key not in given:
                            keys.setdefault(key, f"{modname}.{f.__qualname__}")
    return keys


# Library modules whose functions a student may not copy with exec.
LIBRARY_CODE = ("bprop.layers", "bprop.losses", "bprop.optim", "bprop.graph", "bprop.fused")
# Library classes a student's file is given to build on (the stubs import them).
ALLOWED = frozenset({"bprop.layers.base.Layer", "bprop.parameter.Parameter",
                     "bprop.graph.value.Value"})


def library_implementations(graded: list[type]) -> list[type]:
    """Every class of ``bprop`` outside the grader that computes (forward, backward, step).

    The graded classes first; then all the others (fused kernels, other layers,
    losses, optimizers): none of them may compute a student's answer. The
    classes the stubs build on (`ALLOWED`) are left out.
    """
    found = {id(c): c for c in graded}
    for name, mod in list(sys.modules.items()):
        if not name.startswith("bprop.") or name.startswith("bprop.exercises") or mod is None:
            continue
        for value in list(vars(mod).values()):
            if (isinstance(value, type) and value.__module__ == name
                    and f"{name}.{value.__qualname__}" not in ALLOWED
                    and COMPUTING & vars(value).keys()):
                found.setdefault(id(value), value)
    return list(found.values())


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
        exec(compile(source, path, "exec", dont_inherit=True), module.__dict__)
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
    from .spec import StudentOutputError

    exercise = next(e for e in EXERCISES if e.name == exercise_name)
    if teacher:
        exercise = teaching.load(teacher).apply(exercise)
    checks = [(c.description, c.points, c.run) for c in exercise.checks]
    _open_channel(int(fd))  # the token and the pipe live in an audit hook's closure
    send = _send

    path = os.path.realpath(path)
    source = _read_source(path)  # what was submitted, before any student code runs
    copied, refuse = copied_reference(exercise, source.decode(errors="replace")) \
        if isinstance(source, bytes) else ("", False)
    if copied:
        send(kind="refused" if refuse else "note", message=copied)
        if refuse:
            return 0
    tripwire = Tripwire(path)
    # Everything the checks use is imported now, so that the fingerprint covers it.
    import bprop.fused.kernels  # noqa: F401
    import bprop.graph  # noqa: F401
    import bprop.losses  # noqa: F401
    import bprop.optim  # noqa: F401

    classes = library_classes(exercise)
    for cls in library_implementations(classes):
        tripwire.install(cls)

    answers = solution_answers()
    library_keys = library_code_keys(classes, tripwire)
    filename = Path(path).name

    def refuse_call(qualname: str) -> None:  # sent at once: nothing can take it back
        send(kind="refused", message=_calls_message(filename, qualname))

    tripwire.on_call = refuse_call
    own_keys = own_code_keys(source, path)
    solutions_dir = os.path.realpath(Path(__file__).resolve().parent / "solutions") + os.sep

    def audit(event: str, args: tuple) -> None:
        if event == "exec" and args and isinstance(args[0], types.CodeType):
            # exec of the library's source or a reference solution, at import or
            # inside a method (where the class it makes is reachable from nothing).
            for c in _all_codes(args[0]):
                if code_key(c, where=True) in own_keys:
                    continue  # the submitted file itself (the import runs it with exec)
                key = code_key(c)
                copied = (f"a copy of {library_keys[key]}" if key in library_keys else
                          f"the reference solution from {answers[key]}" if key in answers
                          else "")
                if copied:
                    send(kind="refused", message=(
                        f"{filename} runs {copied} with exec (code compiled from "
                        f"{c.co_filename!r}): write it yourself (0 points for this exercise)"))
                    raise PermissionError("the library's code may not be exec'd while grading")
            return
        if event != "open" or not args or not isinstance(args[0], str | bytes | os.PathLike):
            return
        target = os.path.realpath(os.fsdecode(args[0]))
        if target.startswith(solutions_dir):
            send(kind="refused", message=(
                f"{filename} read {Path(target).name} from bprop/exercises/solutions, the "
                "reference solutions: write the exercise yourself (0 points for this "
                "exercise)"))
            raise PermissionError("the reference solutions are not readable while grading")

    sys.addaudithook(audit)  # cannot be removed: Python keeps audit hooks for good
    set_limits(memory_mb, time_limit * (len(checks) + 1) + 5)
    tripwire.trust_existing()
    before = fingerprint()
    name = f"student_{exercise_name}"
    context = (exercise, classes, tripwire, before, path, source, library_keys, answers)
    try:
        with check_time_limit(time_limit):  # an endless loop at module level, too
            module = load_student_module(path, name)
    except BaseException as err:  # a syntax error, a missing file, exit(): this exercise only
        send(kind="import_error", message=describe(err, path, f"could not import "
                                                             f"{Path(path).name}"))
        return 0
    refused = _refusal(module, *context)
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
        except StudentOutputError as err:  # a wrong type, caught before any use of it
            result = dict(passed=False, grad_error=None, message=str(err))
        except NotImplementedError as err:
            hint = str(err)
            result = dict(passed=False, grad_error=None,
                          message="not implemented yet" + (f" (hint: {hint})" if hint else ""))
        except BaseException as err:  # noqa: BLE001 - exit() inside a method is an error too
            result = dict(passed=False, grad_error=None, message=describe(err, path))
        refused = _refusal(module, *context)
        if refused:
            send(kind="refused", message=refused)
            return 0
        send(kind="check", index=index, description=description, points=points, **result)
    send(kind="done")
    return 0


_SEND_EVENT = "bprop.exercises.send"


def _send(**record) -> None:
    """Send one result to the parent, through the audit hook of `_open_channel`."""
    sys.audit(_SEND_EVENT, record)


def _open_channel(fd: int) -> None:
    """Read the token (before the student's file can) and keep it, with the pipe, out of reach.

    Neither is in any frame the student's code can walk to (``sys._getframe``):
    they live in the closure of an audit hook, which Python offers no way to
    list, and the hook writes only for `_send` called from this module's
    `main` (or the functions defined in it).
    """
    token = sys.stdin.readline().strip()
    out = os.fdopen(fd, "w", buffering=1)
    allowed = {id(c) for c in _all_codes(main.__code__)}
    send_code = _send.__code__

    def channel(event: str, args: tuple) -> None:
        if event != _SEND_EVENT:
            return
        caller = sys._getframe(1)
        if caller.f_code is not send_code or id(caller.f_back.f_code) not in allowed:
            return
        out.write(json.dumps({**args[0], "token": token}) + "\n")

    sys.addaudithook(channel)


def _read_source(path: str) -> str | bytes | None:
    """The submitted file's code, read before it runs: bytes of a ``.py`` (as the
    import reads it), a notebook's code cells as text; None if unreadable."""
    try:
        if not path.endswith(".ipynb"):
            return Path(path).read_bytes()
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    from .notebooks import notebook_source

    try:
        return notebook_source(text)
    except Exception:  # noqa: BLE001 - a broken notebook fails at import, with a message
        return None
    return text


def _trace_hooks() -> str:
    """The profile/trace hooks set now (``sys.setprofile`` ...), or "" if none."""
    found = [name for name, hook in (
        ("sys.setprofile", sys.getprofile()), ("sys.settrace", sys.gettrace()),
        ("threading.setprofile", getattr(threading, "_profile_hook", None)),
        ("threading.settrace", getattr(threading, "_trace_hook", None))) if hook is not None]
    return ", ".join(found)


def _calls_message(filename: str, called: str) -> str:
    return (f"{filename} calls {called}, the library's implementation of what you are "
            "asked to write: write it yourself (0 points for this exercise)")


def _refusal(module, exercise, classes, tripwire, before, path, source, library_keys,
             answers) -> str:
    hooks = _trace_hooks()
    if hooks:
        return (f"{Path(path).name} installed {hooks}: a hook that watches (and can change) "
                "the grader while it runs. A student file may only define its own functions "
                "and classes (0 points for this exercise)")
    changed = changes(before, fingerprint())
    if changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3
                                          else "")
        return (f"{Path(path).name} changed {shown}: code it does not own (the grader, the "
                "library, numpy or Python's builtins). A student file may only define its "
                "own functions and classes (0 points for this exercise)")
    if tripwire.calls:
        return _calls_message(Path(path).name, tripwire.calls[0])
    return (ownership(exercise, module, classes, tripwire)
            or provenance(exercise, module, path, source, tripwire, library_keys, answers))


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
