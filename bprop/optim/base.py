"""The `Optimizer` contract: ``step()`` updates parameters from their ``.grad``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..parameter import Parameter
from ..validation import check_nonnegative, check_positive
from .clipping import clip_gradients
from .packing import PackedGroup, pack


class Optimizer:
    """Base class: holds the parameter list, the learning rate and per-parameter state.

    Subclasses implement ``step()``, starting it with ``self.clip_gradients()``.
    ``lr`` and ``weight_decay`` are plain attributes: schedules change ``lr``
    between steps. ``clip_norm`` and ``clip_value`` (None: off) clip the raw
    gradients first (`bprop.optim.clipping`).

    The parameters are packed (`bprop.optim.packing`): from here on each
    ``p.value`` and ``p.grad`` is a view of one contiguous buffer per dtype,
    so that a step can update the whole model in a few calls
    (``self.groups``). Layers and users keep working on ``p.value`` as before;
    an array taken from ``p.value`` *before* the optimizer was built is the
    old one, no longer the model's.
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
        self.groups: list[PackedGroup] = pack(self.params)

    def step(self) -> None:
        raise NotImplementedError

    def clip_gradients(self) -> None:
        """Clip every ``p.grad`` in place as ``clip_value`` and ``clip_norm`` say
        (nothing when both are None); the first line of every ``step()``."""
        if self.clip_norm is not None or self.clip_value is not None:
            clip_gradients(self.params, self.clip_norm, self.clip_value)

    def _link(self) -> None:
        """Build the views a subclass keeps of its packed state (after __init__,
        and again after unpickling or deepcopy, which turn views into copies)."""

    def __getstate__(self) -> dict:
        return {k: v for k, v in vars(self).items() if k not in self._views}

    def __setstate__(self, state: dict) -> None:
        vars(self).update({k: _writable(v) for k, v in state.items()})
        self._link()

    #: attributes holding views of packed state: rebuilt by `_link`, never pickled
    _views: tuple[str, ...] = ()

    def regularized_grad(self, p: Parameter) -> np.ndarray:
        """``g + weight_decay * W`` for decayed parameters: the gradient of
        ``L + 0.5 * weight_decay * ||W||^2``. Biases (``decay=False``) are not decayed."""
        if self.weight_decay and p.decay:
            return p.grad + p.value.dtype.type(self.weight_decay) * p.value
        return p.grad

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, the step count and per-parameter buffers (for checkpoints)."""
        state: dict[str, Any] = {"lr": self.lr, "weight_decay": self.weight_decay, "t": self.t}
        for name, buffers in self._buffers().items():
            for i, b in enumerate(buffers):
                state[f"{name}.{i}"] = b.copy()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
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
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, weight_decay={self.weight_decay})"


def _writable(obj: Any) -> Any:
    """``obj`` with every read-only array in it (unpickled from a read-only memory
    map, as joblib does) replaced by a writable copy; lists and tuples are searched."""
    if isinstance(obj, np.ndarray):
        return obj if obj.flags.writeable else np.array(obj)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_writable(item) for item in obj)
    return obj
