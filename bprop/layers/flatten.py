"""`Flatten`: images and other N-D samples to rows of features."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register
from .base import Layer, check_input


@register("layer")
class Flatten(Layer):
    """Flatten each sample: ``(N, d1, d2, ...) -> (N, d1 * d2 * ...)``.

    Forward: ``y = x.reshape(N, -1)`` (row-major, as PyTorch's ``Flatten()``,
    so an (N, C, H, W) image batch becomes channel by channel, row by row).
    Backward: ``dx = dy.reshape(x.shape)``. No arithmetic, so no gradient
    can be wrong: the layer only lets N-D data into a stack of 2-D layers.
    The only layer that accepts input of more than two dimensions.

    Examples
    --------
    >>> Flatten().forward(np.zeros((5, 3, 8, 8))).shape
    (5, 192)
    """

    def __init__(self) -> None:
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim < 2:
            raise ValueError(
                f"Flatten.forward expects x of shape (batch, ...) with at least 2 dimensions, "
                f"got an array of shape {x.shape}"
            )
        self._shape = x.shape
        # the usual 2-D checks (numeric, ints to float) on the flattened view
        # a copy: the output is the caller's to change, never a view of x
        return check_input(x.reshape(x.shape[0], -1), self).copy()

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy.reshape(self._cached("_shape"))
