"""Build the estimator's network: a bprop `Sequential` ending in the output Linear.

Two ways to describe the hidden part:

- scikit-learn's ``hidden_layer_sizes`` and ``activation`` (plus bprop's
  ``dropout``): ``Linear -> activation [-> Dropout]`` per hidden layer,
  initialised exactly as scikit-learn does (Glorot-uniform weights *and*
  intercepts drawn from the estimator's RandomState in the same order), so
  the same ``random_state`` gives the same starting point;
- ``layers=``: a list of bprop layers, layer names (``"ReLU"``) or config
  dicts (``{"type": "Linear", "out": 64}``), as in the YAML config's
  ``model:`` list. Input sizes are inferred.

The output layer is always a ``Linear`` to ``n_outputs`` units with no
activation: the output function (softmax, logistic, exp) is fused into the loss
for training and applied by ``predict_proba``/``predict``.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..layers import Dropout, Identity, Layer, Linear, ReLU, Sequential, Sigmoid, Tanh
from ..registry import lookup

#: scikit-learn's activation names and the bprop layers that compute them
ACTIVATIONS: dict[str, type[Layer]] = {
    "identity": Identity,
    "logistic": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
}


def hidden_sizes(hidden_layer_sizes: Any) -> list[int]:
    """scikit-learn's reading of ``hidden_layer_sizes``: an int or a sequence of ints."""
    if not hasattr(hidden_layer_sizes, "__iter__"):
        hidden_layer_sizes = [hidden_layer_sizes]
    sizes = list(hidden_layer_sizes)
    if np.any(np.array(sizes) <= 0):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"hidden_layer_sizes must hold integers, got {s!r}")
    return [int(s) for s in sizes]


def dropout_rates(dropout: Any, n_hidden: int) -> list[float]:
    """One drop probability per hidden layer from a float or a sequence."""
    if np.ndim(dropout) == 0:
        return [float(dropout)] * n_hidden
    rates = [float(p) for p in dropout]
    bad = [p for p in rates if not 0 <= p < 1]
    if bad:
        raise ValueError(f"dropout rates must lie in [0, 1), got {bad[0]}")
    if len(rates) != n_hidden:
        raise ValueError(
            f"dropout has {len(rates)} rates but there are {n_hidden} hidden layers; "
            "give one rate per hidden layer, or a single float"
        )
    return rates


def init_bound(fan_in: int, fan_out: int, activation: str) -> float:
    """Glorot's uniform bound; scikit-learn uses factor 2 for the logistic activation."""
    factor = 2.0 if activation == "logistic" else 6.0
    return float(np.sqrt(factor / (fan_in + fan_out)))


def sklearn_linear(
    fan_in: int, fan_out: int, activation: str, dtype: Any, random_state: np.random.RandomState
) -> Linear:
    """A Linear initialised as scikit-learn's ``_init_coef``: weights, then intercepts."""
    layer = Linear(fan_in, fan_out, dtype=dtype)
    bound = init_bound(fan_in, fan_out, activation)
    layer.weight.value[...] = random_state.uniform(-bound, bound, (fan_in, fan_out))
    layer.bias.value[...] = random_state.uniform(-bound, bound, fan_out)
    return layer


def build_network(
    est: Any, n_features: int, n_outputs: int, dtype: Any, random_state: np.random.RandomState
) -> Sequential:
    """The full network for estimator ``est``: hidden layers, then the output Linear."""
    if est.layers is None:
        return _standard_network(est, n_features, n_outputs, dtype, random_state)
    rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    hidden, dim = custom_layers(est.layers, n_features, dtype, rng)
    out = Linear(dim, n_outputs, dtype=dtype, rng=rng)
    return Sequential(*hidden, out)


def _standard_network(
    est: Any, n_features: int, n_outputs: int, dtype: Any, random_state: np.random.RandomState
) -> Sequential:
    sizes = hidden_sizes(est.hidden_layer_sizes)
    rates = dropout_rates(est.dropout, len(sizes))
    units = [n_features, *sizes, n_outputs]
    # Draw every Linear first, in scikit-learn's order, so that the weights do
    # not depend on whether dropout is on.
    linears = [
        sklearn_linear(a, b, est.activation, dtype, random_state)
        for a, b in zip(units[:-1], units[1:], strict=True)
    ]
    layers: list[Layer] = []
    for i, rate in enumerate(rates):
        layers += [linears[i], ACTIVATIONS[est.activation]()]
        if rate > 0:
            seed = random_state.randint(np.iinfo(np.int32).max)
            layers.append(Dropout(rate, rng=seed))
    layers.append(linears[-1])
    return Sequential(*layers)


def custom_layers(
    spec: Sequence[Any], n_features: int, dtype: Any, rng: np.random.Generator
) -> tuple[list[Layer], int]:
    """Layers from a ``layers=`` list, and the width of the last one's output.

    Each item is a bprop `Layer` (deep-copied, so that refitting starts from the
    same weights), a registered layer name, or a config dict with ``type`` and
    the constructor's arguments; a Linear's input size is inferred, and its
    output size may be given as ``out`` (config style) or ``n_out``.
    """
    if isinstance(spec, (str, dict, Layer)) or not isinstance(spec, Sequence):
        raise ValueError(
            "layers must be a list of bprop layers, layer names or config dicts, "
            f"got {type(spec).__name__}"
        )
    built, dim = [], n_features
    for i, item in enumerate(spec):
        try:
            layer = _one_layer(item, dim, dtype, rng)
            if isinstance(layer, Linear) and layer.n_in != dim:
                raise ValueError(f"Linear expects {layer.n_in} inputs but receives {dim}")
            dim = layer.output_dim(dim)
        except (ValueError, TypeError) as err:
            raise ValueError(f"layers[{i}] ({item!r}): {err}") from err
        built.append(layer)
    return built, dim


def _one_layer(item: Any, dim: int, dtype: Any, rng: np.random.Generator) -> Layer:
    if isinstance(item, Layer):
        return copy.deepcopy(item)
    if isinstance(item, str):
        config: dict[str, Any] = {"type": item}
    elif isinstance(item, dict):
        config = dict(item)
    else:
        raise ValueError(
            f"expected a bprop Layer, a layer name or a config dict, got {type(item).__name__}"
        )
    cls = lookup("layer", config.pop("type", None))
    if cls is Linear:
        n_out = config.pop("out", None) if "out" in config else config.pop("n_out", None)
        if n_out is None:
            raise ValueError("a Linear needs its output size: {'type': 'Linear', 'out': 64}")
        config.pop("n_in", None)
        config.setdefault("dtype", dtype)
        config.setdefault("rng", rng)
        return Linear(dim, n_out, **config)
    if "rng" in inspect.signature(cls).parameters:
        config.setdefault("rng", rng)
    return cls(**config)


def linear_layers(model: Sequential) -> list[Linear]:
    """The network's Linear layers in order (searching nested Sequentials)."""
    return [layer for layer in flat_layers(model) if isinstance(layer, Linear)]


def flat_layers(model: Sequential) -> list[Layer]:
    """Every layer of the network, nested Sequentials flattened, in order."""
    out: list[Layer] = []
    for layer in model.layers:
        out.extend(flat_layers(layer) if isinstance(layer, Sequential) else [layer])
    return out


@contextmanager
def no_trace(*objects: Any) -> Iterator[None]:
    """Put back every attribute the layers (or a loss) set while inside the block.

    A forward pass caches its inputs for backward (``self._x`` ...). After a
    prediction on a large X those caches would hold megabytes, and a pickled
    estimator would carry them; restoring each object's attribute dict (a
    shallow copy: Parameters are the same objects, updated in place) leaves
    no trace of the block but the parameter values.
    """
    saved = [(obj, dict(vars(obj))) for obj in objects]
    try:
        yield
    finally:
        for obj, attrs in saved:
            vars(obj).clear()
            vars(obj).update(attrs)
