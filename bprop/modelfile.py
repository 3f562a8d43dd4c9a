"""Model files and checkpoints: arrays plus a JSON header; ``save(model, path)``, ``load(path)``.

Every file bprop writes with arrays in it is one format: an ``.npz`` archive
whose ``__bprop__`` entry is a JSON header naming its ``format``
(``"bprop-model"`` or ``"bprop-checkpoint"``) and ``version``; the other
entries are the arrays. A model file holds one array per parameter
(``param_0``, ``param_1``, ... in ``model.parameters()`` order), one per
buffer (``buffer_NAME``: the untrained state of `Layer.buffers`, such as
BatchNorm's running statistics) and the architecture in its header; a
checkpoint (`bprop.training.checkpoints`) holds a trainer's nested state.
Reading uses ``allow_pickle=False`` and builds layers only from the registry,
so opening a file never runs code.

Every file is written to a temporary name beside its destination and renamed
over it (`atomic_write`): a crash leaves the old file or the new one, never
half of one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from . import registry
from .init import INITIALIZERS
from .layers.base import Layer, leaf_layers
from .layers.sequential import layer_config

__all__ = ["atomic_write", "load", "load_metadata", "read_archive", "save", "write_archive"]

MODEL = "bprop-model"
CHECKPOINT = "bprop-checkpoint"
DATA = "bprop-data"
VERSION = 1
_WHAT = {MODEL: "bprop model file", CHECKPOINT: "bprop checkpoint", DATA: "bprop data file"}
_HEADER = "__bprop__"
_LEGACY_HEADER = {CHECKPOINT: "__checkpoint__"}  # checkpoints before the formats were one


def save(model: Layer, path: str | os.PathLike, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (architecture and parameters) to ``path`` atomically.

    Parameters
    ----------
    model : Layer
        A registered layer or a Sequential of them.
    path : str or PathLike
        Destination; ``.npz`` is the conventional suffix.
    metadata : dict, optional
        JSON-able extras stored beside the architecture (see `load_metadata`).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    TypeError
        If ``model`` is not a `Layer`.
    ValueError
        Naming the class and the argument, if a layer's constructor argument
        cannot be read back (define its ``get_config``; see `Layer.get_config`).
    """
    if not isinstance(model, Layer):
        raise TypeError(f"save(model, path) expects a bprop Layer (or Sequential) as model, got "
                        f"{type(model).__name__} {_short(model, 40)}")
    arrays = {f"param_{i}": p.value for i, p in enumerate(model.parameters())}
    arrays.update({f"buffer_{name}": b for name, b in model.buffers().items()})
    header = {"model": layer_config(model), "metadata": metadata or {}}
    modules = {registry.name_of("layer", type(layer)): type(layer).__module__
               for layer in [model, *leaf_layers(model)]
               if not type(layer).__module__.startswith("bprop.")}
    if modules:  # where a user's layers are defined: `load` names the module to import
        header["modules"] = modules
    return write_archive(path, MODEL, header, arrays)


def load(path: str | os.PathLike) -> Layer:
    """Rebuild the model saved by `save` (never unpickles), ready to predict.

    The stored shapes are compared with the architecture before the model is
    built, and every array's shape and dtype (from its ``.npy`` header) with
    the architecture before any array is read, so a small file declaring a
    huge layer or a huge array is refused without allocating or reading it.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    Layer
        The model in evaluation mode (``model.eval()``: Dropout off, BatchNorm
        on its running statistics; call ``.train()`` to train it further), its
        parameters set to the saved values (same dtypes and shapes).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        Naming the file, if it is not a bprop model file, is damaged, or does
        not match its architecture.
    """
    built: list[Layer] = []  # the model _model_for builds from the headers, before any data
    _, arrays = read_archive(path, MODEL,
                             check=lambda header, layout: built.append(
                                 _model_for(header, layout, path)))
    model = built[0]
    for i, p in enumerate(model.parameters()):
        value = arrays[f"param_{i}"]
        if not np.isfinite(value).all():
            raise ValueError(f"{path}: param_{i} ({p.name}) holds NaN or infinite values; "
                             "a model that predicts from them would be wrong")
        p.value[...] = value
    for name, b in model.buffers().items():
        b[...] = arrays[f"buffer_{name}"]
    return model.eval()


def _model_for(header: dict[str, Any], layout: dict[str, tuple[tuple[int, ...], np.dtype]],
               path: Any) -> Layer:
    """Build the header's architecture and check the arrays' names, shapes and dtypes with it.

    Parameters
    ----------
    header : dict
        The file's JSON header.
    layout : dict of str to (shape, dtype)
        Every array member, from its ``.npy`` header (no data read yet).
    path : str or PathLike
        For the messages.

    Returns
    -------
    Layer
        The architecture, its parameters not yet set.

    Raises
    ------
    ValueError
        Naming the file: no architecture, one that cannot be built or is
        larger than the arrays, or arrays missing, extra, or of another
        shape or dtype than it needs.
    """
    spec = header.get("model")
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ValueError(f"{path}: the header has no model architecture ('model' must be a "
                         f"mapping with a 'type', got {_short(spec)})")
    if not isinstance(header.get("metadata", {}), dict):
        raise ValueError(f"{path}: the header's 'metadata' must be a mapping")
    n_values = sum(math.prod(shape) for shape, _ in layout.values())
    _check_sizes(spec, max(n_values, 1 << 16), path)
    _check_registered(spec, header.get("modules"), path)
    try:
        model = _build_unset(spec)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as err:
        raise ValueError(f"{path}: cannot build its architecture: {_short(err, 200)}") from None
    params, buffers = model.parameters(), model.buffers()
    missing = [name for name in buffers if f"buffer_{name}" not in layout]
    if missing:
        raise ValueError(f"{path} lacks the buffer(s) {', '.join(missing)} its architecture needs")
    expected = {f"param_{i}" for i in range(len(params))} | {f"buffer_{n}" for n in buffers}
    if set(layout) != expected:
        raise ValueError(f"{path} holds the arrays {_short(sorted(layout))}, its architecture "
                         f"needs param_0 .. param_{len(params) - 1} and its buffers")
    for i, p in enumerate(params):
        shape, dtype = layout[f"param_{i}"]
        if shape != p.value.shape:
            raise ValueError(
                f"{path}: param_{i} ({p.name}) has shape {shape}, expected {p.value.shape}"
            )
        if dtype.kind != "f":
            raise ValueError(f"{path}: param_{i} ({p.name}) has dtype {dtype}, expected floats")
    for name, b in buffers.items():
        shape = layout[f"buffer_{name}"][0]
        if shape != b.shape:
            raise ValueError(f"{path}: buffer {name} has shape {shape}, expected {b.shape}")
    return model


def _check_registered(spec: dict[str, Any], modules: Any, path: Any) -> None:
    """Refuse a layer type nobody registered, naming the module that defines it.

    Loading never imports code: the user imports the module (it registers its
    classes), then loads.
    """
    modules = modules if isinstance(modules, dict) else {}
    stack = [spec]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        name = node.get("type")
        if isinstance(name, str) and name not in registry.names("layer", aliases=True):
            module = modules.get(name)
            where = (f"it is defined in module {_short(module)}: import it first (`import "
                     f"{module}`, or `bprop --import {module} ...`)" if isinstance(module, str)
                     else "import the module that defines and registers it first")
            raise ValueError(f"{path}: unknown layer {_short(name)}; {where}. Loading a model "
                             "file never imports code")
        if isinstance(node.get("layers"), list):
            stack.extend(node["layers"])


def _build_unset(spec: dict[str, Any]) -> Layer:
    """Build the architecture without drawing random weights (the file's replace them).

    Every ``init`` is built as ``"zeros"`` and then set back on the layer, so
    the loaded model describes itself (``get_config``) exactly as it was saved.
    """
    inits: list[tuple[Any, Any]] = []

    def unset(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        node = dict(node)
        if isinstance(node.get("init"), str) and node["init"] in INITIALIZERS:
            inits.append((node["init"], node.get("std")))
            node["init"] = "zeros"
        else:
            inits.append(None)
        if isinstance(node.get("layers"), list):
            node["layers"] = [unset(n) for n in node["layers"]]
        return node

    model = registry.build("layer", unset(spec))
    order = iter(inits)

    def restore(layer: Any) -> None:
        saved = next(order, None)
        if saved is not None:
            layer.init = saved[0]
        for sub in getattr(layer, "layers", []) or []:
            restore(sub)

    restore(model)
    return model


def _check_sizes(spec: Any, limit: int, path: Any) -> None:
    """Refuse an architecture whose layers are larger than the file's arrays can fill.

    A layer's integer arguments (``n_in``, ``n_out``, ``n``) multiply to at most
    the number of values it stores, so products summing to more than every
    value the file holds mean the file cannot be this model; checking it before building
    keeps an 8 KB file from allocating gigabytes.
    """
    stack, total = [spec], 0
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        ints = [v for v in node.values() if isinstance(v, int) and not isinstance(v, bool)]
        if any(v < 0 for v in ints):
            raise ValueError(f"{path}: layer {_short(node)} has a negative size")
        total += math.prod(ints)
        if total > limit:
            raise ValueError(f"{path}: the architecture declares {node.get('type')} with sizes "
                             f"{ints}, more values than the file's arrays hold")
        layers = node.get("layers")
        if isinstance(layers, list):
            stack.extend(layers)


def _short(value: Any, limit: int = 80) -> str:
    import reprlib

    r = reprlib.Repr()
    r.maxstring, r.maxother, r.maxlevel = limit, limit, 3
    text = r.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The ``metadata`` dict stored by `save`.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    dict

    Raises
    ------
    FileNotFoundError, ValueError
        As `load`.
    """
    return read_archive(path, MODEL, read_arrays=False)[0].get("metadata", {})


def write_archive(
    path: str | os.PathLike, fmt: str, header: dict[str, Any], arrays: dict[str, np.ndarray]
) -> Path:
    """Write ``arrays`` and a JSON ``header`` as one ``.npz`` archive, atomically.

    Parameters
    ----------
    path : str or PathLike
    fmt : {"bprop-model", "bprop-checkpoint", "bprop-data"}
        Stored in the header as ``format``, with ``version``.
    header : dict
        JSON-able values.
    arrays : dict of str to ndarray
        Any shapes and numeric dtypes; names must not be ``"__bprop__"``.

    Returns
    -------
    Path
        ``path``.
    """
    text = json.dumps({"format": fmt, "version": VERSION, **header})
    return atomic_write(path, lambda f: np.savez(f, **arrays, **{_HEADER: np.array(text)}))


#: the most bytes an archive's arrays may hold once decompressed (2 GiB)
MAX_BYTES = 2 << 30
#: the most characters a JSON header may have (64 MiB)
MAX_HEADER = 64 << 20
#: the member names each format may hold (besides the header)
_MEMBERS = {
    MODEL: re.compile(r"(param_\d+|buffer_[\w.\[\]:-]+)"),
    CHECKPOINT: re.compile(r"a\d+"),
    DATA: re.compile(r"[A-Za-z]\w*"),
}


def read_archive(
    path: str | os.PathLike,
    fmt: str,
    *,
    check: Callable[[dict[str, Any], dict[str, tuple[tuple[int, ...], np.dtype]]], None]
    | None = None,
    read_arrays: bool = True,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read an archive written by `write_archive` (never unpickles).

    Only the members a file of format ``fmt`` may have are read; each
    array's shape and dtype come from its ``.npy`` header and are checked
    (numbers only, as many bytes as the member holds, at most `MAX_BYTES` in
    all) before any array is allocated or read.

    Parameters
    ----------
    path : str or PathLike
    fmt : {"bprop-model", "bprop-checkpoint", "bprop-data"}
        The format the file must have.
    check : callable, optional
        ``check(header, layout)``, called with the JSON header and every
        array's ``(shape, dtype)`` by name before any array data is read;
        it raises ValueError to refuse the file (`load` compares them with
        the architecture).
    read_arrays : bool, default=True
        False reads the header only (``arrays`` is then empty).

    Returns
    -------
    header : dict
        The JSON header (``format``, ``version`` and what the writer stored);
        for a checkpoint from before the formats were one, ``version`` is 0
        and ``state`` holds its whole header.
    arrays : dict of str to ndarray

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        Naming the file and the problem: not a ``.npz`` archive of format
        ``fmt``, unexpected members, non-numeric or oversized arrays, a damaged
        member, a header that is not the JSON mapping bprop writes, or one
        written by a newer bprop.
    """
    what = _WHAT[fmt]
    legacy = _LEGACY_HEADER.get(fmt)
    try:
        with zipfile.ZipFile(path) as zf:
            members = {info.filename.removesuffix(".npy"): info for info in zf.infolist()}
            key = legacy if legacy in members and _HEADER not in members else _HEADER
            if key not in members:
                raise ValueError(f"{path} is an .npz archive but not a {what} "
                                 f"(no {_HEADER} header)")
            try:
                _array_header(zf, members[key], path, header=True)
            except ValueError as err:
                raise ValueError(str(err).replace("a bprop file", f"a {what}")) from None
            header = _parse_header(_read_member(zf, members.pop(key), path), path, what)
            if key != legacy:
                _check_header(header, fmt, path)
            total, layout = 0, {}
            for name, info in members.items():
                if not info.filename.endswith(".npy") or not _MEMBERS[fmt].fullmatch(name):
                    raise ValueError(f"{path} is not a {what}: unexpected member "
                                     f"{_short(info.filename)}")
                shape, dtype, held = _array_header(zf, info, path, header=False)
                nbytes = math.prod(shape) * dtype.itemsize
                total += nbytes
                if total > MAX_BYTES:
                    raise ValueError(f"{path}: its arrays hold more than {MAX_BYTES} bytes; "
                                     "refused as too large (or damaged)")
                if nbytes != held:
                    raise ValueError(f"{path}: member {info.filename} is damaged: its header "
                                     f"declares shape {shape} ({nbytes} bytes), the member "
                                     f"holds {held}")
                layout[name] = (shape, dtype)
            if check is not None:
                check(header, layout)
            arrays = ({name: _read_member(zf, info, path) for name, info in members.items()}
                      if read_arrays else {})
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise ValueError(f"{path} is a directory, not a {what}") from None
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as err:
        raise ValueError(f"{path} is not a {what} (.npz): {_short(str(err), 120)}") from None
    if key == legacy:
        return {"format": fmt, "version": 0, "state": header}, arrays
    return header, arrays


def _check_header(header: Any, fmt: str, path: Any) -> None:
    what = _WHAT[fmt]
    if not isinstance(header, dict):
        raise ValueError(f"{path} is not a {what}: its header is a JSON "
                         f"{type(header).__name__}, expected a mapping")
    if header.get("format") != fmt:
        raise ValueError(f"{path} is not a {what} (format {_short(header.get('format'))})")
    version = header.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"{path}: the header's version must be an integer, got "
                         f"{_short(version)}")
    if version > VERSION:
        raise ValueError(
            f"{path} was written by a newer bprop (format version {version}); "
            f"this one reads version {VERSION}"
        )


def _array_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Any,
                  header: bool) -> tuple[tuple[int, ...], np.dtype, int]:
    """A member's array shape and dtype, from its ``.npy`` header, checked (no data read).

    The third value is the data bytes the member holds after its header (the
    zip directory's uncompressed size): the caller compares it with what the
    header declares, so a member that claims a huge array is refused before
    anything is allocated or read.
    """
    with zf.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            readers = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}
            if version not in readers:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, _, dtype = readers[version](f)
            offset = f.tell()
        except ValueError as err:
            raise ValueError(f"{path}: member {info.filename} is not a .npy array: "
                             f"{_short(str(err), 120)}") from None
    name = info.filename.removesuffix(".npy")
    if header:
        if dtype.kind != "U" or len(shape) != 0:
            raise ValueError(f"{path} is not a bprop file: its header {name} must be a text "
                             f"scalar, got dtype {dtype}, shape {shape}")
    elif dtype.kind not in "fiub" or dtype.hasobject:
        raise ValueError(f"{path}: array {name} has dtype {dtype}; only real numbers "
                         "(float, int, bool) are allowed")
    nbytes = math.prod(shape) * dtype.itemsize
    if header and nbytes > 4 * MAX_HEADER:
        raise ValueError(f"{path}: its header is larger than {MAX_HEADER} characters")
    return shape, dtype, info.file_size - offset


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Any) -> np.ndarray:
    with zf.open(info) as f:
        try:
            return np.lib.format.read_array(f, allow_pickle=False)
        except ValueError as err:
            raise ValueError(f"{path}: member {info.filename} is damaged: "
                             f"{_short(str(err), 120)}") from None


def _parse_header(text: np.ndarray, path: Any, what: str) -> Any:
    try:
        return json.loads(str(text))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: the bprop header is not valid JSON: {err}") from None
    except RecursionError:
        raise ValueError(f"{path}: the bprop header is nested too deeply to be a {what}"
                         ) from None


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def atomic_write(
    path: str | os.PathLike, content: str | bytes | Callable[[IO[bytes]], Any]
) -> Path:
    """Write a file under a temporary name beside ``path``, then rename it over ``path``.

    The one atomic write of bprop: model files, checkpoints, the run
    directory's text files and its plot all go through here.

    Parameters
    ----------
    path : str or PathLike
    content : str, bytes or callable
        Text (written as UTF-8), bytes, or a function that writes to the
        binary file object it is given (``lambda f: np.savez(f, ...)``).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OSError
        If writing fails; the old file, if any, is left as it was and the
        temporary file is removed. (A device or pipe at ``path`` is written
        directly; a symbolic link's target is replaced, the link is kept.) The
        new file's mode follows the umask, as ``open`` would.
    """
    path = Path(path)
    if isinstance(content, str):
        content = content.encode("utf-8")
    if path.exists() and not path.is_file() and not path.is_dir():
        # a device or a pipe (/dev/stdout, /dev/full): write into it, never rename over it
        with open(path, "wb") as f:
            f.write(content) if isinstance(content, bytes) else content(f)
        return path
    if path.is_symlink():  # replace the file the link points to, never the link itself
        path = Path(os.path.realpath(path))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; a run's files should be as readable as any the user
        # writes, so apply the umask as open() would
        with contextlib.suppress(OSError, AttributeError):
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            if isinstance(content, bytes):
                f.write(content)
            else:
                content(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
