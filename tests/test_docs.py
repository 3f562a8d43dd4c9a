"""Every public function and method of the documented packages has its numpydoc sections.

Public: no leading underscore, defined in bprop (not imported from numpy or
the standard library), and the operators a user calls through syntax
(``layer(x)``, ``history["loss"]``, ``a * b`` on a `Value`: see `OPERATORS`).
A callable that takes arguments has ``Parameters``; one that returns a value
(its annotation, or a ``return <value>`` in its body) has ``Returns`` (or
``Yields``); one whose body raises an exception (other than
NotImplementedError, a base class's "implement me") has ``Raises``. A class
whose constructor takes arguments documents them (``Parameters`` or, for a
dataclass, ``Attributes``). A method that overrides a documented base method
may inherit the base's docstring.

The sections must agree with the signature: ``Parameters`` names every
argument and nothing else (so an override with an argument its base lacks
needs its own docstring), and a function that returns nothing has no
``Returns``. The gates of the scalar graphs state their derivative (`Value`:
``d(out)/d(self)``; `Dual`: ``out.deriv = ...``), and the examples in these
modules' docstrings run.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
import pkgutil
import textwrap
import types
from collections.abc import Iterator

import pytest

MODULES = [
    "bprop.layers",
    "bprop.losses",
    "bprop.optim",
    "bprop.training",
    "bprop.gradcheck",
    "bprop.graph",
    "bprop.estimators",
    "bprop.modelfile",
]

#: Dunder methods that are public API: called through syntax, not by name.
OPERATORS = {
    "__call__", "__getitem__", "__neg__", "__abs__",
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
    "__truediv__", "__rtruediv__", "__pow__", "__rpow__",
}


def _has(doc: str, name: str) -> bool:
    return f"{name}\n{'-' * len(name)}" in doc


def _section(doc: str, name: str) -> str | None:
    """The body of one numpydoc section (up to the next header), or None."""
    lines = doc.splitlines()
    for i in range(len(lines) - 1):
        if lines[i] == name and lines[i + 1] == "-" * len(name):
            body = []
            for j in range(i + 2, len(lines)):
                nxt = lines[j + 1] if j + 1 < len(lines) else ""
                if lines[j] and not lines[j][0].isspace() and set(nxt) == {"-"}:
                    break
                body.append(lines[j])
            return "\n".join(body)
    return None


def _documented(section: str) -> set[str]:
    """The names a Parameters section describes (``x : ...``, ``a, b : ...``, ``*args``)."""
    names = set()
    for line in section.splitlines():
        if line and not line[0].isspace():
            head = line.split(" : ")[0]
            names.update(n.strip().lstrip("*") for n in head.split(","))
    return names


def _modules() -> Iterator[object]:
    for name in MODULES:
        module = importlib.import_module(name)
        yield module
        if hasattr(module, "__path__"):
            for info in pkgutil.walk_packages(module.__path__, prefix=f"{name}."):
                yield importlib.import_module(info.name)


def _public() -> Iterator[tuple[str, object, type | None]]:
    """(qualified name, function or class, owning class or None), each once."""
    seen: set[int] = set()
    for module in _modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj, None
            elif inspect.isclass(obj):
                yield f"{module.__name__}.{name}", obj, None
                for meth_name, meth in vars(obj).items():
                    # classmethods, staticmethods and available_if wrap the function
                    meth = getattr(meth, "__func__", getattr(meth, "fn", meth))
                    public = not meth_name.startswith("_") or meth_name in OPERATORS
                    if public and inspect.isfunction(meth):
                        yield f"{module.__name__}.{name}.{meth_name}", meth, obj


def _body(func) -> ast.AST | None:
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return None
    tree = ast.parse(source)
    return tree.body[0] if tree.body else None


def _own_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, not of the functions or classes nested in it."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield child
        yield from _own_nodes(child)


def _raises(node: ast.AST) -> bool:
    for n in _own_nodes(node):
        if isinstance(n, ast.Raise) and n.exc is not None:
            exc = n.exc.func if isinstance(n.exc, ast.Call) else n.exc
            if getattr(exc, "id", None) != "NotImplementedError":
                return True
    return False


def _returns_value(func, node: ast.AST | None) -> bool:
    annotation = inspect.signature(func).return_annotation
    if annotation is not inspect.Signature.empty:
        return annotation not in (None, "None", "NoReturn")
    return node is not None and any(
        isinstance(n, ast.Return) and n.value is not None for n in _own_nodes(node)
    )


def _doc(func, owner: type | None) -> str:
    """The function's docstring, or (for an override without sections) its base's."""
    own = inspect.cleandoc(func.__doc__ or "")
    if owner is None or "\n---" in own:
        return own
    for base in owner.__mro__[1:]:
        inherited = getattr(base, func.__name__, None)
        if inherited is not None and (inherited.__doc__ or ""):
            return inspect.cleandoc(inherited.__doc__)
    return own


def _missing(func, owner: type | None) -> list[str]:
    """What the docstring lacks or gets wrong; empty when it is complete."""
    doc = _doc(func, owner)
    if inspect.isclass(func):
        init = vars(func).get("__init__")
        if init is None or issubclass(func, BaseException):
            return []
        args = [p for p in inspect.signature(init).parameters if p != "self"]
        documented = _has(doc, "Parameters") or _has(doc, "Attributes")
        if args and not documented:
            return ["Parameters"]
        return _signature_problems(args, doc, also="Attributes")
    node = _body(func)
    missing = []
    args = [p for p in inspect.signature(func).parameters if p not in ("self", "cls")]
    if args and not _has(doc, "Parameters"):
        missing.append("Parameters")
    returns = _returns_value(func, node)
    if returns and not (_has(doc, "Returns") or _has(doc, "Yields")):
        missing.append("Returns")
    if not returns and _has(doc, "Returns") and not _is_generator(node):
        missing.append("Returns of a function that returns nothing")
    if node is not None and _raises(node) and not _has(doc, "Raises"):
        missing.append("Raises")
    return missing + _signature_problems(args, doc)


def _signature_problems(args: list[str], doc: str, also: str | None = None) -> list[str]:
    """Arguments missing from the Parameters section, and names in it that are no argument."""
    params = _section(doc, "Parameters")
    if params is None and also is None:
        return []
    attributes = (_section(doc, also) if also else None) or ""
    named = _documented(params or "") | _documented(attributes)
    problems = [f"Parameters: {a} undocumented" for a in args if a not in named]
    problems += [f"Parameters: {n} is no argument"
                 for n in sorted(_documented(params or "")) if n not in args]
    return problems


def _is_generator(node: ast.AST | None) -> bool:
    return node is not None and any(
        isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own_nodes(node)
    )


PUBLIC = list(_public())


def test_the_walk_finds_the_public_api():
    names = {name for name, _, _ in PUBLIC}
    assert "bprop.layers.linear.Linear.forward" in names
    assert "bprop.training.callbacks.EarlyStopping.on_epoch_end" in names
    assert "bprop.modelfile.save_model" in names or any(
        n.startswith("bprop.modelfile.") for n in names
    )
    for name in ("bprop.gradcheck.check_gradients", "bprop.graph.value.Value.__mul__",
                 "bprop.graph.dual.Dual.sin", "bprop.graph.nn.MLP.__call__",
                 "bprop.graph.draw.draw", "bprop.training.trainer.Trainer.fit",
                 "bprop.training.history.History", "bprop.layers.base.Layer.__call__"):
        assert name in names, name
    assert len(PUBLIC) > 300


def test_the_check_can_fail():
    def undocumented(x):
        if x:
            raise ValueError("x")
        return x

    assert _missing(undocumented, None) == ["Parameters", "Returns", "Raises"]

    def documented(x, *, scale=1.0):
        """Something.

        Parameters
        ----------
        x : int
        scale : float, default=1.0

        Returns
        -------
        int

        Raises
        ------
        ValueError
            If x.
        """
        if x:
            raise ValueError("x")
        return x * scale

    assert _missing(documented, None) == []

    def wrong(x, y):
        """Parameters and Returns that do not match the code.

        Parameters
        ----------
        x : int
        z : int

        Returns
        -------
        int
        """
        print(x, y)

    assert _missing(wrong, None) == [
        "Returns of a function that returns nothing",
        "Parameters: y undocumented",
        "Parameters: z is no argument",
    ]


def test_an_override_with_a_new_argument_needs_its_own_parameters():
    class Base:
        def forward(self, x):
            """Base.

            Parameters
            ----------
            x : ndarray

            Returns
            -------
            ndarray
            """
            return x

    class Same(Base):
        def forward(self, x):
            return 2 * x

    class Wider(Base):
        def forward(self, x, *, train=True):
            return 2 * x

    assert _missing(Same.forward, Same) == []
    assert _missing(Wider.forward, Wider) == ["Parameters: train undocumented"]


def test_a_class_documents_its_constructor():
    class Bare:
        def __init__(self, n):
            self.n = n

    class Documented:
        """A thing.

        Parameters
        ----------
        n : int
        """

        def __init__(self, n, m=0):
            self.n = n

    assert _missing(Bare, None) == ["Parameters"]
    assert _missing(Documented, None) == ["Parameters: m undocumented"]


@pytest.mark.parametrize(
    "name, func, owner", PUBLIC, ids=[name.removeprefix("bprop.") for name, _, _ in PUBLIC]
)
def test_numpydoc_sections(name, func, owner):
    assert _missing(func, owner) == [], name


def _gates(cls: type) -> list[tuple[str, object]]:
    """The operations of a scalar graph class: public methods and operators."""
    return [
        (name, meth)
        for name, meth in vars(cls).items()
        if inspect.isfunction(meth) and name != "backward"
        and (not name.startswith("_") or name in OPERATORS)
    ]


def test_every_graph_gate_states_its_derivative():
    from bprop.graph import Dual, Value

    value_gates, dual_gates = _gates(Value), _gates(Dual)
    assert {"__mul__", "__truediv__", "__pow__", "exp", "max"} <= dict(value_gates).keys()
    assert {"__mul__", "__truediv__", "__pow__", "exp", "max"} <= dict(dual_gates).keys()
    missing = [f"Value.{name}" for name, meth in value_gates
               if "d(out)/d(self)" not in (meth.__doc__ or "")]
    missing += [f"Dual.{name}" for name, meth in dual_gates
                if "out.deriv" not in (meth.__doc__ or "")]
    assert missing == []


DOCTEST_MODULES = sorted({module.__name__ for module in _modules()})


@pytest.mark.parametrize("module_name", DOCTEST_MODULES)
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"


def test_a_wrong_example_fails():
    module = types.ModuleType("wrong_example")
    module.__doc__ = """A wrong example.

    >>> 1 + 1
    3
    """
    result = doctest.testmod(module, report=False)
    assert (result.failed, result.attempted) == (1, 1)
