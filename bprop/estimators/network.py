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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..config.entries import build_model, check_model
from ..config.fields import ConfigError
from ..layers import Dropout, Identity, Layer, Linear, ReLU, Sequential, Sigmoid, Tanh

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
    seed_seq = np.random.SeedSequence(random_state.randint(np.iinfo(np.int32).max))
    hidden, dim = custom_layers(est.layers, n_features, dtype, seed_seq)
    out = Linear(dim, n_outputs, dtype=dtype, rng=np.random.default_rng(seed_seq.spawn(1)[0]))
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
    spec: Sequence[Any], n_features: int, dtype: Any, seed_seq: np.random.SeedSequence
) -> tuple[list[Layer], int]:
    """Layers from a ``layers=`` list, and the width of the last one's output.

    Each item is a bprop `Layer` (deep-copied, so that refitting starts from the
    same weights) or an entry of a YAML config's ``model:`` list: a registered
    layer name or a dict with ``type`` and the arguments, checked and built by
    `bprop.components` exactly as for ``bprop train`` (input sizes inferred, a
    Linear's size written ``out``).
    """
    if isinstance(spec, (str, dict, Layer)) or not isinstance(spec, Sequence):
        raise ValueError(
            "layers must be a list of bprop layers, layer names or config dicts, "
            f"got {type(spec).__name__}"
        )
    built, dim = [], n_features
    for i, item in enumerate(spec):
        if isinstance(item, Layer):
            layer = copy.deepcopy(item)
            if isinstance(layer, Linear) and layer.n_in != dim:
                raise ValueError(
                    f"layers[{i}]: Linear expects {layer.n_in} inputs but receives {dim}"
                )
        else:
            layer = _from_config(item, i, dim, dtype, seed_seq)
        dim = layer.output_dim(dim)
        built.append(layer)
    return built, dim


def _from_config(
    item: Any, i: int, dim: int, dtype: Any, seed_seq: np.random.SeedSequence
) -> Layer:
    try:
        checked = check_model([item], path="layers")
        model, _ = build_model(checked, dim, dtype=np.dtype(dtype).name, seed_seq=seed_seq)
    except ConfigError as err:
        where = f"layers[{i}]" + err.path.removeprefix("layers[0]")
        raise ValueError(f"{where}: {err.message}") from None
    return model.layers[0]


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
