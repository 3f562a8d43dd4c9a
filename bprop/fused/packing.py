"""Parameters copied into one flat buffer, for whole-model updates.

Reproduces no reference function: it is the fused engine's bookkeeping. The
reference optimizers (`bprop.optim`) loop over parameters; the engine instead
updates one flat vector per step in a few BLAS calls, so it works on a
*copy* of every parameter (and of the optimizer's per-parameter state) laid
out end to end. `Layout.load` copies the model's arrays in, `Layout.store`
copies the results back into the very same arrays (never replacing them).
``tests/test_fused_packing.py`` checks the round trip and that the arrays'
identities survive.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..parameter import Parameter


class Layout:
    """Where each parameter lives in a flat buffer: in the order given, end to end.

    Parameters
    ----------
    params : sequence of Parameter
        One dtype, each parameter once.

    Attributes
    ----------
    offsets : list of int
        ``flat[offsets[i]:offsets[i+1]]`` holds ``params[i]``.
    size : int
        Total number of values.
    """

    def __init__(self, params: Sequence[Parameter]) -> None:
        self.params = list(params)
        self.dtype = self.params[0].value.dtype
        self.offsets = np.cumsum([0] + [p.value.size for p in self.params]).tolist()
        self.size = self.offsets[-1]
        self.index = {id(p): i for i, p in enumerate(self.params)}

    def empty(self) -> np.ndarray:
        """A new flat buffer, zero-filled."""
        return np.zeros(self.size, dtype=self.dtype)

    def view(self, flat: np.ndarray, p: Parameter) -> np.ndarray:
        """The part of ``flat`` that holds ``p``, shaped like ``p.value`` (a view)."""
        i = self.index[id(p)]
        return flat[self.offsets[i] : self.offsets[i + 1]].reshape(p.value.shape)

    def load(self, flat: np.ndarray, arrays: Sequence[np.ndarray]) -> None:
        """Copy ``arrays`` (one per parameter, in ``params`` order) into ``flat``."""
        for p, a in zip(self.params, arrays, strict=True):
            self.view(flat, p)[...] = a

    def store(self, flat: np.ndarray, arrays: Sequence[np.ndarray]) -> None:
        """Copy ``flat`` back into ``arrays`` in place (the arrays keep their identity)."""
        for p, a in zip(self.params, arrays, strict=True):
            a[...] = self.view(flat, p)
