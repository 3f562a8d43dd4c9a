"""One ONNX converter per layer class, in a table keyed by the class name.

A converter is ``convert(layer, g, x) -> y``: it reads the layer's
(evaluation-mode) parameters, adds the nodes that compute the layer's
forward pass to the `Emitter` ``g``, starting from the tensor named ``x``,
and returns the name of the output tensor. Export is inference only, so
Dropout is the identity and BatchNorm uses its running statistics.

A new layer becomes exportable with one decorated function::

    @register_converter("Square")
    def _square(layer, g, x):
        return g.op("Mul", x, x)

Layers without a converter are refused with an error naming them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..parameter import Parameter
from .graph import Emitter

__all__ = ["CONVERTERS", "check_widths", "convert_layer", "register_converter"]

Converter = Callable[[Any, Emitter, str], str]

#: class name -> converter; `register_converter` fills it
CONVERTERS: dict[str, Converter] = {}


def register_converter(name: str) -> Callable[[Converter], Converter]:
    """A decorator: make ``convert(layer, g, x) -> y`` the converter of layer class ``name``.

    Parameters
    ----------
    name : str
        The layer's class name (as in `bprop.registry`); replaces an earlier converter.

    Returns
    -------
    callable
        The decorator; it returns the function unchanged.
    """

    def decorate(fn: Converter) -> Converter:
        CONVERTERS[name] = fn
        return fn

    return decorate


def convert_layer(layer: Any, g: Emitter, x: str) -> str:
    """Emit ``layer``'s forward pass on ``x``; return the output's name.

    Raises
    ------
    ValueError
        If no converter is registered for the layer's class.
    """
    name = type(layer).__name__
    convert = CONVERTERS.get(name)
    if convert is None:
        raise ValueError(
            f"cannot export layer {name}: no ONNX converter for it (exportable: "
            f"{', '.join(sorted(CONVERTERS))}); add one with "
            f"@bprop.export.register_converter({name!r})"
        )
    return convert(layer, g, x)


def check_widths(model: Any, n_features: int) -> int:
    """Follow the feature count through the stack; return the output width.

    Raises
    ------
    ValueError
        Naming the first layer whose input size (``n_in``) differs from the
        width it receives.
    """
    dim = n_features
    for i, layer in enumerate(getattr(model, "layers", [model])):
        if hasattr(layer, "layers"):
            dim = check_widths(layer, dim)
            continue
        n_in = getattr(layer, "n_in", None)
        if n_in is not None and n_in != dim:
            raise ValueError(f"layer {i} ({layer!r}) expects {n_in} input features but "
                             f"receives {dim}")
        dim = layer.output_dim(dim)
    return dim


def _array(layer: Any, *names: str) -> np.ndarray:
    """The first of the attributes ``names`` that the layer has, as an array
    (a Parameter's value); an error naming the layer and the attribute if none."""
    for n in names:
        v = getattr(layer, n, None)
        if v is not None:
            return np.asarray(v.value if isinstance(v, Parameter) else v, dtype=np.float64)
    raise ValueError(f"cannot export {type(layer).__name__}: it has no attribute "
                     f"{' or '.join(names)}")


def _number(layer: Any, *names: str) -> float:
    return float(_array(layer, *names).reshape(-1)[0])


# ----------------------------------------------------------- the reference core


@register_converter("Sequential")
def _sequential(layer: Any, g: Emitter, x: str) -> str:
    for i, sub in enumerate(layer.layers):
        try:
            x = convert_layer(sub, g, x)
        except ValueError as err:
            err.add_note(f"In layer {i} of Sequential: {sub!r}")
            raise
    return x


@register_converter("Linear")
def _linear(layer: Any, g: Emitter, x: str) -> str:
    # y = x @ W + b: Gemm's A @ B + C, with W stored (n_in, n_out) as bprop keeps it
    W, b = g.const(layer.weight.value, "W"), g.const(layer.bias.value, "b")
    return g.op("Gemm", x, W, b, hint="linear")


@register_converter("Sigmoid")
def _sigmoid(layer: Any, g: Emitter, x: str) -> str:
    return g.op("Sigmoid", x)


@register_converter("Tanh")
def _tanh(layer: Any, g: Emitter, x: str) -> str:
    return g.op("Tanh", x)


@register_converter("ReLU")
def _relu(layer: Any, g: Emitter, x: str) -> str:
    return g.op("Relu", x)


@register_converter("LeakyReLU")
def _leaky_relu(layer: Any, g: Emitter, x: str) -> str:
    return g.op("LeakyRelu", x, alpha=float(layer.negative_slope))


@register_converter("Identity")
@register_converter("Dropout")  # the identity at inference (inverted dropout scales in training)
def _identity(layer: Any, g: Emitter, x: str) -> str:
    return g.op("Identity", x)


@register_converter("Softmax")
def _softmax(layer: Any, g: Emitter, x: str) -> str:
    return g.op("Softmax", x, axis=1)


# ------------------------------------------------ layers of the wider catalogue


@register_converter("LogSoftmax")
def _log_softmax(layer: Any, g: Emitter, x: str) -> str:
    return g.op("LogSoftmax", x, axis=1)


# onnxruntime has float32 kernels only for Elu, Softplus and Erf: a float64
# graph spells the first two out in ops that have double kernels.


@register_converter("ELU")
def _elu(layer: Any, g: Emitter, x: str) -> str:
    alpha = _number(layer, "alpha")
    if g.dtype != np.float64:
        return g.op("Elu", x, alpha=alpha)
    # alpha * (exp(min(x, 0)) - 1) where x <= 0; min keeps exp from overflowing
    neg = g.op("Mul", g.op("Sub", g.op("Exp", g.op("Min", x, g.const(0.0, "zero"))),
                           g.const(1.0, "one")), g.const(alpha, "alpha"))
    return g.op("Where", g.op("Greater", x, g.const(0.0, "zero")), x, neg, hint="elu")


@register_converter("GELU")
def _gelu(layer: Any, g: Emitter, x: str) -> str:
    # exact GELU, x * Phi(x) = x * (1 + erf(x / sqrt 2)) / 2, from opset-13 ops
    # (ONNX's own Gelu needs opset 20, which older runtimes lack)
    z = g.op("Mul", x, g.const(1 / math.sqrt(2), "inv_sqrt2"))
    if g.dtype == np.float64:  # erf in float32 (relative error ~1e-7): no double Erf kernel
        from onnx import TensorProto

        e = g.op("Cast", g.op("Erf", g.op("Cast", z, to=TensorProto.FLOAT)),
                 to=TensorProto.DOUBLE)
    else:
        e = g.op("Erf", z)
    phi = g.op("Mul", g.op("Add", e, g.const(1.0, "one")), g.const(0.5, "half"))
    return g.op("Mul", x, phi, hint="gelu")


@register_converter("Softplus")
def _softplus(layer: Any, g: Emitter, x: str) -> str:
    if g.dtype != np.float64:
        return g.op("Softplus", x)
    # log(1 + exp(x)) = max(x, 0) + log(1 + exp(-|x|)), which never overflows
    tail = g.op("Log", g.op("Add", g.const(1.0, "one"), g.op("Exp", g.op("Neg", g.op("Abs", x)))))
    return g.op("Add", g.op("Relu", x), tail, hint="softplus")


@register_converter("PReLU")
def _prelu(layer: Any, g: Emitter, x: str) -> str:
    slope = _array(layer, "alpha", "weight").reshape(-1)
    return g.op("PRelu", x, g.const(slope, "slope"))


@register_converter("Flatten")
def _flatten(layer: Any, g: Emitter, x: str) -> str:
    return g.op("Flatten", x, axis=1)


@register_converter("BatchNorm")
def _batch_norm(layer: Any, g: Emitter, x: str) -> str:
    # Evaluation mode: y = (x - mean) / sqrt(var + eps) * gamma + beta with the
    # running statistics, folded (in float64) into one scale and one shift.
    mean = _array(layer, "running_mean", "moving_mean")
    var = _array(layer, "running_var", "moving_var")
    scale = _array(layer, "gamma") / np.sqrt(var + _number(layer, "eps", "epsilon"))
    shift = _array(layer, "beta") - mean * scale
    return g.op("Add", g.op("Mul", x, g.const(scale, "bn_scale")), g.const(shift, "bn_shift"),
                hint="batchnorm")


@register_converter("LayerNorm")
def _layer_norm(layer: Any, g: Emitter, x: str) -> str:
    if g.opset < 17:
        raise ValueError(f"LayerNorm needs ONNX opset 17 or later, the target is {g.opset}")
    return g.op("LayerNormalization", x, g.const(_array(layer, "gamma"), "ln_gamma"),
                g.const(_array(layer, "beta"), "ln_beta"), axis=-1,
                epsilon=_number(layer, "eps", "epsilon"), hint="layernorm")
