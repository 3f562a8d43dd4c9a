"""`Dropout`: inverted dropout, active only in training mode."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..init import as_rng
from ..registry import register
from ..validation import check_unit_interval
from .base import Layer, check_input


@register("layer")
class Dropout(Layer):
    """Inverted dropout: zero each unit with probability ``p`` while training.

    Forward (training): ``y = x * m / (1 - p)`` with ``m ~ Bernoulli(1 - p)``
    drawn per entry; scaling by ``1/(1-p)`` keeps the expected activation
    unchanged, so evaluation mode is simply the identity.
    Backward: ``dx = dy * m / (1 - p)`` (the same mask).

    Parameters
    ----------
    p : float, default=0.5
        Drop probability, in [0, 1).
    rng : int, numpy Generator or None
        Seed or generator for the masks.
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"p": "[0, 1)"}

    def __init__(self, p: float = 0.5, *, rng: int | np.random.Generator | None = None) -> None:
        self.p = check_unit_interval("Dropout: p", p)
        self.rng = as_rng(rng)
        self._scale: np.ndarray | float | None = None  # mask / (1 - p), set by forward

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_input(x, self)
        if not self.training or self.p == 0:
            self._scale = 1.0  # the identity: every unit kept, nothing rescaled
            return x.copy()  # a fresh array, as every layer's output
        keep = self.rng.random(x.shape) >= self.p
        self._scale = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self._scale

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * self._cached("_scale")

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p}
