"""Learning-rate schedules: each sets ``optimizer.lr`` at the start of every epoch.

A schedule knows only the optimizer it drives; the training loop
(`bprop.training.Trainer`) calls `Schedule.begin` when training starts,
`Schedule.epoch_begin` and `Schedule.epoch_end` around every epoch. Pass
schedules to the Trainer among its callbacks.

Epoch-based schedules compute ``lr(epoch)`` from the optimizer's learning
rate at the start of training (``base_lr``), with ``epoch`` counting from 0:

=================  ==========================================================
Constant           lr = base_lr
InverseScaling     lr = base_lr / (epoch + 1) ** power_t
StepDecay          lr = base_lr * gamma ** (epoch // step_size)
Cosine             lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * epoch / epochs)) / 2
ReduceOnPlateau    lr *= factor after ``patience`` epochs without improvement
=================  ==========================================================

Every new training starts a schedule afresh (`Schedule.reset`): ``base_lr``
is taken again from the optimizer it is used with. Only a continued training
(a resumed run, a second ``fit`` of the same Trainer) keeps its state.

Training longer than planned (``bprop train --resume RUN train.epochs=...`` of
a finished run) calls `Schedule.extend`: Constant, InverseScaling and
StepDecay simply continue their formula; Cosine starts a new cycle from
``base_lr`` down to ``min_lr`` over the added epochs (a warm restart, as in
SGDR); ReduceOnPlateau starts again from ``base_lr`` with fresh patience.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..metrics import Monitor
from ..registry import register
from ..validation import check_int, check_nonnegative, check_positive, is_number

if TYPE_CHECKING:
    from .base import Optimizer


class Schedule:
    """Base of learning-rate schedules: subclasses implement ``lr(epoch)``.

    ``base_lr`` is the optimizer's learning rate when training first begins;
    it is kept when training continues (a second ``fit`` or a resumed run).
    """

    base_lr: float | None = None

    def reset(self) -> None:
        """Forget everything learned in a training: a new one begins.

        Subclasses with more state (counters, cycles) extend this.
        """
        self.base_lr = None

    def begin(self, optimizer: Optimizer) -> None:
        """Training begins: take ``base_lr`` from ``optimizer`` (unless continuing one).

        Parameters
        ----------
        optimizer : Optimizer
            Its ``lr`` becomes ``base_lr``.
        """
        if self.base_lr is None:
            self.base_lr = optimizer.lr

    def extend(self, optimizer: Optimizer, done: int, epochs: int) -> str:
        """Training goes on past its planned end: from epoch ``done`` to ``epochs``.

        The default continues ``lr(epoch)`` for the added epochs.

        Parameters
        ----------
        optimizer : Optimizer
        done : int
            Epochs completed.
        epochs : int
            The new total.

        Returns
        -------
        str
            What happens to the learning rate, in words (``bprop train`` prints it).
        """
        return (f"{type(self).__name__} continues: lr {self.lr(done):.3g} at epoch "
                f"{done + 1}")

    def epoch_begin(self, optimizer: Optimizer, epoch: int) -> None:
        """Set ``optimizer.lr`` for ``epoch`` (counting from 0).

        Parameters
        ----------
        optimizer : Optimizer
        epoch : int
            0-based.
        """
        optimizer.lr = self.lr(epoch)

    def epoch_end(self, optimizer: Optimizer, epoch: int, logs: dict[str, float]) -> None:
        """An epoch ended with these logs (``loss``, ``val_loss``, ...); nothing by default.

        Parameters
        ----------
        optimizer : Optimizer
        epoch : int
            0-based.
        logs : dict of str to float
            The epoch's logs.

        Raises
        ------
        ValueError
            From a schedule that monitors a key the logs do not hold.
        """

    def lr(self, epoch: int) -> float:
        """The learning rate of ``epoch`` (counting from 0).

        Parameters
        ----------
        epoch : int
            0-based.

        Returns
        -------
        float
            > 0 (>= ``min_lr`` where a schedule has one).
        """
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """The schedule's state, for checkpoints: its plain attributes.

        Returns
        -------
        dict
            Numbers, strings, booleans and None (``base_lr``, counters, the
            current cycle), keyed by attribute name. A schedule holding other
            state overrides both methods.
        """
        return {k: v for k, v in vars(self).items()
                if isinstance(v, (int, float, str, bool, type(None)))}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned.

        Parameters
        ----------
        state : dict
        """
        for key, value in state.items():
            setattr(self, key, value)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able) that rebuild this schedule.

        Returns
        -------
        dict
        """
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and k != "base_lr"}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@register("schedule")
class Constant(Schedule):
    """``lr = base_lr`` every epoch."""

    def lr(self, epoch: int) -> float:
        return float(self.base_lr)


@register("schedule")
class InverseScaling(Schedule):
    """``lr = base_lr / (epoch + 1) ** power_t``.

    Parameters
    ----------
    power_t : float, default=0.5
        > 0.

    Raises
    ------
    ValueError
        If ``power_t`` <= 0.
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"power_t": "> 0"}

    def __init__(self, power_t: float = 0.5) -> None:
        self.power_t = check_positive("power_t", power_t)

    def lr(self, epoch: int) -> float:
        return self.base_lr / (epoch + 1) ** self.power_t


@register("schedule")
class StepDecay(Schedule):
    """``lr = base_lr * gamma ** (epoch // step_size)``.

    Parameters
    ----------
    step_size : int, default=10
        Epochs between decays, >= 1.
    gamma : float, default=0.1
        Factor per decay, > 0.

    Raises
    ------
    ValueError
        For a bad ``step_size`` or ``gamma``.
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"step_size": ">= 1", "gamma": "> 0"}

    def __init__(self, step_size: int = 10, gamma: float = 0.1) -> None:
        self.step_size = check_int("step_size", step_size)
        self.gamma = check_positive("gamma", gamma)

    def lr(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


@register("schedule")
class Cosine(Schedule):
    """Cosine annealing from base_lr at epoch 0 to min_lr at epoch ``epochs``.

    ``lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * epoch / epochs)) / 2``.

    Parameters
    ----------
    epochs : int
        Length of the cycle, >= 1.
    min_lr : float, default=0.0
        The rate at the cycle's end, >= 0.

    Raises
    ------
    ValueError
        For a bad ``epochs`` or ``min_lr``.
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"epochs": ">= 1", "min_lr": ">= 0"}

    def __init__(self, epochs: int, min_lr: float = 0.0) -> None:
        self.epochs = check_int("epochs", epochs)
        self.min_lr = check_nonnegative("min_lr", min_lr)
        self._start = 0  # the first epoch of the current cycle (moved by `extend`)
        self._length = self.epochs

    def reset(self) -> None:
        """Back to one cycle of ``epochs`` from epoch 0."""
        super().reset()
        self._start, self._length = 0, self.epochs

    def extend(self, optimizer: Optimizer, done: int, epochs: int) -> str:
        """A warm restart: a new cycle from ``base_lr`` at epoch ``done`` to ``min_lr`` at
        ``epochs``."""
        self._start, self._length = done, max(epochs - done, 1)
        return (f"Cosine restarts from lr {self.base_lr:.3g} at epoch {done + 1} and anneals "
                f"to {self.min_lr:.3g} at epoch {epochs}")

    def lr(self, epoch: int) -> float:
        if epoch < self._start:  # an earlier cycle
            return self.min_lr + (self.base_lr - self.min_lr) * (
                1 + math.cos(math.pi * min(epoch, self.epochs) / self.epochs)) / 2
        frac = min(epoch - self._start, self._length) / self._length
        return self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * frac)) / 2


@register("schedule")
class ReduceOnPlateau(Schedule):
    """Multiply lr by ``factor`` when ``monitor`` stalls for ``patience`` epochs.

    Parameters
    ----------
    monitor : str, default="val_loss"
    factor : float, default=0.1
        In (0, 1).
    patience : int, default=10
    min_lr : float, default=0.0
        The learning rate never goes below this.
    threshold : float, default=1e-4
        The smallest change that counts as an improvement.
    """

    #: what a config may set beyond the signature's types (read by bprop.config)
    config_fields = {"factor": "(0, 1)", "patience": ">= 1", "min_lr": ">= 0", "threshold": ">= 0"}

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        min_lr: float = 0.0,
        threshold: float = 1e-4,
    ) -> None:
        if not (is_number(factor) and 0 < factor < 1):
            raise ValueError(f"factor must be in (0, 1), got {factor!r}")
        self.monitor, self.factor = monitor, float(factor)
        self.patience = check_int("patience", patience)
        self.min_lr = check_nonnegative("min_lr", min_lr)
        self.threshold = check_nonnegative("threshold", threshold)
        self._tracker = Monitor(monitor, "auto", threshold)
        self._wait = 0

    def reset(self) -> None:
        """Fresh patience and best value; the rate comes from the optimizer again."""
        super().reset()
        self._tracker = Monitor(self.monitor, "auto", self.threshold)
        self._wait = 0

    def extend(self, optimizer: Optimizer, done: int, epochs: int) -> str:
        """Start again from ``base_lr`` with fresh patience: the reduced rate had
        served the run that ended."""
        lr = optimizer.lr
        optimizer.lr = self.base_lr
        self._tracker = Monitor(self.monitor, "auto", self.threshold)
        self._wait = 0
        return f"ReduceOnPlateau restarts from lr {self.base_lr:.3g} (it had reached {lr:.3g})"

    def epoch_begin(self, optimizer: Optimizer, epoch: int) -> None:
        """The learning rate changes only at the end of a stalled epoch."""

    def epoch_end(self, optimizer: Optimizer, epoch: int, logs: dict[str, float]) -> None:
        if self._tracker.improved(self._tracker.value(logs)):
            self._wait = 0
            return
        self._wait += 1
        if self._wait >= self.patience:
            optimizer.lr = max(optimizer.lr * self.factor, self.min_lr)
            self._wait = 0

    def state_dict(self) -> dict[str, Any]:
        """The plain attributes and the best value seen (as ``"_tracker.best"``)."""
        return {**super().state_dict(), "_tracker.best": self._tracker.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""
        state = dict(state)
        if "_tracker.best" in state:
            self._tracker.best = state.pop("_tracker.best")
        super().load_state_dict(state)

    def get_config(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "factor": self.factor,
            "patience": self.patience,
            "min_lr": self.min_lr,
            "threshold": self.threshold,
        }
