"""Neurons, layers and MLPs built from scalar `Value`s, as micrograd teaches them.

The same classes as micrograd's ``nn.py`` (Karpathy, 2020), with one change:
each takes an ``rng`` (a seed or a numpy Generator) for its initial weights,
so that a run can be repeated. A neuron computes ``relu(w . x + b)`` (or
``w . x + b`` without ``nonlin``); a layer is a list of neurons reading the
same inputs; an MLP is a list of layers, the last one linear.

Training follows the PyTorch rhythm, since `Value` leaves *accumulate* their
gradients across ``backward()`` calls::

    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad

Examples
--------
>>> model = MLP(2, [4, 1], rng=0)
>>> out = model([1.0, -2.0])
>>> out.backward()
>>> len(model.parameters()), model.parameters()[-1].grad      # d out / d (last bias)
(17, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..validation import check_int
from .value import Number, Value


def _rng(rng: int | np.random.Generator | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class Module:
    """Anything with parameters: ``parameters()`` lists them, ``zero_grad()`` resets them."""

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0 (leaf gradients accumulate otherwise)."""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        """Every trainable leaf of the module, in a fixed order.

        Returns
        -------
        list of Value
            The weights and biases themselves (not copies): an update to
            ``p.data`` changes the module. Empty for the base class.
        """
        return []


class Neuron(Module):
    """One unit: ``relu(sum_i w_i x_i + b)``, or the plain sum with ``nonlin=False``.

    Parameters
    ----------
    nin : int
        Number of inputs.
    nonlin : bool, default=True
        Apply ReLU to the sum.
    rng : int, numpy Generator or None
        Weights are drawn uniform in [-1, 1] (as micrograd), the bias starts at 0.

    Raises
    ------
    ValueError
        If ``nin`` is not an integer >= 1.
    """

    def __init__(self, nin: int, nonlin: bool = True, *,
                 rng: int | np.random.Generator | None = None) -> None:
        nin = check_int("Neuron: nin", nin)  # 2.5 inputs is a mistake, not 2
        gen = _rng(rng)
        self.w = [Value(float(gen.uniform(-1.0, 1.0))) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Value | Number]) -> Value:
        """The neuron's output on one sample, building its graph.

        Parameters
        ----------
        x : sequence of Value or float, length nin
            One sample's inputs; numbers are constants, `Value` nodes
            are differentiated too.

        Returns
        -------
        Value
            ``relu(w . x + b)``, or ``w . x + b`` with ``nonlin=False``.

        Raises
        ------
        ValueError
            If ``len(x) != nin``.
        """
        if len(x) != len(self.w):
            raise ValueError(f"{self!r} takes {len(self.w)} inputs, got {len(x)}")
        act = sum((wi * xi for wi, xi in zip(self.w, x, strict=True)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        """The weights, then the bias.

        Returns
        -------
        list of Value, length nin + 1
        """
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; one output is returned bare.

    Parameters
    ----------
    nin, nout : int
        Inputs read by every neuron, and the number of neurons (outputs).
    nonlin : bool, default=True
        ReLU neurons, or linear ones.
    rng : int, numpy Generator or None
        One generator draws every neuron's weights, in order.

    Raises
    ------
    ValueError
        If ``nin`` or ``nout`` is not an integer >= 1.
    """

    def __init__(self, nin: int, nout: int, nonlin: bool = True, *,
                 rng: int | np.random.Generator | None = None) -> None:
        nout = check_int("Layer: nout", nout)
        gen = _rng(rng)
        self.neurons = [Neuron(nin, nonlin, rng=gen) for _ in range(nout)]

    def __call__(self, x: Sequence[Value | Number]) -> Value | list[Value]:
        """Every neuron's output on one sample.

        Parameters
        ----------
        x : sequence of Value or float, length nin

        Returns
        -------
        Value or list of Value, length nout
            A bare `Value` when ``nout == 1`` (as micrograd), so that a
            network's scalar output needs no unpacking.

        Raises
        ------
        ValueError
            If ``len(x) != nin``.
        """
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        """Each neuron's weights and bias, neuron by neuron.

        Returns
        -------
        list of Value, length nout * (nin + 1)
        """
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of sizes ``nouts`` after ``nin`` inputs: ReLU hidden layers, a linear last one.

    Parameters
    ----------
    nin : int
        Inputs per sample.
    nouts : list of int
        The width of each layer, the last one being the output.
    rng : int, numpy Generator or None
        One generator draws every layer's weights, in order.

    Raises
    ------
    ValueError
        If ``nouts`` is empty, or a size is below 1.
    """

    def __init__(self, nin: int, nouts: Sequence[int], *,
                 rng: int | np.random.Generator | None = None) -> None:
        if not nouts:
            raise ValueError("MLP: nouts must list at least one layer width")
        gen = _rng(rng)
        sizes = [nin, *nouts]
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 1, rng=gen)
                       for i in range(len(nouts))]

    def __call__(self, x: Sequence[Value | Number]) -> Value | list[Value]:
        """The network's output on one sample, building its graph.

        Parameters
        ----------
        x : sequence of Value or float, length nin

        Returns
        -------
        Value or list of Value, length nouts[-1]
            A bare `Value` for one output.

        Raises
        ------
        ValueError
            If ``len(x) != nin``.
        """
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        """Every layer's parameters, first layer first.

        Returns
        -------
        list of Value
            ``sum((n_in + 1) * n_out)`` over the layers.
        """
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
