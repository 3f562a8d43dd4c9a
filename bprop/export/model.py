"""`to_onnx`: a bprop model, with its preprocessing and its output function, as ONNX.

The graph computes what ``bprop predict`` computes, from raw feature rows:

    X --standardize--> network --output function--> probabilities --argmax--> label
                                                 \\-> prediction (regression, in target units)

Standardization ``(X - mean) / scale`` and, for regression, the inverse
target scaling ``y * scale + mean`` are nodes of the graph, so a deployed
model takes the data as it comes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from .graph import Emitter, GraphBuilder
from .layers import check_widths, convert_layer

__all__ = ["OUT_ACTIVATIONS", "emit_labels", "emit_output", "to_onnx"]

#: output functions, named as scikit-learn's ``out_activation_``
OUT_ACTIVATIONS = ("identity", "softmax", "logistic", "exp")

DEFAULT_OPSET = 17  # LayerNormalization's; every runtime of the last years reads it


def emit_output(g: Emitter, y: str, width: int, out_activation: str, *, classifier: bool,
                out: str) -> str:
    """Apply the output function to the network's raw output ``y``.

    For a classifier with one output (``logistic``) the result is the two
    columns ``[1 - p, p]``, as ``predict_proba`` gives them.
    """
    if out_activation == "softmax":
        return g.op("Softmax", y, axis=1, out=out)
    if out_activation == "logistic":
        if classifier and width == 1:
            p = g.op("Sigmoid", y, hint="p1")
            q = g.op("Sub", g.const(np.ones((1, 1)), "one"), p, hint="p0")
            return g.op("Concat", q, p, axis=1, out=out)
        return g.op("Sigmoid", y, out=out)
    if out_activation == "exp":
        return g.op("Exp", y, out=out)
    return g.op("Identity", y, out=out)


def emit_labels(g: Emitter, proba: str, classes: Sequence[Any], out: str) -> str:
    """The label of the most probable class of each row (the first on ties, as argmax)."""
    index = g.op("ArgMax", proba, axis=1, keepdims=0, hint="class_index")
    return g.op("Gather", g.const(label_array(classes), "classes"), index, axis=0, out=out)


def label_array(classes: Sequence[Any]) -> np.ndarray:
    """Class labels as int64 when they are whole numbers, else as text."""
    a = np.asarray(list(classes))
    if a.dtype.kind in "iub":
        return a.astype(np.int64)
    if a.dtype.kind == "f" and np.all(np.mod(a, 1) == 0):
        return a.astype(np.int64)
    return np.array([str(c) for c in classes], dtype=object)


def _last_layer(model: Any) -> Any:
    while getattr(model, "layers", None):
        model = model.layers[-1]
    return model


def _check_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt


def to_onnx(model: Any, n_features: int, *, preprocessing: Any = None,
            classes: Sequence[Any] | None = None, out_activation: str | None = None,
            dtype: Any = np.float32, opset: int = DEFAULT_OPSET, name: str = "bprop") -> Any:
    """Convert a bprop model (and a run's preprocessing) to an ONNX model.

    Parameters
    ----------
    model : Layer
        A `Sequential` (or a single layer) of layers with a converter in
        `bprop.export.CONVERTERS`; exported in evaluation mode.
    n_features : int
        Width of the input rows.
    preprocessing : Preprocessor or dict, optional
        A run's `bprop.config.data.Preprocessor` (or its ``to_dict()``, as in
        ``model.npz``'s metadata): the feature standardization goes into the
        graph, and so do its class labels (classification) or the inverse
        target standardization (regression).
    classes : sequence, optional
        Class labels, in the order of the network's outputs; makes the
        model a classifier. Taken from ``preprocessing`` when not given.
    out_activation : {"identity", "softmax", "logistic", "exp"}, optional
        The output function. Default: for a classifier ``softmax``
        (``logistic`` for a single output; none after a final Softmax layer),
        otherwise ``identity``.
    dtype : {numpy.float32, numpy.float64}
        The type of the input, the weights and the outputs.
    opset : int
        Target opset of the default ONNX domain (at least 13).
    name : str
        The graph's name.

    Returns
    -------
    onnx.ModelProto
        Input ``X`` of shape ``(N, n_features)``. A classifier has the outputs
        ``label`` ``(N,)`` (int64, or string for text labels) and
        ``probabilities`` ``(N, n_classes)``; otherwise one output,
        ``prediction`` ``(N, n_outputs)``.

    Raises
    ------
    ValueError
        For a model that is not a bprop Layer, a layer without a converter
        (named), widths that do not fit,
        classes that do not match the outputs, or a bad option.
    ImportError
        If the ``onnx`` package is not installed.

    Examples
    --------
    >>> from bprop.layers import Linear, ReLU, Sequential
    >>> net = Sequential(Linear(4, 8, rng=0), ReLU(), Linear(8, 3, rng=1))
    >>> m = to_onnx(net, 4, classes=["a", "b", "c"])
    >>> [o.name for o in m.graph.output]
    ['label', 'probabilities']
    """
    try:
        import onnx
        from onnx import helper
    except ImportError as err:
        raise ImportError("bprop.export needs the onnx package: "
                          "pip install 'bprop[onnx]'") from err
    from ..config.data import Preprocessor
    from ..layers import Layer

    if not isinstance(model, Layer):
        hint = (" (an estimator: export its model_, or convert it with skl2onnx)"
                if hasattr(model, "fit") else "")
        raise ValueError(f"model must be a bprop Layer, such as a Sequential, got "
                         f"{type(model).__name__}{hint}")
    if isinstance(n_features, bool) or not isinstance(n_features, (int, np.integer)) \
            or n_features < 1:
        raise ValueError(f"n_features must be an integer >= 1, got {n_features!r}")
    n_features, dt = int(n_features), _check_dtype(dtype)
    if opset < 13:
        raise ValueError(f"opset must be >= 13, got {opset}")
    prep = Preprocessor.from_dict(preprocessing) if isinstance(preprocessing, dict) \
        else preprocessing
    if prep is not None and len(prep.x_mean) != n_features:
        raise ValueError(f"the preprocessing standardizes {len(prep.x_mean)} features but "
                         f"n_features is {n_features}")
    if prep is not None and prep.task == "classification":
        if classes is not None and list(classes) != list(prep.classes):
            raise ValueError(f"classes {list(classes)} differ from the preprocessing's "
                             f"{prep.classes}")
        classes = prep.classes
    width = check_widths(model, n_features)
    classifier = classes is not None
    if out_activation is None:
        out_activation = "identity"
        if classifier and type(_last_layer(model)).__name__ != "Softmax":
            out_activation = "softmax" if width > 1 else "logistic"
    if out_activation not in OUT_ACTIVATIONS:
        raise ValueError(f"out_activation must be one of {', '.join(OUT_ACTIVATIONS)}, "
                         f"got {out_activation!r}")
    if classifier:
        n_proba = 2 if width == 1 and out_activation == "logistic" else width
        if len(classes) != n_proba:
            raise ValueError(f"{len(classes)} classes for a network with {width} output(s): "
                             f"need one class per output column ({n_proba})")

    g = GraphBuilder(dt, opset)
    x = "X"
    if prep is not None and not (np.all(prep.x_mean == 0) and np.all(prep.x_scale == 1)):
        x = g.op("Sub", x, g.const(prep.x_mean, "x_mean"), hint="centered")
        x = g.op("Div", x, g.const(prep.x_scale, "x_scale"), hint="standardized")
    y = convert_layer(model, g, x)  # converters read parameters only: the mode is untouched

    elem = helper.np_dtype_to_tensor_dtype(dt)
    if classifier:
        proba = emit_output(g, y, width, out_activation, classifier=True, out="probabilities")
        emit_labels(g, proba, classes, out="label")
        label_type = helper.np_dtype_to_tensor_dtype(label_array(classes).dtype)
        outputs = [helper.make_tensor_value_info("label", label_type, ["N"]),
                   helper.make_tensor_value_info("probabilities", elem, ["N", len(classes)])]
    else:
        decode = prep is not None and prep.y_mean is not None
        y = emit_output(g, y, width, out_activation, classifier=False,
                        out="raw_prediction" if decode else "prediction")
        if decode:
            y = g.op("Mul", y, g.const(prep.y_scale, "y_scale"), hint="scaled")
            g.op("Add", y, g.const(prep.y_mean, "y_mean"), out="prediction")
        outputs = [helper.make_tensor_value_info("prediction", elem, ["N", width])]

    graph = helper.make_graph(
        g.nodes, name, [helper.make_tensor_value_info("X", elem, ["N", n_features])], outputs,
        initializer=g.initializers,
        doc_string=f"bprop model: {n_features} features -> "
                   + (f"{len(classes)} classes" if classifier else f"{width} output(s)"))
    opsets = [helper.make_opsetid("", opset)]
    m = helper.make_model(graph, opset_imports=opsets, producer_name="bprop",
                          producer_version=_version())
    m.ir_version = helper.find_min_ir_version_for(opsets)
    meta = {"task": "classification" if classifier else "regression",
            "n_features": n_features}
    if classifier:
        meta["classes"] = list(classes)
    if prep is not None:
        meta["feature_names"] = list(prep.feature_names)
        meta["target_names"] = list(prep.target_names)
    helper.set_model_props(m, {f"bprop.{k}": json.dumps(v, default=str) for k, v in meta.items()})
    onnx.checker.check_model(m, full_check=True)
    return m


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("bprop")
    except Exception:  # running from a source tree
        return "unknown"
