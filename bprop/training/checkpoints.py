"""Checkpoints: a trainer's state in one file, to resume a run exactly.

Saving and restoring training state, in three parts:

- `plain_state` / `load_plain_state`: the resumable state of a small object
  (a callback's counters, best values and best weights) from its plain
  attributes, so that a resumed run keeps its early-stopping patience;
- `dump_rng_state` / `load_rng_state`: a random generator's state as JSON text
  (any numpy bit generator, exactly);
- `save_checkpoint` / `read_checkpoint`: `Trainer.state_dict`, a nested
  structure of dicts, lists, numbers, strings and numpy arrays (weights,
  optimizer moments, callbacks' best weights), in one file. `flatten` swaps
  each array for ``{"__array__": key}`` so that the rest is plain JSON; the
  file is the one ``.npz`` + JSON format of `bprop.modelfile` (format
  ``"bprop-checkpoint"``), read without pickle.

Random generator states: ``Generator.bit_generator.state`` is a dict whose
contents depend on the bit generator: PCG64 holds plain Python ints, but
MT19937, Philox and SFC64 hold numpy arrays (and may hold numpy integers),
which `json` cannot write. Arrays and numpy scalars are written as small
tagged objects that keep their dtype::

    {"__ndarray__": [1, 2, ...], "dtype": "<u4", "shape": [624]}
    {"__npscalar__": 7, "dtype": "<u8"}

Plain-JSON states (what older checkpoints hold) contain no tags and load as
they are. Decoding only ever builds numeric arrays, never Python objects.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics import Monitor
from ..modelfile import CHECKPOINT, read_archive, write_archive

__all__ = ["dump_rng_state", "flatten", "load_checkpoint", "load_plain_state", "load_rng_state",
           "plain_state", "read_checkpoint", "save_checkpoint", "unflatten"]


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


def plain_state(obj: Any) -> dict[str, Any]:
    """The plain attributes of ``obj``: numbers, strings, None, arrays and lists of
    arrays (copied), and the best value of each `Monitor` attribute (as ``"name.best"``).

    Parameters
    ----------
    obj : object
        Any object whose ``vars()`` hold its state.

    Returns
    -------
    dict
        JSON-able values and numpy arrays, keyed by attribute name.
    """
    state: dict[str, Any] = {}
    for key, value in vars(obj).items():
        if isinstance(value, (int, float, str, bool, type(None))):
            state[key] = value
        elif isinstance(value, np.ndarray):
            state[key] = value.copy()
        elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
            state[key] = [v.copy() for v in value]
        elif isinstance(value, Monitor):
            state[f"{key}.best"] = value.best
    return state


def load_plain_state(obj: Any, state: dict[str, Any]) -> None:
    """Set the attributes saved by `plain_state` back on ``obj``.

    Parameters
    ----------
    obj : object
    state : dict
        From `plain_state`; a ``"name.best"`` key sets the best value of the
        `Monitor` in attribute ``name``.
    """
    for key, value in state.items():
        owner, _, attr = key.rpartition(".")
        if owner and isinstance(getattr(obj, owner, None), Monitor):
            setattr(getattr(obj, owner), attr, value)
        else:
            setattr(obj, key, value)


# Bool, signed, unsigned and float: what a bit generator's state can hold.
# Anything else (objects, strings) is refused rather than half-encoded.
_NUMERIC_KINDS = "biuf"


def _encode(obj: Any) -> dict[str, Any]:
    """``json.dumps`` hook: a numpy array or scalar as a tagged, JSON-safe dict."""
    if isinstance(obj, (np.ndarray, np.generic)) and obj.dtype.kind in _NUMERIC_KINDS:
        # tolist()/item() give Python ints and floats, which JSON stores exactly
        # (ints of any size; floats via their shortest round-tripping repr).
        if isinstance(obj, np.ndarray):
            return {"__ndarray__": obj.tolist(), "dtype": obj.dtype.str, "shape": list(obj.shape)}
        return {"__npscalar__": obj.item(), "dtype": obj.dtype.str}
    raise TypeError(f"cannot store {type(obj).__name__} in a random generator state")


def _decode(obj: dict[str, Any]) -> Any:
    """``json.loads`` hook: turn the tagged dicts of `_encode` back into numpy values."""
    if "__ndarray__" in obj or "__npscalar__" in obj:
        dtype = np.dtype(obj["dtype"])
        if dtype.kind not in _NUMERIC_KINDS:
            raise ValueError(f"random generator state: unsupported dtype {dtype}")
        if "__ndarray__" in obj:
            return np.array(obj["__ndarray__"], dtype=dtype).reshape(obj["shape"])
        return dtype.type(obj["__npscalar__"])
    return obj


def dump_rng_state(rng: np.random.Generator) -> str:
    """The state of ``rng``'s bit generator as JSON text (any numpy BitGenerator).

    Parameters
    ----------
    rng : numpy Generator

    Returns
    -------
    str
        Text that `load_rng_state` turns back into the identical state.
    """
    return json.dumps(rng.bit_generator.state, default=_encode)


def load_rng_state(rng: np.random.Generator, text: str) -> None:
    """Set ``rng``'s bit generator to the state in ``text`` (from `dump_rng_state`).

    Parameters
    ----------
    rng : numpy Generator
        Must use the same kind of bit generator as the one saved.
    text : str
        JSON text from `dump_rng_state`, or the plain JSON older checkpoints hold.

    Raises
    ------
    ValueError
        If ``text`` is not a valid state, or is one for another bit generator.
    """
    try:
        state = json.loads(text, object_hook=_decode)
    except json.JSONDecodeError as err:
        raise ValueError(f"random generator state is not valid JSON: {err}") from err
    except (KeyError, TypeError) as err:  # a tag without its dtype/shape, an unknown dtype
        raise ValueError(f"random generator state is malformed: {err!r}") from err
    kind = type(rng.bit_generator).__name__
    try:
        rng.bit_generator.state = state
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(
            f"random generator state does not fit a {kind} bit generator: {err!r}"
        ) from err
