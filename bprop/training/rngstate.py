"""Random generator states as JSON text, for checkpoints.

``Generator.bit_generator.state`` is a dict whose contents depend on the bit
generator: PCG64 holds plain Python ints, but MT19937, Philox and SFC64 hold
numpy arrays (and may hold numpy integers), which `json` cannot write. Arrays
and numpy scalars are written as small tagged objects that keep their dtype::

    {"__ndarray__": [1, 2, ...], "dtype": "<u4", "shape": [624]}
    {"__npscalar__": 7, "dtype": "<u8"}

Plain-JSON states (what older checkpoints hold) contain no tags and load as
they are. Decoding only ever builds numeric arrays, never Python objects.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

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
