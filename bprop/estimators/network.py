"""The estimator's network: a bprop `Sequential` ending in the output Linear.

Two ways to describe the hidden part:

- scikit-learn's ``hidden_layer_sizes`` and ``activation`` (plus bprop's
  ``dropout``): ``Linear -> activation [-> Dropout]`` per hidden layer,
  initialised exactly as scikit-learn does (Glorot-uniform weights *and*
  intercepts drawn from the estimator's RandomState in the same order), so
  the same ``random_state`` gives the same starting point;
- ``layers=``: a list of bprop layers, layer names (``"ReLU"``) or config
  dicts (``{"type": "Linear", "out": 64}``), as in the YAML config's
  ``model:`` list, built by the config's own builder. Input sizes are inferred.

Every name (``activation="relu"``, ``"ReLU"``, ``{"type": ...}``) is looked up
in `bprop.registry`. The output layer is always a ``Linear`` to ``n_outputs``
units with no activation: the output function (softmax, logistic, exp) is
fused into the loss for training and applied by ``predict_proba``/``predict``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..config.entries import build_model, check_model
from ..config.fields import ConfigError
from ..layers import Dropout, Layer, Linear, Sequential
from ..layers.base import leaf_layers
from ..registry import lookup


def starts_with_flatten(layers: Sequence[Any] | None) -> bool:
    """Whether a custom ``layers=`` stack starts with `Flatten` (so N-D X is accepted).

    Parameters
    ----------
    layers : sequence or None
        The estimator's ``layers`` parameter: names, ``{"type": ...}`` dicts or
        Layer objects.

    Returns
    -------
    bool
    """
    if not layers:
        return False
    first = layers[0]
    name = first if isinstance(first, str) else (
        first.get("type") if isinstance(first, dict) else type(first).__name__)
    try:
        return isinstance(name, str) and lookup("layer", name).__name__ == "Flatten"
    except (KeyError, ValueError):
        return False


def nd_allowed(X: Any, layers: Sequence[Any] | None, estimator: str) -> bool:
    """Whether N-D ``X`` may pass (the stack starts with Flatten); refuses it clearly if not.

    Parameters
    ----------
    X : array-like
    layers : sequence or None
        The estimator's ``layers``.
    estimator : str
        Its class name, for the message.

    Returns
    -------
    bool
        ``allow_nd`` for scikit-learn's ``validate_data``.

    Raises
    ------
    ValueError
        For X of more than 2 dimensions without a leading Flatten.
    """
    allowed = starts_with_flatten(layers)
    ndim = getattr(X, "ndim", None)
    if ndim is not None and ndim > 2 and not allowed:
        raise ValueError(f"Found array with dim {ndim}, while dim <= 2 is required by "
                         f"{estimator}, unless its layers= start with 'Flatten' "
                         "(layers=['Flatten', {'type': 'Linear', 'out': 64}, 'ReLU'])")
    return allowed


def build_network(
    n_features: int,
    n_outputs: int,
    *,
    hidden_layer_sizes: Any,
    activation: str,
    dropout: Any,
    layers: Sequence[Any] | None,
    dtype: Any,
    random_state: np.random.RandomState,
) -> Sequential:
    """The full network: the hidden layers, then the output Linear.

    Parameters
    ----------
    n_features, n_outputs : int
        Width of the input and of the output.
    hidden_layer_sizes : int or sequence of int
        scikit-learn's hidden widths (ignored when ``layers`` is given).
    activation : {"identity", "logistic", "tanh", "relu"}
        The hidden activation, a registry alias of a bprop layer.
    dropout : float or sequence of float
        Drop probability after each hidden activation (0: no Dropout layer).
    layers : sequence or None
        A custom hidden stack (see `custom_layers`), replacing the three above.
    dtype : float32 or float64
        The parameters' dtype.
    random_state : numpy RandomState
        The estimator's generator: the initial weights (scikit-learn's draws),
        then the seeds of Dropout (or of a custom stack).

    Returns
    -------
    Sequential

    Raises
    ------
    ValueError
        For bad sizes, dropout rates or ``layers`` entries.
    """
    if layers is not None:
        seed_seq = np.random.SeedSequence(random_state.randint(np.iinfo(np.int32).max))
        hidden, dim = custom_layers(layers, n_features, dtype, seed_seq)
        out = Linear(dim, n_outputs, dtype=dtype, rng=np.random.default_rng(seed_seq.spawn(1)[0]))
        return Sequential(*hidden, out)
    sizes = hidden_sizes(hidden_layer_sizes)
    rates = dropout_rates(dropout, len(sizes))
    units = [n_features, *sizes, n_outputs]
    # Draw every Linear first, in scikit-learn's order, so that the weights do
    # not depend on whether dropout is on.
    linears = [
        sklearn_linear(a, b, activation, dtype, random_state)
        for a, b in zip(units[:-1], units[1:], strict=True)
    ]
    act = lookup("layer", activation)
    hidden: list[Layer] = []
    for linear, rate in zip(linears[:-1], rates, strict=True):
        hidden += [linear, act()]
        if rate > 0:
            hidden.append(Dropout(rate, rng=random_state.randint(np.iinfo(np.int32).max)))
    return Sequential(*hidden, linears[-1])


def hidden_sizes(hidden_layer_sizes: Any) -> list[int]:
    """scikit-learn's reading of ``hidden_layer_sizes``.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int

    Returns
    -------
    list of int

    Raises
    ------
    ValueError
        If a size is <= 0 (scikit-learn's message).
    TypeError
        If a size is not an integer.
    """
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
    """One drop probability per hidden layer.

    Parameters
    ----------
    dropout : float or sequence of float
        One rate for every hidden layer, or one each.
    n_hidden : int
        How many hidden layers there are.

    Returns
    -------
    list of float, length ``n_hidden``

    Raises
    ------
    ValueError
        For a rate outside [0, 1) or a sequence of the wrong length.
    """
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


def sklearn_linear(
    fan_in: int, fan_out: int, activation: str, dtype: Any, random_state: np.random.RandomState
) -> Linear:
    """A Linear initialised as scikit-learn's ``_init_coef``: weights, then intercepts.

    Both are uniform in ``[-a, a]`` with Glorot's ``a = sqrt(6 / (fan_in +
    fan_out))``, or ``sqrt(2 / ...)`` for the logistic activation.

    Parameters
    ----------
    fan_in, fan_out : int
        Input and output widths.
    activation : str
        The hidden activation (it sets the bound).
    dtype : float32 or float64
    random_state : numpy RandomState
        Draws ``fan_in * fan_out`` weights, then ``fan_out`` intercepts.

    Returns
    -------
    Linear
    """
    factor = 2.0 if activation == "logistic" else 6.0
    a = np.sqrt(factor / (fan_in + fan_out))
    # The values are scikit-learn's draws from its RandomState: build the layer
    # with zeros (nothing drawn; the fixed seed spares reading OS entropy) and fill it.
    layer = Linear(fan_in, fan_out, init="zeros", dtype=dtype, rng=0)
    layer.weight.value[...] = random_state.uniform(-a, a, (fan_in, fan_out))
    layer.bias.value[...] = random_state.uniform(-a, a, fan_out)
    return layer


def custom_layers(
    spec: Sequence[Any], n_features: int, dtype: Any, seed_seq: np.random.SeedSequence
) -> tuple[list[Layer], int]:
    """Layers from a ``layers=`` list, and the width of the last one's output.

    Parameters
    ----------
    spec : sequence
        Each item a bprop `Layer` (deep-copied, so that refitting starts from
        the same weights) or an entry of a YAML config's ``model:`` list: a
        registered layer name or a dict with ``type`` and the arguments,
        checked and built by `bprop.config.entries` exactly as for ``bprop
        train`` (input sizes inferred, a Linear's size written ``out``).
    n_features : int
        The input width.
    dtype : float32 or float64
    seed_seq : numpy SeedSequence
        Spawns one generator per layer that draws random numbers.

    Returns
    -------
    layers : list of Layer
    width : int
        The last layer's output width.

    Raises
    ------
    ValueError
        For a spec that is not a list, or an item the config check refuses
        (the message names ``layers[i]`` and the key).
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
            try:
                checked = check_model([item], path="layers")
                model, _ = build_model(checked, dim, dtype=np.dtype(dtype).name, seed_seq=seed_seq)
            except ConfigError as err:
                where = f"layers[{i}]" + err.path.removeprefix("layers[0]")
                raise ValueError(f"{where}: {err.message}") from None
            layer = model.layers[0]
        dim = layer.output_dim(dim)
        built.append(layer)
    return built, dim


def linear_layers(model: Sequential) -> list[Linear]:
    """The network's Linear layers in order (searching nested Sequentials).

    Parameters
    ----------
    model : Sequential

    Returns
    -------
    list of Linear
    """
    return [layer for layer in leaf_layers(model) if isinstance(layer, Linear)]
