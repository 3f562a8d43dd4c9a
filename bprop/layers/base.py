"""The `Layer` contract, stated once."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from scipy.sparse import issparse

from ..parameter import Parameter


class Layer:
    """Base class of every layer: ``forward(x) -> y`` and ``backward(dy) -> dx``.

    Notation, used in every layer's docstring: ``x`` is the input, shape
    ``(N, D_in)``; ``y`` the output, shape ``(N, D_out)``; for any quantity
    ``a``, ``da`` means dL/da, the gradient of the scalar loss L with respect
    to ``a``.

    The contract:

    - ``forward(x)`` computes ``y`` and caches exactly what ``backward`` needs.
    - ``backward(dy)`` returns ``dx`` for the most recent ``forward`` and
      **sets** (overwrites, never accumulates) ``.grad`` of each of the
      layer's parameters. A layer runs once per pass, so no zero-grad step is
      needed (contrast `bprop.graph.Value`, where a node can feed many
      consumers and gradients must add up).
    - ``parameters()`` lists the layer's `Parameter` objects.
    - ``buffers()`` names the arrays that are state but not trained
      (BatchNorm's running statistics): model files and checkpoints save them,
      optimizers never see them.
    - ``train()`` / ``eval()`` switch the mode (Dropout and BatchNorm behave
      differently).

    A new layer subclasses `Layer` and implements ``forward`` and
    ``backward``; `bprop.gradcheck.check_gradients` verifies it.

    Examples
    --------
    >>> class Square(Layer):
    ...     def forward(self, x):
    ...         self._x = x
    ...         return x * x
    ...     def backward(self, dy):
    ...         return 2 * self._x * dy
    >>> Square().forward(np.array([[3.0]]))
    array([[9.]])
    """

    training: bool = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer's output, caching what `backward` needs.

        Parameters
        ----------
        x : ndarray, shape (N, D_in)
            A batch of N inputs (Flatten also takes (N, ...)).

        Returns
        -------
        y : ndarray, shape (N, D_out)
            A fresh array (the caller may keep or modify it).

        Raises
        ------
        ValueError
            For an input the layer cannot take (not numeric, or a shape that
            does not fit its weights), naming the layer.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """The input gradient for the most recent `forward`; sets each parameter's ``.grad``.

        Parameters
        ----------
        dy : ndarray, shape (N, D_out)
            dL/dy for the last forward's output.

        Returns
        -------
        dx : ndarray, shape (N, D_in)
            dL/dx.

        Raises
        ------
        RuntimeError
            If called before any `forward`.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement backward(dy)")

    def backward_params(self, dy: np.ndarray) -> None:
        """Set the parameter gradients only; dx is not needed.

        The training loop calls this on the first layer, whose input gradient
        nobody uses. Layers that can skip work (Linear saves a third of its
        backward) override it.

        Parameters
        ----------
        dy : ndarray, shape (N, D_out)
            dL/dy for the last forward's output.
        """
        self.backward(dy)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``layer(x)`` is ``layer.forward(x)``.

        Parameters
        ----------
        x : ndarray, shape (N, D_in)

        Returns
        -------
        y : ndarray, shape (N, D_out)
        """
        return self.forward(x)

    def parameters(self) -> list[Parameter]:
        """The layer's trainable parameters.

        Returns
        -------
        list of Parameter
            In a fixed order (a stack: layer by layer); empty for a layer without weights.
        """
        return [v for v in vars(self).values() if isinstance(v, Parameter)]

    def buffers(self) -> dict[str, np.ndarray]:
        """Named non-trainable arrays that the layer's output depends on.

        Returns
        -------
        dict of str to ndarray
            The arrays themselves (not copies), updated in place by the
            layer; empty for most layers. `Sequential` prefixes each name
            with the layer's index (``"1.running_mean"``).
        """
        return {}

    def train(self, mode: bool = True) -> Layer:
        """Set training mode (``mode=True``) or evaluation mode.

        Parameters
        ----------
        mode : bool, default=True
            True: training (Dropout drops, BatchNorm uses batch statistics).

        Returns
        -------
        Layer
            self.
        """
        self.training = mode
        return self

    def eval(self) -> Layer:
        """Set evaluation mode: ``train(False)``.

        Returns
        -------
        Layer
            self.
        """
        return self.train(False)

    def output_dim(self, input_dim: int) -> int:
        """Number of output features for ``input_dim`` input features.

        Parameters
        ----------
        input_dim : int
            D_in.

        Returns
        -------
        int
            D_out (``input_dim`` for element-wise layers).
        """
        return input_dim

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able) that rebuild this layer.

        The default follows scikit-learn's ``get_params`` rule: each argument
        of ``__init__`` is read back from the attribute of the same name, so a
        layer whose constructor stores ``self.a = a`` needs nothing more.
        ``rng`` is left out (a rebuilt layer draws its own numbers); a
        ``**kwargs`` argument is read from a dict attribute of its name and
        merged in. A layer that stores an argument under another name, or
        changes it, defines ``get_config`` itself.

        Returns
        -------
        dict
            ``type(layer)(**layer.get_config())`` is an equal, freshly
            initialised layer (numpy scalars as Python numbers, dtypes by name).

        Raises
        ------
        ValueError
            Naming the class and the argument, when an argument cannot be
            read back: model files would otherwise rebuild the layer with its
            defaults and predict something else.
        """
        init = type(self).__init__
        if init is object.__init__:  # no constructor of its own: no arguments
            return {}
        config: dict[str, Any] = {}
        for name, p in inspect.signature(init).parameters.items():
            if name in ("self", "rng"):
                continue
            value = getattr(self, name, _MISSING)
            if p.kind is p.VAR_KEYWORD and isinstance(value, dict):
                config.update(value)
                continue
            if value is _MISSING or p.kind is p.VAR_POSITIONAL:
                cls = type(self).__name__
                raise ValueError(
                    f"{cls}: cannot read the constructor argument {name!r} back (no attribute "
                    f"self.{name}); store it as self.{name} or define {cls}.get_config() "
                    "returning the constructor's arguments"
                )
            config[name] = _plain(value)
        return config

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except ValueError:  # a user layer without a get_config it needs: still printable
            args = "..."
        return f"{type(self).__name__}({args})"

    def _cached(self, name: str) -> Any:
        """The value cached by forward, or a clear error if forward never ran."""
        return forward_cache(self, name, "forward(x) first, then backward(dy)")


_MISSING = object()


def _plain(value: Any) -> Any:
    """A numpy scalar as a Python number, a dtype (or scalar type) by its name: JSON-able."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    return value


def forward_cache(owner: Any, name: str, call: str) -> Any:
    """``owner.<name>``, cached by ``forward`` for ``backward``; an error if it is missing.

    Layers and losses both keep what backward needs as attributes set in
    forward; this is their one check that forward ran first.

    Parameters
    ----------
    owner : object
        A layer or a loss.
    name : str
        The attribute forward sets (``"_x"``, ``"_mask"``).
    call : str
        What to call first, for the message (``"forward(x) first, then backward(dy)"``).

    Returns
    -------
    object
        The cached value.

    Raises
    ------
    RuntimeError
        If ``owner.<name>`` is missing or None: backward() called before forward().
    """
    value = getattr(owner, name, None)
    if value is None:
        raise RuntimeError(
            f"{type(owner).__name__}.backward() called before forward(): call {call}"
        )
    return value


def as_float(x: Any, refusal: str) -> np.ndarray:
    """``x`` as a float array: float arrays as they are, integers and booleans as float64.

    The dtype check of layer inputs (`check_input`) and of loss predictions
    (`bprop.losses.base.check_pred`).

    Parameters
    ----------
    x : array-like, any shape
    refusal : str
        The start of the message for a non-numeric ``x`` (``"Linear.forward
        expects a numeric array"``); ``", got dtype ..."`` is added.

    Returns
    -------
    ndarray, shape of ``x``

    Raises
    ------
    ValueError
        If ``x`` is not numeric (strings, objects, complex numbers).
    """
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return x
    if x.dtype.kind not in "iub":
        raise ValueError(f"{refusal}, got dtype {x.dtype}")
    return x.astype(np.float64)


def check_input(x: Any, layer: Layer) -> np.ndarray:
    """Validate a layer input: a 2-D numeric array, cast to floats.

    NaN and inf are *not* checked here (a per-layer scan would cost every
    forward pass); finiteness is checked once at the boundary: the Trainer's
    ``check_data``, the estimators' input validation and the command line's
    csv readers.

    Parameters
    ----------
    x : array-like, shape (N, D)
    layer : Layer
        Named in the error messages.

    Returns
    -------
    ndarray, shape (N, D)
        ``x`` itself when it is a float array; integers and booleans as float64.

    Raises
    ------
    ValueError
        If ``x`` is not numeric or not 2-D.
    """
    if not isinstance(x, np.ndarray):
        if issparse(x):  # np.asarray would make a 0-d object array: say what to do instead
            raise ValueError(
                f"{type(layer).__name__}.forward got a sparse matrix; only Linear takes sparse "
                "input: put a Linear first, or densify x (x.toarray()) if it fits in memory"
            )
    x = as_float(x, f"{type(layer).__name__}.forward expects a numeric array")
    if x.ndim != 2:
        raise ValueError(
            f"{type(layer).__name__}.forward expects x of shape (batch, features), "
            f"got an array of shape {x.shape} (ndim={x.ndim})"
        )
    return x


def leaf_layers(model: Layer) -> list[Layer]:
    """Every layer of ``model`` that is not a container, in forward order.

    Parameters
    ----------
    model : Layer
        A layer, or a stack (anything with ``layers``), nested stacks opened.

    Returns
    -------
    list of Layer
        ``[model]`` for a plain layer.
    """
    inner = getattr(model, "layers", None)
    if inner is None:
        return [model]
    return [leaf for layer in inner for leaf in leaf_layers(layer)]


def layer_rngs(layer: Layer) -> list[np.random.Generator]:
    """Every random generator a layer (or a stack, recursively) draws from.

    Checkpoints save their states, and the gradient checker replays them so
    that Dropout draws the same mask on every forward.

    Parameters
    ----------
    layer : Layer

    Returns
    -------
    list of numpy Generator
        The generators themselves (not copies), sub-layers first.
    """
    found = []
    for sub in getattr(layer, "layers", []):
        found.extend(layer_rngs(sub))
    rng = getattr(layer, "rng", None)
    if isinstance(rng, np.random.Generator):
        found.append(rng)
    return found
