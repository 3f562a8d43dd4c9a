"""Checkpoints: a trainer's nested state in one file, to resume a run exactly.

`Trainer.state_dict` is a nested structure of dicts, lists, numbers, strings
and numpy arrays (weights, optimizer moments, callbacks' best weights).
`flatten` swaps each array for ``{"__array__": key}`` so that the rest is
plain JSON; the file is the one ``.npz`` + JSON format of `bprop.modelfile`
(format ``"bprop-checkpoint"``), read without pickle.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..modelfile import CHECKPOINT, read_archive, write_archive

__all__ = ["flatten", "load_checkpoint", "read_checkpoint", "save_checkpoint", "unflatten"]


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any], *,
                    config: dict[str, Any] | None = None) -> Path:
    """Write ``state`` (usually `Trainer.state_dict`) to ``path`` atomically.

    Parameters
    ----------
    path : str or PathLike
        Destination; ``.npz`` is the conventional suffix.
    state : dict
        Nested dicts and lists of JSON-able values and numpy arrays; tuples
        are stored as lists, numpy scalars as Python numbers.
    config : dict, optional
        The resolved config the run trains with (JSON-able), so that a resume
        can refuse a changed one (`read_checkpoint` returns it).

    Returns
    -------
    Path
        ``path``.
    """
    arrays: dict[str, np.ndarray] = {}
    header: dict[str, Any] = {"state": flatten(state, arrays)}
    if config is not None:
        header["config"] = config
    return write_archive(path, CHECKPOINT, header, arrays)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read the state written by `save_checkpoint`.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    dict
        The state, arrays in place (dtypes and shapes as saved).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        Naming the file, if it is not a bprop checkpoint or is damaged.
    """
    return read_checkpoint(path)[0]


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The state and the config (None for older checkpoints) written by `save_checkpoint`.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    state : dict
    config : dict or None

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        Naming the file: not a bprop checkpoint, an array missing, or a state
        without the trainer's ``epoch`` and ``params``.
    """
    header, arrays = read_archive(path, CHECKPOINT)
    if "state" not in header:
        raise ValueError(f"{path}: the checkpoint header holds no 'state'")
    try:
        state = unflatten(header["state"], arrays)
    except KeyError as err:
        raise ValueError(f"{path}: the checkpoint lacks the array {err.args[0]!r}") from None
    except RecursionError:
        raise ValueError(f"{path}: the checkpoint state is nested too deeply") from None
    if header["version"] == 0 and isinstance(state, dict):  # the old format wrapped it
        state = state.get("trainer")
    if not isinstance(state, dict):
        raise ValueError(f"{path}: the checkpoint state is a {type(state).__name__}, "
                         "expected a mapping")
    epoch, params = state.get("epoch"), state.get("params")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"{path}: the checkpoint's epoch must be an integer >= 0, "
                         f"got {str(epoch)[:40]}")
    if not isinstance(params, list) or not all(isinstance(p, np.ndarray) for p in params):
        raise ValueError(f"{path}: the checkpoint's params must be a list of arrays")
    config = header.get("config")
    return state, config if isinstance(config, dict) else None


def flatten(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """``obj`` with every array moved into ``arrays`` and replaced by ``{"__array__": key}``.

    Parameters
    ----------
    obj : object
        Nested dicts (keys become strings), lists and tuples of JSON-able
        values, numpy scalars and arrays.
    arrays : dict of str to ndarray
        Filled in place, keys ``"a0"``, ``"a1"``, ...

    Returns
    -------
    object
        Plain JSON-able data.
    """
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, dict):
        return {str(k): flatten(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [flatten(v, arrays) for v in obj]
    return obj.item() if isinstance(obj, np.generic) else obj


def unflatten(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Undo `flatten`: put the arrays back where their keys stand.

    Parameters
    ----------
    obj : object
        What `flatten` returned (after a JSON round trip).
    arrays : dict of str to ndarray

    Returns
    -------
    object

    Raises
    ------
    KeyError
        If a key names no array in ``arrays``.
    """
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return arrays[str(obj["__array__"])]
        return {k: unflatten(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [unflatten(v, arrays) for v in obj]
    return obj
