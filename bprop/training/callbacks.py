"""Callbacks: hooks the training loop calls, for early stopping, progress and more.

A callback overrides any of the hooks below; each receives the `Trainer`
(``trainer.model``, ``trainer.optimizer``, ``trainer.history``, and
``trainer.stop_training``, which ends training after the current epoch).
Learning-rate schedules (`bprop.optim.schedules`) may be passed among the
callbacks: the Trainer drives each through a `ScheduleCallback`.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from ..metrics import Monitor
from ..optim.schedules import Schedule
from ..registry import register
from ..state import load_plain_state, plain_state
from ..validation import check_int

if TYPE_CHECKING:
    from .trainer import Trainer


class Callback:
    """Base class: every hook does nothing.

    ``state_dict()`` / ``load_state_dict()`` make a callback resumable: the
    default takes the plain attributes (numbers, strings, arrays, lists of
    arrays: counters, best values, a schedule's base_lr, best weights; and the best
    value of a `Monitor`), and
    `Trainer.state_dict` includes them, so a checkpointed run resumes with its
    schedules and early-stopping counters intact. Override both for state
    held in other objects.

    A callback that reads ``p.grad`` in its hooks sets ``reads_gradients =
    True``: the fused engine never fills ``.grad``, so ``engine="auto"`` then
    trains on the reference path (and ``engine="fused"`` refuses).
    """

    #: True when a hook reads Parameter.grad (the fused engine does not fill it)
    reads_gradients: bool = False

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps of this callback.

        Returns
        -------
        dict
            Plain values and numpy arrays (`bprop.state.plain_state`).
        """
        return plain_state(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put back what `state_dict` returned.

        Parameters
        ----------
        state : dict
        """
        load_plain_state(self, state)

    def on_train_begin(self, trainer: Trainer) -> None:
        """``Trainer.fit`` starts (also when it continues a run).

        Parameters
        ----------
        trainer : Trainer
            ``trainer.epoch`` epochs are done; ``trainer.target_epochs`` is the goal.
        """

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """An epoch starts.

        Parameters
        ----------
        trainer : Trainer
        epoch : int
            Its index, counting from 0.
        """

    def on_batch_begin(self, trainer: Trainer, batch: int, n: int) -> None:
        """A minibatch step starts (``trainer.batch_indices`` holds its rows).

        Parameters
        ----------
        trainer : Trainer
        batch : int
            Its index in the epoch, counting from 0.
        n : int
            Its number of samples.
        """

    def on_batch_end(self, trainer: Trainer, batch: int, loss: float) -> None:
        """A minibatch step is done (parameters updated).

        Parameters
        ----------
        trainer : Trainer
        batch : int
        loss : float
            The minibatch's mean loss, before the step.
        """

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """An epoch is done and recorded in ``trainer.history``.

        Parameters
        ----------
        trainer : Trainer
            Set ``trainer.stop_training = True`` to stop after this epoch.
        epoch : int
            Its index, counting from 0 (``trainer.epoch == epoch + 1``).
        logs : dict of str to float
            ``epoch``, ``loss`` (mean over the epoch), ``lr``, ``seconds``
            (wall time), and ``val_loss``/``val_accuracy`` with validation data.
        """

    def on_train_end(self, trainer: Trainer) -> None:
        """``Trainer.fit`` ends, normally, stopped, or by an exception.

        Parameters
        ----------
        trainer : Trainer
        """


@register("callback")
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

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"patience": ">= 1", "min_delta": ">= 0", "mode": ("auto", "min", "max")}

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
        """The best monitored value so far (inf or -inf before the first epoch)."""
        return self._tracker.best

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Count an epoch without improvement, or keep the new best (and its weights)."""
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
        """Copy the best epoch's weights back, if asked to."""
        if self.restore_best_weights and self._best_weights is not None:
            for p, best in zip(trainer.model.parameters(), self._best_weights, strict=True):
                p.value[...] = best


@register("callback")
class ProgressBar(Callback):
    """A tqdm bar over epochs showing the loss, the validation metric and the ETA.

    Quiet (draws nothing) when stdout is not a terminal, unless ``force=True``.
    """

    def __init__(self, force: bool = False) -> None:
        self.force = force
        self._bar: Any = None

    def state_dict(self) -> dict[str, Any]:
        """Nothing to resume: a bar is drawn anew."""
        return {}

    def on_train_begin(self, trainer: Trainer) -> None:
        """Open the bar at ``trainer.epoch`` of ``trainer.target_epochs``."""
        if not (self.force or sys.stdout.isatty()):
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=trainer.target_epochs, initial=trainer.epoch, unit="epoch", file=sys.stdout
        )

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Advance the bar and show the epoch's losses and accuracy."""
        if self._bar is None:
            return
        self._bar.set_postfix(shown_logs(logs, ("loss", "val_loss", "val_accuracy")),
                              refresh=False)
        self._bar.update(1)

    def on_train_end(self, trainer: Trainer) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@register("callback")
class EpochLines(Callback):
    """Progress as text: one line per ``every``-th epoch, about ten lines a run.

    What ``bprop train`` prints where a progress bar cannot be drawn (output
    to a file or a pipe)::

        epoch 3/30  loss 0.412  val_loss 0.398  val_accuracy 0.91  lr 0.1
    """

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Print the epoch's line if it is one of the shown ones (and always the last)."""
        step = max(1, trainer.target_epochs // 10)
        if trainer.epoch % step and trainer.epoch != trainer.target_epochs:
            return
        shown = shown_logs(logs, ("loss", "val_loss", "val_accuracy", "lr"))
        text = "  ".join(f"{k} {v}" for k, v in shown.items())
        print(f"epoch {trainer.epoch}/{trainer.target_epochs}  {text}", flush=True)


def shown_logs(logs: dict[str, float], keys: tuple[str, ...]) -> dict[str, str]:
    """The epoch logs worth showing, formatted to 4 significant digits.

    Parameters
    ----------
    logs : dict of str to float
        One epoch's logs.
    keys : tuple of str
        Which to show, in this order.

    Returns
    -------
    dict of str to str
        The keys present and not NaN (no validation data), in the order of ``keys``.
    """
    return {k: f"{logs[k]:.4g}" for k in keys if k in logs and not math.isnan(logs[k])}


class ScheduleCallback(Callback):
    """Drives a learning-rate `Schedule` from the training loop's hooks.

    The Trainer wraps every schedule found among its callbacks in one of
    these; its checkpoint state is the schedule's own.
    """

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule

    @property
    def key(self) -> str:
        """The schedule's class name: its key in a checkpoint."""
        return type(self.schedule).__name__

    def state_dict(self) -> dict[str, Any]:
        """The schedule's own state."""
        return self.schedule.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put the schedule's state back."""
        self.schedule.load_state_dict(state)

    def on_train_begin(self, trainer: Trainer) -> None:
        """`Schedule.begin`: take the base learning rate."""
        self.schedule.begin(trainer.optimizer)

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """`Schedule.epoch_begin`: set this epoch's learning rate."""
        self.schedule.epoch_begin(trainer.optimizer, epoch)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """`Schedule.epoch_end`: what ReduceOnPlateau watches."""
        self.schedule.epoch_end(trainer.optimizer, epoch, logs)
