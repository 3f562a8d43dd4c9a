"""Gradient clipping: bound the step when a gradient explodes.

Two rules, as PyTorch's ``torch.nn.utils`` has them:

- by value (``clip_grad_value_``): every entry of every gradient into
  ``[-clip_value, clip_value]``; this changes the gradient's direction.
- by global norm (``clip_grad_norm_``): if the L2 norm of all gradients
  together, ``||g|| = sqrt(sum over parameters of sum(g**2))``, exceeds
  ``clip_norm``, scale every gradient by ``clip_norm / (||g|| + 1e-6)``; the
  direction is kept, only the step shrinks.

Optimizers apply them at the start of ``step()``, to the raw gradients of the
loss: before weight decay is added and before momentum or moment estimates
see them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..parameter import Parameter


def global_norm(params: Sequence[Parameter]) -> float:
    """The L2 norm of all gradients together, as one long vector.

    Parameters
    ----------
    params : sequence of Parameter

    Returns
    -------
    float
        ``sqrt(sum_p sum(p.grad**2))``, accumulated in float64.
    """
    return float(np.sqrt(sum(np.sum(np.square(p.grad, dtype=np.float64)) for p in params)))


def clip_gradients(
    params: Sequence[Parameter], clip_norm: float | None = None, clip_value: float | None = None
) -> float:
    """Clip ``p.grad`` of every parameter in place: by value first, then by global norm.

    Parameters
    ----------
    params : sequence of Parameter
        Each ``p.grad`` is modified in place.
    clip_norm : float or None
        The largest global L2 norm allowed; None: no norm clipping.
    clip_value : float or None
        The largest absolute entry allowed; None: no value clipping.

    Returns
    -------
    float
        The global norm before norm clipping (after value clipping), NaN when
        ``clip_norm`` is None (it is then not computed).

    Examples
    --------
    >>> p = Parameter(np.zeros(2)); p.grad[:] = [3.0, 4.0]    # norm 5
    >>> round(clip_gradients([p], clip_norm=1.0), 6)
    5.0
    >>> p.grad.round(6)
    array([0.6, 0.8])
    """
    if clip_value is not None:
        for p in params:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)
    if clip_norm is None:
        return float("nan")
    norm = global_norm(params)
    scale = clip_norm / (norm + 1e-6)  # PyTorch's 1e-6 keeps a zero gradient at zero
    if scale < 1.0:
        for p in params:
            p.grad *= scale
    return norm
