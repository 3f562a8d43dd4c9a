"""Callbacks: hooks the training loop calls, for early stopping, progress and more.

A callback overrides any of the hooks below; each receives the `Trainer`
(``trainer.model``, ``trainer.optimizer``, ``trainer.history``, and
``trainer.stop_training``, which ends training after the current epoch).
Learning-rate schedules (`bprop.optim.schedules`) are callbacks too.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from .validation import check_int, check_nonnegative

if TYPE_CHECKING:
    from .train import Trainer


class Callback:
    """Base class: every hook does nothing.

    ``state_dict()`` / ``load_state_dict()`` make a callback resumable: the
    default takes the plain attributes (numbers, strings, arrays, lists of
    arrays: counters, best values, a schedule's base_lr, best weights; and the best
    value of a `Monitor`), and
    `Trainer.state_dict` includes them, so a checkpointed run resumes with its
    schedules and early-stopping counters intact. Override both for state
    held in other objects.
    """

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        for key, value in vars(self).items():
            if isinstance(value, (int, float, str, bool, type(None))):
                state[key] = value
            elif isinstance(value, np.ndarray):
                state[key] = value.copy()
            elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
                state[key] = [v.copy() for v in value]
            elif isinstance(value, Monitor):
                state[f"{key}.best"] = value.best
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            owner, _, attr = key.rpartition(".")
            if owner and isinstance(getattr(self, owner, None), Monitor):
                setattr(getattr(self, owner), attr, value)
            else:
                setattr(self, key, value)

    def on_train_begin(self, trainer: Trainer) -> None: ...

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None: ...

    def on_batch_begin(self, trainer: Trainer, batch: int, n: int) -> None: ...

    def on_batch_end(self, trainer: Trainer, batch: int, loss: float) -> None: ...

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None: ...

    def on_train_end(self, trainer: Trainer) -> None: ...


class Monitor:
    """Tracks the best value of one logged metric ("loss", "val_loss", "val_accuracy", ...).

    ``mode="auto"`` minimises losses and maximises accuracies and scores.
    """

    def __init__(self, monitor: str, mode: str = "auto", min_delta: float = 0.0) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if ("acc" in monitor or "score" in monitor) else "min"
        self.monitor, self.mode = monitor, mode
        self.min_delta = check_nonnegative("min_delta", min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def value(self, logs: dict[str, float]) -> float:
        if self.monitor not in logs:
            raise ValueError(
                f"cannot monitor {self.monitor!r}: the epoch logs hold {sorted(logs)} "
                "(val_* metrics need validation data)"
            )
        return float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        """Whether ``value`` beats the best by more than min_delta (and record it)."""
        if math.isnan(value):
            return False
        better = (
            value < self.best - self.min_delta
            if self.mode == "min"
            else value > self.best + self.min_delta
        )
        if better:
            self.best = value
        return better


class EarlyStopping(Callback):
    """Stop when a monitored metric has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str, default="val_loss"
        A key of the epoch logs: "loss", "val_loss", "val_accuracy".
    patience : int, default=10
        Epochs without improvement before stopping.
    min_delta : float, default=0.0
        The smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}, default="auto"
    restore_best_weights : bool, default=False
        Copy back the parameters of the best epoch when training ends.

    Attributes
    ----------
    best_epoch : int or None
        The (1-based) epoch with the best monitored value.
    stopped_epoch : int or None
        The epoch after which training stopped early, if it did.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        check_int("patience", patience)
        self._tracker = Monitor(monitor, mode, min_delta)
        self.monitor, self.patience = monitor, patience
        self.restore_best_weights = bool(restore_best_weights)
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self._wait = 0
        self._best_weights: list[np.ndarray] | None = None

    @property
    def best(self) -> float:
        return self._tracker.best

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self._tracker.improved(self._tracker.value(logs)):
            self._wait, self.best_epoch = 0, epoch + 1
            if self.restore_best_weights:
                self._best_weights = [p.value.copy() for p in trainer.model.parameters()]
            return
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch = epoch + 1
            trainer.stop_training = True

    def on_train_end(self, trainer: Trainer) -> None:
        if self.restore_best_weights and self._best_weights is not None:
            for p, best in zip(trainer.model.parameters(), self._best_weights, strict=True):
                p.value[...] = best


class ProgressBar(Callback):
    """A tqdm bar over epochs showing the loss, the validation metric and the ETA.

    Quiet (draws nothing) when stdout is not a terminal, unless ``force=True``.
    """

    def __init__(self, force: bool = False) -> None:
        self.force = force
        self._bar: Any = None

    def state_dict(self) -> dict[str, Any]:
        return {}

    def on_train_begin(self, trainer: Trainer) -> None:
        if not (self.force or sys.stdout.isatty()):
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=trainer.target_epochs, initial=trainer.epoch, unit="epoch", file=sys.stdout
        )

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self._bar is None:
            return
        shown = {k: f"{v:.4g}" for k, v in logs.items() if k in _SHOWN and not math.isnan(v)}
        self._bar.set_postfix(shown, refresh=False)
        self._bar.update(1)

    def on_train_end(self, trainer: Trainer) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


_SHOWN = ("loss", "val_loss", "val_accuracy")
