"""The `Optimizer` contract: ``step()`` updates parameters from their ``.grad``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..parameter import Parameter
from ..validation import check_nonnegative, check_positive
from .clipping import clip_gradients


class Optimizer:
    """Base class: the parameter list, the learning rate and per-parameter state.

    ``step()`` takes every parameter's gradient, adds the weight decay
    (`regularized_grad`) and hands it to ``update``, which a subclass
    implements for one parameter::

        for i, p in enumerate(params):
            update(i, p, p.grad + weight_decay * p.value)   # decay only where p.decay

    ``update`` changes ``p.value`` in place: the arrays a layer (or a user)
    holds are the ones trained. ``lr`` and ``weight_decay`` are plain
    attributes; schedules change ``lr`` between steps. ``clip_norm`` and
    ``clip_value`` (None: off) clip the raw gradients first
    (`bprop.optim.clipping`); a subclass that overrides ``step()`` starts it
    with ``self.clip_gradients()``.

    Parameters
    ----------
    params : iterable of Parameter
        Usually ``model.parameters()``; a parameter listed twice (tied
        weights) is updated once.
    lr : float
        Learning rate, > 0.
    weight_decay : float
        L2 coefficient, >= 0.
    clip_norm : float or None, default=None
        Scale all gradients together so that their global L2 norm is at most
        this (PyTorch's ``clip_grad_norm_``), > 0.
    clip_value : float or None, default=None
        Clip every gradient entry to ``[-clip_value, clip_value]``, > 0.

    Raises
    ------
    ValueError
        For an empty list, an item that is not a Parameter, or a bad ``lr`` /
        ``weight_decay``.
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"lr": "> 0", "weight_decay": ">= 0", "clip_norm": "> 0", "clip_value": "> 0"}

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        weight_decay: float,
        *,
        clip_norm: float | None = None,
        clip_value: float | None = None,
    ) -> None:
        # a parameter listed twice (tied weights) is one parameter: step it once
        self.params = list({id(p): p for p in params}.values())
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        for p in self.params:
            if not isinstance(p, Parameter):
                raise ValueError(
                    f"{type(self).__name__} expects bprop Parameters (model.parameters()), "
                    f"got {type(p).__name__}"
                )
        self.lr = check_positive("lr", lr)
        self.weight_decay = check_nonnegative("weight_decay", weight_decay)
        self.clip_norm = None if clip_norm is None else check_positive("clip_norm", clip_norm)
        self.clip_value = None if clip_value is None else check_positive("clip_value", clip_value)
        self.t = 0  # number of steps taken

    def step(self) -> None:
        """One update of every parameter from its current ``.grad``."""
        self.clip_gradients()
        self.t += 1
        for i, p in enumerate(self.params):
            self.update(i, p, self.regularized_grad(p))

    def update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        """Update ``p.value`` in place, given its regularized gradient ``g``.

        Parameters
        ----------
        i : int
            The parameter's index in ``self.params`` (and in the state lists).
        p : Parameter
        g : ndarray, shape of ``p.value``
            ``dL/dp + weight_decay * p.value`` (decayed parameters), else ``dL/dp``.
        """
        raise NotImplementedError

    def clip_gradients(self) -> None:
        """Clip every ``p.grad`` in place as ``clip_value`` and ``clip_norm`` say
        (nothing when both are None)."""
        if self.clip_norm is not None or self.clip_value is not None:
            clip_gradients(self.params, self.clip_norm, self.clip_value)

    def regularized_grad(self, p: Parameter) -> np.ndarray:
        """``g + weight_decay * W`` for decayed parameters: the gradient of
        ``L + 0.5 * weight_decay * ||W||^2``. Biases (``decay=False``) are not decayed.

        Parameters
        ----------
        p : Parameter
            Its ``.grad`` holds dL/dp.

        Returns
        -------
        ndarray, shape of ``p.value``
            A new array for a decayed parameter; ``p.grad`` itself otherwise.
        """
        if self.weight_decay and p.decay:
            return p.grad + self.weight_decay * p.value
        return p.grad

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, the step count and per-parameter buffers (for checkpoints).

        Returns
        -------
        dict
            ``lr``, ``weight_decay``, ``t`` and one array ``NAME.i`` per state
            buffer and parameter (``velocity.0``, ``m.1``, ...).
        """
        state: dict[str, Any] = {"lr": self.lr, "weight_decay": self.weight_decay, "t": self.t}
        for name, buffers in self._buffers().items():
            for i, b in enumerate(buffers):
                state[f"{name}.{i}"] = b.copy()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned, writing into the existing buffers.

        Parameters
        ----------
        state : dict
            As `state_dict` returned it (for an optimizer of the same kind
            on parameters of the same shapes).

        Raises
        ------
        ValueError
            When a saved buffer's shape does not fit its parameter.
        """
        self.lr = float(state["lr"])
        self.weight_decay = float(state["weight_decay"])
        self.t = int(state["t"])
        for name, buffers in self._buffers().items():
            for i, b in enumerate(buffers):
                saved = np.asarray(state[f"{name}.{i}"])
                if saved.shape != b.shape:
                    raise ValueError(
                        f"optimizer state {name}.{i} has shape {saved.shape}, "
                        f"the parameter needs {b.shape}"
                    )
                b[...] = saved

    def _buffers(self) -> dict[str, list[np.ndarray]]:
        """The per-parameter state lists by name (``{"velocity": self.velocity}``)."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, weight_decay={self.weight_decay})"
