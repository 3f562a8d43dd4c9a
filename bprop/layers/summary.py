"""`summary`: a model's layers, output shapes and parameter counts, as Keras prints them.

>>> from bprop.layers import Linear, ReLU, Sequential
>>> print(summary(Sequential(Linear(4, 8, rng=0), ReLU(), Linear(8, 3, rng=1)), 4))
Layer            Output shape  Params  Trainable
------------------------------------------------
0  Linear(4, 8)  (N, 8)            40         40
1  ReLU          (N, 8)             0          0
2  Linear(8, 3)  (N, 3)            27         27
------------------------------------------------
Input: (N, 4)
Total params: 67 (536 B)
Trainable params: 67 (536 B)
Non-trainable params: 0 (0 B)

Trainable parameters are the layers' `Parameter` objects, which the
optimizer updates; non-trainable ones are other arrays a layer keeps and
uses in evaluation mode (BatchNorm's running mean and variance).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..parameter import Parameter

__all__ = ["summary"]


def _buffers(layer: Any) -> list[np.ndarray]:
    """Arrays a layer keeps besides its Parameters: public ndarray attributes
    (forward's caches are private, ``_x``), such as running statistics."""
    return [v for k, v in vars(layer).items()
            if isinstance(v, np.ndarray) and not k.startswith("_")]


def _name(layer: Any) -> str:
    if hasattr(layer, "n_in") and hasattr(layer, "n_out"):
        return f"{type(layer).__name__}({layer.n_in}, {layer.n_out})"
    return repr(layer).removesuffix("()")


def _rows(model: Any, x: np.ndarray, prefix: str) -> tuple[list[tuple], np.ndarray]:
    """One row per layer (nested Sequentials indented), and the output of ``x``."""
    rows: list[tuple] = []
    for i, layer in enumerate(getattr(model, "layers", [model])):
        where = f"{prefix}{i}"
        if hasattr(layer, "layers"):
            rows.append((where, "Sequential", "", None, None))
            sub, x = _rows(layer, x, f"{where}.")
            rows += sub
            continue
        try:
            x = layer.forward(x)
        except (ValueError, RuntimeError) as err:
            raise ValueError(f"layer {where} ({_name(layer)}) does not accept an input of "
                             f"shape {_shape(x.shape)}: {err}") from None
        trainable = sum(p.value.size for p in layer.parameters() if isinstance(p, Parameter))
        fixed = sum(b.size for b in _buffers(layer))
        shape = _shape(x.shape)
        rows.append((where, _name(layer), shape, trainable + fixed, trainable))
    return rows, x


def _shape(shape: tuple[int, ...]) -> str:
    return "(N, " + ", ".join(str(d) for d in shape[1:]) + ")"


def _bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return ""  # unreachable


def summary(model: Any, n_features: int | tuple[int, ...]) -> str:
    """The model's layers as a table: output shape, parameters and trainable ones.

    Parameters
    ----------
    model : Layer
        A `Sequential` (nested ones are listed layer by layer) or one layer.
    n_features : int or tuple of int
        Width of the input rows, or the shape of one sample, such as
        ``(1, 8, 8)`` for a model that starts with `Flatten`.

    Returns
    -------
    str
        The table and the totals (with their size in bytes); print it.

    Raises
    ------
    ValueError
        If ``n_features`` is not a positive integer or a tuple of them, or a
        layer does not accept what the one before it outputs (naming that
        layer).

    Notes
    -----
    The shapes come from one evaluation-mode forward pass of a single zero
    row through a copy of the model, so they are right for any layer, and
    the model itself (its caches, its mode) is untouched.
    """
    dims = tuple(n_features) if isinstance(n_features, (tuple, list)) else (n_features,)
    if not dims or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1
                       for d in dims):
        raise ValueError(f"n_features must be an integer >= 1 or a sample shape of them "
                         f"(such as (1, 8, 8)), got {n_features!r}")
    dims = tuple(int(d) for d in dims)
    params = model.parameters()
    dtype = params[0].value.dtype if params else np.float64
    probe = copy.deepcopy(model)
    probe.eval()
    rows, _ = _rows(probe, np.zeros((1, *dims), dtype=dtype), "")
    itemsize = np.dtype(dtype).itemsize
    total = sum(r[3] for r in rows if r[3] is not None)
    trainable = sum(r[4] for r in rows if r[4] is not None)

    table = [("Layer", "Output shape", "Params", "Trainable")]
    # the index as a column of its own width: names stay aligned from index 10 on
    where = [f"{'  ' * w.count('.')}{w}" for w, *_ in rows]
    pad = max(map(len, where), default=0)
    table += [(f"{i:<{pad}}  {name}", shape,
               "" if n is None else f"{n:,}", "" if t is None else f"{t:,}")
              for i, (w, name, shape, n, t) in zip(where, rows, strict=True)]
    widths = [max(len(r[j]) for r in table) for j in range(4)]
    widths[1] = max(widths[1], 12)

    def line(r: tuple) -> str:
        return (f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{max(widths[2], 6)}}  "
                f"{r[3]:>{max(widths[3], 9)}}").rstrip()

    text = [line(table[0])]
    rule = "-" * len(text[0])
    text += [rule, *map(line, table[1:]), rule, f"Input: {_shape((1, *dims))}"]
    for what, n in (("Total", total), ("Trainable", trainable), ("Non-trainable",
                                                                 total - trainable)):
        text.append(f"{what} params: {n:,} ({_bytes(n * itemsize)})")
    return "\n".join(text)
