"""Every public function and method of the documented packages has its numpydoc sections.

Public: no leading underscore, defined in bprop (not imported from numpy or
the standard library). A callable that takes arguments has ``Parameters``; one
that returns a value (its annotation, or a ``return <value>`` in its body)
has ``Returns`` (or ``Yields``); one whose body raises an exception (other
than NotImplementedError, a base class's "implement me") has ``Raises``. A
class whose constructor takes arguments documents them (``Parameters`` or,
for a dataclass, ``Attributes``). A method that overrides a documented base
method may inherit the base's docstring.

"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
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


def _has(doc: str, name: str) -> bool:
    return f"{name}\n{'-' * len(name)}" in doc


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
                    if not meth_name.startswith("_") and inspect.isfunction(meth):
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
    doc = _doc(func, owner)
    if inspect.isclass(func):
        init = vars(func).get("__init__")
        if init is None or issubclass(func, BaseException):
            return []
        args = [p for p in inspect.signature(init).parameters if p != "self"]
        documented = _has(doc, "Parameters") or _has(doc, "Attributes")
        return [] if not args or documented else ["Parameters"]
    node = _body(func)
    missing = []
    args = [p for p in inspect.signature(func).parameters if p not in ("self", "cls")]
    if args and not _has(doc, "Parameters"):
        missing.append("Parameters")
    if _returns_value(func, node) and not (_has(doc, "Returns") or _has(doc, "Yields")):
        missing.append("Returns")
    if node is not None and _raises(node) and not _has(doc, "Raises"):
        missing.append("Raises")
    return missing


PUBLIC = list(_public())


def test_the_walk_finds_the_public_api():
    names = {name for name, _, _ in PUBLIC}
    assert "bprop.layers.linear.Linear.forward" in names
    assert "bprop.training.callbacks.EarlyStopping.on_epoch_end" in names
    assert "bprop.modelfile.save_model" in names or any(
        n.startswith("bprop.modelfile.") for n in names
    )
    assert len(PUBLIC) > 200


def test_the_check_can_fail():
    def undocumented(x):
        if x:
            raise ValueError("x")
        return x

    assert _missing(undocumented, None) == ["Parameters", "Returns", "Raises"]

    def documented(x):
        """Something.

        Parameters
        ----------
        x : int

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
        return x

    assert _missing(documented, None) == []


@pytest.mark.parametrize(
    "name, func, owner", PUBLIC, ids=[name.removeprefix("bprop.") for name, _, _ in PUBLIC]
)
def test_numpydoc_sections(name, func, owner):
    assert _missing(func, owner) == [], name
