"""Learning-rate schedules. Each is a `Callback` that sets ``optimizer.lr``.

Epoch-based schedules compute ``lr(epoch)`` from the optimizer's learning
rate at the start of training (``base_lr``), with ``epoch`` counting from 0:

=================  ==========================================================
Constant           lr = base_lr
InverseScaling     lr = base_lr / (epoch + 1) ** power_t
StepDecay          lr = base_lr * gamma ** (epoch // step_size)
Cosine             lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * epoch / epochs)) / 2
ReduceOnPlateau    lr *= factor after ``patience`` epochs without improvement
=================  ==========================================================
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..callbacks import Callback, Monitor
from ..validation import check_int, check_nonnegative, check_positive, is_number

if TYPE_CHECKING:
    from ..train import Trainer


class Schedule(Callback):
    """Base of epoch-based schedules: subclasses implement ``lr(epoch)``."""

    base_lr: float | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        if self.base_lr is None:  # kept across resumed fits
            self.base_lr = trainer.optimizer.lr

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        trainer.optimizer.lr = self.lr(epoch)

    def lr(self, epoch: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and k != "base_lr"}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """``lr = base_lr`` every epoch."""

    def lr(self, epoch: int) -> float:
        return float(self.base_lr)


class InverseScaling(Schedule):
    """``lr = base_lr / (epoch + 1) ** power_t``."""

    def __init__(self, power_t: float = 0.5) -> None:
        self.power_t = check_positive("power_t", power_t)

    def lr(self, epoch: int) -> float:
        return self.base_lr / (epoch + 1) ** self.power_t


class StepDecay(Schedule):
    """``lr = base_lr * gamma ** (epoch // step_size)``."""

    def __init__(self, step_size: int = 10, gamma: float = 0.1) -> None:
        self.step_size = check_int("step_size", step_size)
        self.gamma = check_positive("gamma", gamma)

    def lr(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class Cosine(Schedule):
    """Cosine annealing from base_lr at epoch 0 to min_lr at epoch ``epochs``."""

    def __init__(self, epochs: int, min_lr: float = 0.0) -> None:
        self.epochs = check_int("epochs", epochs)
        self.min_lr = check_nonnegative("min_lr", min_lr)

    def lr(self, epoch: int) -> float:
        frac = min(epoch, self.epochs) / self.epochs
        return self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * frac)) / 2


class ReduceOnPlateau(Callback):
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

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self._tracker.improved(self._tracker.value(logs)):
            self._wait = 0
            return
        self._wait += 1
        if self._wait >= self.patience:
            trainer.optimizer.lr = max(trainer.optimizer.lr * self.factor, self.min_lr)
            self._wait = 0

    def get_config(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "factor": self.factor,
            "patience": self.patience,
            "min_lr": self.min_lr,
            "threshold": self.threshold,
        }
