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

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from . import registry
from .layers.base import Layer
from .layers.sequential import layer_config

__all__ = ["atomic_write", "load", "load_metadata", "read_archive", "save", "write_archive"]

MODEL = "bprop-model"
CHECKPOINT = "bprop-checkpoint"
VERSION = 1
_WHAT = {MODEL: "bprop model file", CHECKPOINT: "bprop checkpoint"}
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
    """
    arrays = {f"param_{i}": p.value for i, p in enumerate(model.parameters())}
    arrays.update({f"buffer_{name}": b for name, b in model.buffers().items()})
    header = {"model": layer_config(model), "metadata": metadata or {}}
    return write_archive(path, MODEL, header, arrays)


def load(path: str | os.PathLike) -> Layer:
    """Rebuild the model saved by `save` (never unpickles).

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    Layer
        The model, its parameters set to the saved values (same dtypes and shapes).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not a bprop model file or does not match its architecture.
    """
    header, arrays = read_archive(path, MODEL)
    model = registry.build("layer", header["model"])
    params = model.parameters()
    buffers = {name: arrays.pop(f"buffer_{name}", None) for name in model.buffers()}
    missing = [name for name, b in buffers.items() if b is None]
    if missing:
        raise ValueError(f"{path} lacks the buffer(s) {', '.join(missing)} its architecture needs")
    if len(arrays) != len(params):
        raise ValueError(f"{path} holds {len(arrays)} arrays, its architecture needs {len(params)}")
    for i, p in enumerate(params):
        value = arrays[f"param_{i}"]
        if value.shape != p.value.shape:
            raise ValueError(
                f"{path}: param_{i} ({p.name}) has shape {value.shape}, expected {p.value.shape}"
            )
        p.value[...] = value
    for name, b in model.buffers().items():
        if buffers[name].shape != b.shape:
            raise ValueError(f"{path}: buffer {name} has shape {buffers[name].shape}, "
                             f"expected {b.shape}")
        b[...] = buffers[name]
    return model


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
    return read_archive(path, MODEL)[0].get("metadata", {})


def write_archive(
    path: str | os.PathLike, fmt: str, header: dict[str, Any], arrays: dict[str, np.ndarray]
) -> Path:
    """Write ``arrays`` and a JSON ``header`` as one ``.npz`` archive, atomically.

    Parameters
    ----------
    path : str or PathLike
    fmt : {"bprop-model", "bprop-checkpoint"}
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


def read_archive(path: str | os.PathLike, fmt: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read an archive written by `write_archive` (never unpickles).

    Parameters
    ----------
    path : str or PathLike
    fmt : {"bprop-model", "bprop-checkpoint"}
        The format the file must have.

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
        If the file is not a ``.npz`` archive of format ``fmt``, or was written
        by a newer bprop.
    """
    what = _WHAT[fmt]
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is not a {what} (.npz): {err}") from err
    legacy = _LEGACY_HEADER.get(fmt)
    key = legacy if legacy in arrays and _HEADER not in arrays else _HEADER
    if key not in arrays:
        raise ValueError(f"{path} is an .npz archive but not a {what} (no {_HEADER} header)")
    try:
        header = json.loads(str(arrays.pop(key)))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: the bprop header is not valid JSON: {err}") from err
    if key == legacy:
        return {"format": fmt, "version": 0, "state": header}, arrays
    if not isinstance(header, dict) or header.get("format") != fmt:
        found = header.get("format") if isinstance(header, dict) else None
        raise ValueError(f"{path} is not a {what} (format {found!r})")
    if header.get("version", 0) > VERSION:
        raise ValueError(
            f"{path} was written by a newer bprop (format version {header['version']}); "
            f"this one reads version {VERSION}"
        )
    return header, arrays


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
        temporary file is removed.
    """
    path = Path(path)
    if isinstance(content, str):
        content = content.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
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
