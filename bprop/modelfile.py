"""Model files: ``save(model, path)`` / ``load(path)``.

A model file is an ``.npz`` archive: one array per parameter (``param_0``,
``param_1``, ... in ``model.parameters()`` order), one per buffer
(``buffer_NAME``: the untrained state of `Layer.buffers`, such as BatchNorm's
running statistics) and a JSON string ``__bprop__`` with the architecture.
Loading uses ``allow_pickle=False`` and builds layers only from the registry,
so opening a file never runs code.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .layers.base import Layer
from .layers.sequential import layer_config
from .registry import build_layer

FORMAT = "bprop-model"
VERSION = 1


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
    """
    header = {
        "format": FORMAT,
        "version": VERSION,
        "model": layer_config(model),
        "metadata": metadata or {},
    }
    arrays = {f"param_{i}": p.value for i, p in enumerate(model.parameters())}
    arrays.update({f"buffer_{name}": b for name, b in model.buffers().items()})
    arrays["__bprop__"] = np.array(json.dumps(header))
    return atomic_savez(path, arrays)


def atomic_savez(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """``np.savez`` to a temporary file in the same folder, then rename over ``path``.

    A crash leaves either the old file or the new one, never half of one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is not a bprop model file (.npz): {err}") from err
    if "__bprop__" not in arrays:
        raise ValueError(
            f"{path} is an .npz archive but not a bprop model file (no __bprop__ header)"
        )
    try:
        header = json.loads(str(arrays.pop("__bprop__")))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: the bprop header is not valid JSON: {err}") from err
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path} is not a bprop model file (format {header.get('format')!r})")
    if header.get("version", 0) > VERSION:
        raise ValueError(
            f"{path} was written by a newer bprop (format version {header['version']}); "
            f"this one reads version {VERSION}"
        )
    return header, arrays


def load(path: str | os.PathLike) -> Layer:
    """Rebuild the model saved by `save` (never unpickles).

    Raises
    ------
    ValueError
        If the file is not a bprop model file or does not match its architecture.
    """
    header, arrays = _read(path)
    model = build_layer(header["model"])
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
    """The ``metadata`` dict stored by `save`."""
    return _read(path)[0].get("metadata", {})
