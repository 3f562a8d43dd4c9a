"""skl2onnx converters for bprop's `MLPClassifier` and `MLPRegressor`.

`register_estimators` (run when `bprop.export` is imported) tells skl2onnx
how to convert the two estimators, so that ``skl2onnx.to_onnx(pipeline, X[:1])``
works for a scikit-learn pipeline that ends in one of them. The network is
written by the same per-layer converters as `bprop.export.to_onnx` (so
``layers=`` networks convert too), through an `Emitter` that adds the nodes
to skl2onnx's container; the outputs are those of scikit-learn's own MLP
converters: ``label`` and ``probabilities`` (a ZipMap of them unless
``options={"zipmap": False}``), or ``variable`` of shape ``(N, n_outputs)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph import Emitter, as_constant
from .layers import convert_layer
from .model import emit_labels, emit_output

__all__ = ["SklEmitter", "register_estimators"]


class SklEmitter(Emitter):
    """An `Emitter` that writes into skl2onnx's ``scope`` and ``container``."""

    def __init__(self, scope: Any, container: Any, dtype: Any) -> None:
        self.scope, self.container = scope, container
        self.dtype = np.dtype(dtype)
        self.opset = container.target_opset

    def const(self, value: Any, hint: str) -> str:
        from onnx import TensorProto, helper

        a = as_constant(value, self.dtype)
        name = self.scope.get_unique_variable_name(hint)
        if a.dtype == object:
            self.container.add_initializer(name, TensorProto.STRING, list(a.shape),
                                           [str(s).encode("utf-8") for s in a.ravel()])
        else:
            self.container.add_initializer(name, helper.np_dtype_to_tensor_dtype(a.dtype),
                                           list(a.shape), a.ravel())
        return name

    def op(self, op_type: str, *inputs: str, hint: str | None = None, out: str | None = None,
           domain: str = "", **attrs: Any) -> str:
        out = out or self.scope.get_unique_variable_name(hint or op_type.lower())
        self.container.add_node(op_type, list(inputs), [out], op_domain=domain,
                                name=self.scope.get_unique_operator_name(op_type), **attrs)
        return out


def _network(scope: Any, operator: Any, container: Any) -> tuple[SklEmitter, str, Any]:
    """The emitter in the input's float type, and the network's raw output."""
    from onnx import TensorProto
    from skl2onnx.common.data_types import guess_proto_type

    est = operator.raw_operator
    proto = guess_proto_type(operator.inputs[0].type)
    g = SklEmitter(scope, container, np.float64 if proto == TensorProto.DOUBLE else np.float32)
    x = operator.inputs[0].full_name
    if proto not in (TensorProto.FLOAT, TensorProto.DOUBLE):
        x = g.op("Cast", x, to=TensorProto.FLOAT, hint="cast_input")
    return g, convert_layer(est.model_, g, x), est


def _convert_classifier(scope: Any, operator: Any, container: Any) -> None:
    g, y, est = _network(scope, operator, container)
    width, classes = est.n_outputs_, np.asarray(est.classes_)
    if est.out_activation_ == "logistic" and width > 1:
        raise ValueError("cannot export a multilabel MLPClassifier (one 0/1 column per "
                         "label) to ONNX; multiclass and binary classifiers convert")
    if classes.dtype.kind in "fb":  # skl2onnx declares numeric labels as int64
        classes = classes.astype(np.int64)
    proba = emit_output(g, y, width, est.out_activation_, classifier=True,
                        out=operator.outputs[1].full_name)
    emit_labels(g, proba, list(classes), out=operator.outputs[0].full_name)


def _convert_regressor(scope: Any, operator: Any, container: Any) -> None:
    g, y, est = _network(scope, operator, container)
    emit_output(g, y, est.n_outputs_, est.out_activation_, classifier=False,
                out=operator.outputs[0].full_name)


def _regressor_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from skl2onnx.common.utils import check_input_and_output_numbers

    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    kind = operator.inputs[0].type
    cls = type(kind) if isinstance(kind, (FloatTensorType, DoubleTensorType)) \
        else FloatTensorType
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].set_type(cls([n, operator.raw_operator.n_outputs_]))


def register_estimators() -> bool:
    """Register the converters with skl2onnx; False (and nothing done) if it is not installed."""
    try:
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    except ImportError:
        return False
    from ..estimators import MLPClassifier, MLPRegressor

    update_registered_converter(MLPClassifier, "BpropMLPClassifier",
                                calculate_linear_classifier_output_shapes, _convert_classifier,
                                options={"zipmap": [True, False, "columns"],
                                         "nocl": [True, False]})
    update_registered_converter(MLPRegressor, "BpropMLPRegressor", _regressor_shape,
                                _convert_regressor)
    return True
