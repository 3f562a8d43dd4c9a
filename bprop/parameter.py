"""`Parameter`: a trainable array paired with its gradient."""

from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array and the gradient of the loss with respect to it.

    Mirrors Caffe's ``data``/``diff`` pair: a layer's ``backward`` *sets*
    ``grad`` (it never accumulates), and an optimizer reads ``grad`` and updates
    ``value`` in place.

    Parameters
    ----------
    value : ndarray
        The initial value; kept as given (no copy), so a layer and its
        Parameter share memory. Nothing replaces this array later: an
        optimizer updates it in place, so an array taken from ``.value``
        before training is the one trained (the fused engine, `bprop.fused`,
        works on copies inside a step and writes the results back here).
    name : str
        A readable name such as ``"weight"``; used in reports and model files.
    decay : bool, default=True
        Whether weight decay (an L2 penalty) applies. True for weight
        matrices, False for biases, as in scikit-learn.

    Attributes
    ----------
    value : ndarray
        The parameter itself; may be modified in place.
    grad : ndarray
        dL/dvalue from the most recent ``backward``; same shape and dtype.

    Examples
    --------
    >>> p = Parameter(np.zeros((2, 3)), "weight")
    >>> p.grad.shape, p.decay
    ((2, 3), True)
    """

    def __init__(self, value: np.ndarray, name: str = "param", *, decay: bool = True) -> None:
        self.value = value
        # np.zeros takes zeroed pages from the OS: memory is used only once a gradient is
        # written (the fused step on sparse input never writes the first layer's dW)
        self.grad = np.zeros(value.shape, dtype=value.dtype)
        self.name = name
        self.decay = decay

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={self.value.shape}, dtype={self.value.dtype})"
