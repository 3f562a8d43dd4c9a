"""Callbacks: hooks the training loop calls, for early stopping, progress and more.

A callback overrides any of the hooks below; each receives the `Trainer`
(``trainer.model``, ``trainer.optimizer``, ``trainer.history``, and
``trainer.stop_training``, which ends training after the current epoch).
Learning-rate schedules (`bprop.optim.schedules`) may be passed among the
callbacks: the Trainer drives each through a `ScheduleCallback`.

State across trainings: a callback (or schedule) object may serve several
trainings. Each new training starts it afresh (`Callback.reset`, called from
``on_train_begin`` when `starts_fresh` says so: a new Trainer, or a new
estimator ``fit`` without ``warm_start``); its state carries over only when
training continues (a second ``fit`` of the same Trainer, ``partial_fit``,
``warm_start``) or is resumed from a checkpoint.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..metrics import Monitor
from ..optim.schedules import Schedule
from ..registry import register
from ..validation import check_int
from .checkpoints import load_plain_state, plain_state

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
            Plain values and numpy arrays (`bprop.training.checkpoints.plain_state`).
        """
        return plain_state(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put back what `state_dict` returned.

        Parameters
        ----------
        state : dict
        """
        load_plain_state(self, state)

    def reset(self) -> None:
        """Forget what an earlier training taught this callback (nothing by default).

        The library's callbacks call it from ``on_train_begin`` when
        `starts_fresh`; a callback of yours with state should do the same.
        """

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


def starts_fresh(trainer: Trainer) -> bool:
    """Whether this ``fit`` begins a new training rather than continuing one.

    Parameters
    ----------
    trainer : Trainer

    Returns
    -------
    bool
        True when no epoch is done yet (a new Trainer, not one loaded from a
        checkpoint) and the caller did not mark the trainer with
        ``continues_training = True`` (the estimators do, for ``warm_start``
        and ``partial_fit``).
    """
    return trainer.epoch == 0 and not getattr(trainer, "continues_training", False)


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
        Copy back the parameters of the best epoch when training ends, and
        its buffers (BatchNorm's running statistics, `Layer.buffers`), so
        that the restored model predicts as it did at that epoch.

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
        self._best_buffers: list[np.ndarray] | None = None  # in model.buffers() order

    @property
    def best(self) -> float:
        """The best monitored value so far (inf or -inf before the first epoch)."""
        return self._tracker.best

    def reset(self) -> None:
        """No best value, no waiting, no stored weights: a new training begins."""
        self._tracker = Monitor(self.monitor, self._tracker.mode, self._tracker.min_delta)
        self.best_epoch = self.stopped_epoch = None
        self._wait = 0
        self._best_weights = self._best_buffers = None

    def on_train_begin(self, trainer: Trainer) -> None:
        """Start afresh in a new training (`starts_fresh`)."""
        if starts_fresh(trainer):
            self.reset()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Count an epoch without improvement, or keep the new best (and its weights)."""
        if self._tracker.improved(self._tracker.value(logs)):
            self._wait, self.best_epoch = 0, epoch + 1
            if self.restore_best_weights:
                self._best_weights = [p.value.copy() for p in trainer.model.parameters()]
                self._best_buffers = [b.copy() for b in trainer.model.buffers().values()]
            return
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch = epoch + 1
            trainer.stop_training = True

    def on_train_end(self, trainer: Trainer) -> None:
        """Copy the best epoch's weights and buffers back, if asked to."""
        if self.restore_best_weights and self._best_weights is not None:
            for p, best in zip(trainer.model.parameters(), self._best_weights, strict=True):
                p.value[...] = best
            if self._best_buffers is not None:  # None: a checkpoint from before they were kept
                buffers = trainer.model.buffers().values()
                for b, best in zip(buffers, self._best_buffers, strict=True):
                    b[...] = best


@register("callback")
class DivergenceGuard(Callback):
    """Stop training when the loss explodes, before it overflows to inf.

    The Trainer itself stops on a NaN or infinite loss; a loss that grows to
    1e120 is still finite, and a run would end "successfully" at chance. This
    stops when a minibatch's loss exceeds ``factor`` times the reference: the
    first epoch's mean loss (during the first epoch, its first batch's), at
    least 1.

    Parameters
    ----------
    factor : float, default=1e6
        How many times the reference counts as exploding (> 1).

    Raises
    ------
    bprop.training.trainer.DivergedError
        From ``on_batch_end``, naming the epoch and batch and suggesting a
        smaller learning rate.
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"factor": "> 1"}

    def __init__(self, factor: float = 1e6) -> None:
        if not (isinstance(factor, (int, float)) and factor > 1 and math.isfinite(factor)):
            raise ValueError(f"factor must be a finite number > 1, got {factor!r}")
        self.factor = float(factor)
        self._ref: float | None = None

    def reset(self) -> None:
        """No reference loss yet."""
        self._ref = None

    def on_train_begin(self, trainer: Trainer) -> None:
        """Start afresh in a new training (`starts_fresh`)."""
        if starts_fresh(trainer):
            self.reset()

    def on_batch_end(self, trainer: Trainer, batch: int, loss: float) -> None:
        """Raise `DivergedError` if ``loss`` is non-finite or exploded.

        Parameters
        ----------
        trainer : Trainer
        batch : int
            0-based index in the epoch.
        loss : float
            The batch's mean loss.

        Raises
        ------
        DivergedError
            If ``loss`` is NaN or inf, or more than ``factor`` times the
            first epoch's mean loss (at least 1).
        """
        if self._ref is None and math.isfinite(loss):
            self._ref = abs(loss)
        limit = self.factor * max(self._ref or 0.0, 1.0)
        if not math.isfinite(loss) or loss > limit:
            from .trainer import DivergedError  # the trainer imports this module

            raise DivergedError(
                f"the loss became {loss:.3g} at epoch {trainer.epoch + 1}, batch {batch + 1}, "
                f"more than {self.factor:g} times the first epoch's ({self._ref:.3g}): "
                f"training diverged. Try a smaller learning rate (lr={trainer.optimizer.lr:g})"
            )

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """After the first epoch, its mean loss is the reference."""
        if trainer.epoch == 1 and math.isfinite(logs.get("loss", math.nan)):
            self._ref = abs(logs["loss"])


@register("callback")
class ProgressBar(Callback):
    """A tqdm bar over epochs showing the loss, the validation metric and the ETA.

    Quiet (draws nothing) when stdout is not a terminal, unless ``force=True``.

    Parameters
    ----------
    force : bool, default=False
        Draw even when stdout is not a terminal.
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
    """Progress as text: about ten lines a run, and one at least every ``seconds``.

    What ``bprop train`` prints where a progress bar cannot be drawn (output
    to a file or a pipe)::

        epoch 3/30  loss 0.412  val_loss 0.398  val_accuracy 0.91  lr 0.1

    A line comes every tenth of the epochs, and whenever ``seconds`` have
    passed since the last one, also inside a long epoch (``epoch 3/30  batch
    120  loss 0.52``), so that a log never stays silent for long.

    Parameters
    ----------
    seconds : float, default=10
        The longest silence, in seconds.
    """

    def __init__(self, seconds: float = 10.0) -> None:
        self.seconds = float(seconds)
        self._last = time.monotonic()

    def state_dict(self) -> dict[str, Any]:
        """Nothing to resume."""
        return {}

    def on_train_begin(self, trainer: Trainer) -> None:
        """Start the clock."""
        self._last = time.monotonic()

    def on_batch_end(self, trainer: Trainer, batch: int, loss: float) -> None:
        """Print a line inside a long epoch when ``seconds`` have passed."""
        if time.monotonic() - self._last >= self.seconds:
            print(f"epoch {trainer.epoch + 1}/{trainer.target_epochs}  batch {batch + 1}  "
                  f"loss {loss:.4g}", flush=True)
            self._last = time.monotonic()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Print the epoch's line if it is one of the shown ones (and always the last)."""
        step = max(1, trainer.target_epochs // 10)
        due = time.monotonic() - self._last >= self.seconds
        if trainer.epoch % step and trainer.epoch != trainer.target_epochs and not due:
            return
        shown = shown_logs(logs, ("loss", "val_loss", "val_accuracy", "lr"))
        text = "  ".join(f"{k} {v}" for k, v in shown.items())
        print(f"epoch {trainer.epoch}/{trainer.target_epochs}  {text}", flush=True)
        self._last = time.monotonic()


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

    Parameters
    ----------
    schedule : Schedule
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
        """`Schedule.begin`: take the base learning rate from this trainer's optimizer
        (after `Schedule.reset` in a new training)."""
        if starts_fresh(trainer):
            self.schedule.reset()
        self.schedule.begin(trainer.optimizer)

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """`Schedule.epoch_begin`: set this epoch's learning rate."""
        self.schedule.epoch_begin(trainer.optimizer, epoch)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """`Schedule.epoch_end`: what ReduceOnPlateau watches."""
        self.schedule.epoch_end(trainer.optimizer, epoch, logs)
