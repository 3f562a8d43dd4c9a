"""Where converters write ONNX nodes: the `Emitter` interface and a standalone graph.

A layer converter (`bprop.export.layers`) sees only an `Emitter`: ``const``
turns an array into a named initializer (cast to the graph's float type),
``op`` adds one node and returns the name of its output. Two emitters
implement it: `GraphBuilder` here, which collects the nodes of a standalone
model for `bprop.export.to_onnx`, and the skl2onnx adapter in
`bprop.export.sklearn`, which writes into skl2onnx's container so that the
same converters serve a scikit-learn pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Emitter", "GraphBuilder", "as_constant"]


class Emitter:
    """Adds nodes and constants to an ONNX graph under construction.

    Attributes
    ----------
    dtype : numpy dtype
        The graph's float type (float32 or float64); `const` casts float
        arrays to it, so that every tensor of the network has one type.
    opset : int
        The ONNX opset of the default domain the graph targets.
    """

    dtype: np.dtype
    opset: int

    def const(self, value: Any, hint: str) -> str:
        """Store ``value`` as an initializer named after ``hint``; return its name."""
        raise NotImplementedError

    def op(self, op_type: str, *inputs: str, hint: str | None = None, out: str | None = None,
           domain: str = "", **attrs: Any) -> str:
        """Add the node ``op_type(inputs)`` with ``attrs``; return the name of its output.

        ``out`` names the output (a graph output); otherwise a unique name is
        made from ``hint`` (default: the op type in lower case).
        """
        raise NotImplementedError


def as_constant(value: Any, dtype: np.dtype) -> np.ndarray:
    """``value`` as an array for an initializer: floats in ``dtype``, integers as
    int64, text as an object array of str (ONNX's STRING)."""
    a = np.asarray(value)
    if a.dtype.kind in "fc":
        return a.astype(dtype)
    if a.dtype.kind in "iub":
        return a.astype(np.int64)
    return np.array([str(v) for v in a.ravel()], dtype=object).reshape(a.shape)


class GraphBuilder(Emitter):
    """Collects nodes and initializers for `onnx.helper.make_graph`.

    Parameters
    ----------
    dtype : numpy dtype
        float32 or float64.
    opset : int
        The default domain's opset.
    """

    def __init__(self, dtype: Any, opset: int) -> None:
        self.dtype = np.dtype(dtype)
        self.opset = opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.domains: set[str] = set()
        self._used: dict[str, int] = {}

    def unique(self, hint: str) -> str:
        """``hint``, or ``hint_2``, ``hint_3``, ... if taken."""
        n = self._used.get(hint, 0) + 1
        self._used[hint] = n
        return hint if n == 1 else f"{hint}_{n}"

    def const(self, value: Any, hint: str) -> str:
        from onnx import numpy_helper

        name = self.unique(hint)
        self.initializers.append(numpy_helper.from_array(as_constant(value, self.dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, hint: str | None = None, out: str | None = None,
           domain: str = "", **attrs: Any) -> str:
        from onnx import helper

        out = out or self.unique(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out],
                                           name=self.unique(f"{op_type}_node"),
                                           domain=domain or None, **attrs))
        if domain:
            self.domains.add(domain)
        return out
