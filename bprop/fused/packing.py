"""Parameters packed into one contiguous array per dtype, for whole-model updates.

An optimizer step applies the same few element-wise formulas to every
parameter. Done parameter by parameter, a 3-layer MLP costs 6 x (3-5) numpy
or BLAS calls per step, and at small batches that fixed Python cost is a
large share of training time. Packed, every formula is one call over all
parameters of a dtype: each ``Parameter.value`` (and ``.grad``) becomes a view
of one flat buffer, so layers and users still see their own arrays, updated
in place.

Weight-decayed parameters are laid out first, so "every parameter with
``decay=True``" is the prefix ``flat[:n_decay]``: one call too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..parameter import Parameter


class PackedGroup:
    """The parameters of one dtype, packed into flat ``value`` and ``grad`` arrays.

    Attributes
    ----------
    params : list of Parameter
        In packing order: decayed ones first, then the others.
    value, grad : ndarray, shape (n,)
        The flat buffers; ``params[i].value`` and ``.grad`` are views of them.
    n_decay : int
        ``value[:n_decay]`` holds exactly the parameters with ``decay=True``.
    """

    def __init__(self, params: Sequence[Parameter]) -> None:
        self.params = [p for p in params if p.decay] + [p for p in params if not p.decay]
        dtype = self.params[0].value.dtype
        self.offsets = np.cumsum([0] + [p.value.size for p in self.params]).tolist()
        self.decays = [bool(p.decay) for p in self.params]
        self.n_decay = self.offsets[sum(self.decays)]
        self.value = np.empty(self.offsets[-1], dtype=dtype)
        self.grad = np.empty(self.offsets[-1], dtype=dtype)
        self._link()

    def _link(self) -> None:
        """Copy each parameter into its place in the flat buffers and make its
        ``.value`` and ``.grad`` views of them."""
        self.values = self.views(self.value)
        self.grads = self.views(self.grad)
        for p, value, grad in zip(self.params, self.values, self.grads, strict=True):
            value[...] = p.value
            grad[...] = p.grad
            p.value, p.grad = value, grad

    # pickle and copy.deepcopy turn views into separate arrays; link them again
    def __getstate__(self) -> dict:
        return {k: v for k, v in vars(self).items() if k not in ("values", "grads")}

    def __setstate__(self, state: dict) -> None:
        vars(self).update(state)
        # own, writable buffers: unpickled arrays may be read-only memory maps (joblib)
        self.value, self.grad = np.array(self.value), np.array(self.grad)
        self._link()

    def regularized_grad(self, weight_decay: float, out: np.ndarray) -> np.ndarray:
        """``grad + weight_decay * value`` on the decayed prefix and ``grad`` elsewhere:
        the gradient of ``L + 0.5 * weight_decay * ||W||^2``, written into ``out``
        (the packed form of `Optimizer.regularized_grad`). Without decay it is
        ``grad`` itself, not a copy."""
        nd = self.n_decay
        if not (weight_decay and nd):
            return self.grad
        np.multiply(self.value[:nd], self.value.dtype.type(weight_decay), out=out[:nd])
        out[:nd] += self.grad[:nd]
        out[nd:] = self.grad[nd:]
        return out

    def views(self, flat: np.ndarray) -> list[np.ndarray]:
        """``flat`` cut into one array per parameter, shaped like it (views, no copies)."""
        return [
            flat[start:stop].reshape(p.value.shape)
            for p, start, stop in zip(self.params, self.offsets, self.offsets[1:], strict=False)
        ]

    def sync(self) -> None:
        """Make the flat buffers current before an update.

        A layer may *assign* a new gradient array (``p.grad = x.T @ dy``, as
        the exercises do) instead of writing into the old one, and a user may
        assign a new ``p.value``: both are copied in, and a new value array is
        replaced by its view again so that the update reaches the model.
        Identity checks only, unless something was reassigned. The layout
        (shapes, dtype, which parameters are decayed) is fixed: a change to it
        is an error, not something to follow silently.
        """
        for p, value, grad, decay in zip(
            self.params, self.values, self.grads, self.decays, strict=True
        ):
            if p.value is not value:
                value[...] = _same_layout(p, p.value, value, "value")
                p.value = value
            if p.grad is not grad:
                grad[...] = _same_layout(p, p.grad, grad, "grad")
            if p.decay != decay:
                raise ValueError(
                    f"parameter {p.name!r}: its .decay changed to {p.decay} after the optimizer "
                    "was built; build a new optimizer after changing which parameters decay"
                )


def _same_layout(p: Parameter, new: np.ndarray, packed: np.ndarray, what: str) -> np.ndarray:
    new = np.asarray(new)
    # a gradient may come in another float dtype (it is cast); a value may not
    dtype_ok = new.dtype == packed.dtype or (what == "grad" and new.dtype.kind == "f")
    if new.shape != packed.shape or not dtype_ok:
        raise ValueError(
            f"parameter {p.name!r}: its .{what} became an array of shape {new.shape} and dtype "
            f"{new.dtype}, but the optimizer was built for shape {packed.shape}, "
            f"dtype {packed.dtype}; build a new optimizer after changing a model's parameters"
        )
    return new


def pack(params: Sequence[Parameter]) -> list[PackedGroup]:
    """One `PackedGroup` per dtype among ``params`` (usually exactly one)."""
    by_dtype: dict[np.dtype, list[Parameter]] = {}
    for p in params:
        by_dtype.setdefault(p.value.dtype, []).append(p)
    return [PackedGroup(group) for group in by_dtype.values()]


def unpacked_views(
    groups: Sequence[PackedGroup], flats: Sequence[np.ndarray], params: Sequence[Parameter]
) -> list[np.ndarray]:
    """Per-parameter views of per-group flat state (``flats[i]`` for ``groups[i]``),
    listed in the order of ``params``: what ``state_dict`` and users index."""
    view_of: dict[int, np.ndarray] = {}
    for group, flat in zip(groups, flats, strict=True):
        for p, view in zip(group.params, group.views(flat), strict=True):
            view_of[id(p)] = view
    return [view_of[id(p)] for p in params]
