"""`Sequential`: a chain of layers, run forward in order and backward in reverse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import registry
from ..parameter import Parameter
from ..registry import register
from .base import Layer
from .summary import summary


@register("layer")
class Sequential(Layer):
    """A stack of layers applied in order.

    Forward: ``y = f_L(... f_2(f_1(x)))``. Backward applies the chain rule
    in reverse: ``dy_{l-1} = f_l.backward(dy_l)``, each layer setting its own
    parameter gradients on the way.

    When a layer fails (most often: shapes that do not fit), the error names
    the layer's index and repr.

    Parameters
    ----------
    *layers : Layer
        The layers in order (or one list or tuple of them).

    Raises
    ------
    ValueError
        If an item is not a bprop Layer.

    Examples
    --------
    >>> from bprop.layers import Linear, ReLU
    >>> net = Sequential(Linear(4, 8, rng=0), ReLU(), Linear(8, 3, rng=1))
    >>> net.forward(np.zeros((5, 4))).shape
    (5, 3)
    >>> len(net.parameters())
    4
    """

    def __init__(self, *layers: Layer) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(
                    f"Sequential: item {i} must be a bprop Layer, got {type(layer).__name__}"
                )
        self.layers: list[Layer] = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for i, layer in enumerate(self.layers):
            try:
                x = layer.forward(x)
            except (ValueError, RuntimeError) as err:
                err.add_note(f"In layer {i} of Sequential: {layer!r}")
                raise
        return x

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``dy`` through every layer; return dL/dx.

        With ``input_grad=False`` (what the training loop uses) the layers
        before the first one with parameters are skipped and that layer only
        computes its parameter gradients: nobody needs dL/dx of the data,
        and for a leading Linear that saves a third of its backward.
        Returns None in that case.

        Parameters
        ----------
        dy : ndarray, shape (N, D_out)
            dL/dy for the last forward's output.
        input_grad : bool, default=True
            Compute dL/dx too.

        Returns
        -------
        dx : ndarray, shape (N, D_in), or None
            dL/dx; None with ``input_grad=False``.

        Raises
        ------
        ValueError, RuntimeError
            A layer's error (RuntimeError: backward before forward), with a
            note naming the layer's index and repr.
        """
        first = 0
        if not input_grad:
            first = next((i for i, lay in enumerate(self.layers) if lay.parameters()), None)
            if first is None:
                return None
        for i in range(len(self.layers) - 1, first - 1, -1):
            layer = self.layers[i]
            try:
                if i == first and not input_grad:
                    layer.backward_params(dy)
                    return None
                dy = layer.backward(dy)
            except (ValueError, RuntimeError) as err:
                err.add_note(f"In layer {i} of Sequential: {layer!r}")
                raise
        return dy

    def backward_params(self, dy: np.ndarray) -> None:
        self.backward(dy, input_grad=False)

    def parameters(self) -> list[Parameter]:
        return [p for layer in self.layers for p in layer.parameters()]

    def buffers(self) -> dict[str, np.ndarray]:
        return {
            f"{i}.{name}": array
            for i, layer in enumerate(self.layers)
            for name, array in layer.buffers().items()
        }

    def train(self, mode: bool = True) -> Sequential:
        self.training = mode
        for layer in self.layers:
            layer.train(mode)
        return self

    def output_dim(self, input_dim: int) -> int:
        for layer in self.layers:
            input_dim = layer.output_dim(input_dim)
        return input_dim

    def append(self, layer: Layer) -> Sequential:
        """Add ``layer`` at the end of the stack.

        Parameters
        ----------
        layer : Layer

        Returns
        -------
        Sequential
            self.

        Raises
        ------
        ValueError
            If ``layer`` is not a bprop Layer.
        """
        if not isinstance(layer, Layer):
            raise ValueError(f"Sequential.append expects a Layer, got {type(layer).__name__}")
        self.layers.append(layer)
        return self

    def summary(self, n_features: int | tuple[int, ...]) -> str:
        """Keras-style table of layers, output shapes and parameters (`summary.summary`).

        Parameters
        ----------
        n_features : int or tuple of int
            D_in of the first layer, or one sample's shape, such as ``(1, 8, 8)``.

        Returns
        -------
        str
            The table, one line per layer and a total.
        """
        return summary(self, n_features)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Layer:
        """The layer at position ``i`` (``net[0]``, ``net[-1]``).

        Parameters
        ----------
        i : int

        Returns
        -------
        Layer
            The layer itself, not a copy.

        Raises
        ------
        IndexError
            For a position outside ``-len(net) .. len(net) - 1``.
        """
        return self.layers[i]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def get_config(self) -> dict[str, Any]:
        return {"layers": [layer_config(layer) for layer in self.layers]}

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"


def layer_config(layer: Layer) -> dict[str, Any]:
    """``{"type": ClassName, **constructor kwargs}`` for one layer.

    Parameters
    ----------
    layer : Layer

    Returns
    -------
    dict
        JSON-able; the registry's builder turns it back into a layer.

    Raises
    ------
    ValueError
        Naming the class and the argument, if ``layer.get_config()`` cannot
        recover an argument (see `Layer.get_config`) or returns a value JSON
        cannot hold.
    """
    config = layer.get_config()
    name = registry.name_of("layer", type(layer))
    for key, value in config.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}.get_config(): argument {key!r} is {type(value).__name__} "
                             f"{value!r:.60}, which a model file cannot hold; return numbers, "
                             "strings, booleans, None, lists or dicts of them") from None
    return {"type": name, **config}
