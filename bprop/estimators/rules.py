"""scikit-learn's per-batch and per-epoch rules for the stochastic solvers, as one callback.

The epochs and minibatches are `bprop.train.Trainer`'s; what scikit-learn's
``_fit_stochastic`` adds on top lives in `SklearnRules`, a callback:

- the L2 term: scikit-learn adds ``alpha * W`` to the *summed* gradient before
  dividing by the batch's weight, so the optimizer's weight decay is
  ``alpha / sum(w_batch)`` (``alpha / batch_size`` without weights), on the
  weights only; the reported loss adds ``0.5 * alpha * ||W||^2 / sum(w_batch)``;
- the per-epoch bookkeeping: ``n_iter_``, ``t_``, ``loss_``, ``loss_curve_``;
- early stopping on a held-out validation *score* (accuracy or R^2), keeping
  the best weights, and the ``tol`` / ``n_iter_no_change`` stopping rule;
- the learning-rate schedules 'invscaling' (``lr / (t_ + 1) ** power_t``
  with ``t_`` the samples seen) and 'adaptive' (divide by 5 when stuck).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..optim import SGD
from ..optim.base import Optimizer
from ..training.callbacks import Callback
from ..training.trainer import DivergedError, Trainer


def set_lr(optimizer: Optimizer, lr: float) -> None:
    """Change the learning rate, keeping SGD's momentum in scikit-learn's units.

    bprop's SGD keeps ``v`` as a sum of gradients (``W -= lr * v``);
    scikit-learn keeps ``lr * v`` (``W += v``). The two agree while the rate
    is constant; rescaling ``v`` by ``old / new`` keeps them equal when a
    schedule changes it.
    """
    if isinstance(optimizer, SGD) and optimizer.momentum:
        for v in optimizer.velocity:
            v *= v.dtype.type(optimizer.lr / lr)
    optimizer.lr = lr


class SklearnRules(Callback):
    """scikit-learn's weight decay, bookkeeping, early stopping and schedules, as a callback.

    It runs first among the Trainer's callbacks and adds ``val_loss`` and
    ``val_score`` to the epoch logs (with early stopping), and replaces
    ``loss`` by scikit-learn's loss (with the L2 term), for the user's
    callbacks that follow.
    """

    def __init__(self, est: Any) -> None:
        self.est = est
        self.stopped = False
        self.restore = False

    def start(self, n_train: int, sw: np.ndarray | None, val: tuple | None) -> None:
        """Per-``fit`` context: the data it needs (dropped again by `finish`)."""
        self.n_train, self.sw, self.val = n_train, sw, val
        self.stopped = False
        est = self.est
        rule = est.restore_best_weights
        self.restore = est.early_stopping if rule is None else bool(rule)

    def finish(self) -> None:
        self.sw = self.val = None

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        self._sum, self._rows = 0.0, 0

    def on_batch_begin(self, trainer: Trainer, batch: int, n: int) -> None:
        idx = trainer.batch_indices
        w_sum = n if self.sw is None else float(self.sw[idx].sum())
        alpha = self.est.alpha
        trainer.optimizer.weight_decay = alpha / w_sum
        self._penalty = 0.0
        if alpha:
            params = trainer.optimizer.params
            sq = sum(float(np.vdot(p.value, p.value)) for p in params if p.decay)
            self._penalty = 0.5 * alpha * sq / w_sum
        self._n = n

    def on_batch_end(self, trainer: Trainer, batch: int, loss: float) -> None:
        self._sum += (loss * self.est._loss_scale() + self._penalty) * self._n
        self._rows += self._n

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        est = self.est
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_ = self._sum / self._rows
        est.loss_curve_.append(est.loss_)
        logs["loss"] = est.loss_
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        if self.val is not None:
            self._validate(logs)
        self._count_no_improvement()
        if est.solver == "sgd" and est.learning_rate == "invscaling":
            set_lr(trainer.optimizer, est.learning_rate_init / (est.t_ + 1) ** est.power_t)
        if est._no_improvement_count > est.n_iter_no_change:
            self._stuck(trainer)

    def _validate(self, logs: dict[str, float]) -> None:
        est = self.est
        X_val, T_val, sw_val = self.val
        raw = est._forward(X_val)
        val_loss = est._loss.forward(raw, T_val, sw_val)
        est.validation_loss_curve_.append(val_loss * est._loss_scale())
        score = est._validation_score(raw, T_val, sw_val)
        est.validation_scores_.append(score)
        logs.update(val_loss=est.validation_loss_curve_[-1], val_score=score)
        if est.verbose:
            print(f"Validation score: {score:f}")

    def _count_no_improvement(self) -> None:
        est = self.est
        if self.val is not None:
            last = est.validation_scores_[-1]
            stuck = last < est.best_validation_score_ + est.tol
            better = last > est.best_validation_score_
            if better:
                est.best_validation_score_ = last
        else:
            last = est.loss_curve_[-1]
            stuck = last > est.best_loss_ - est.tol
            better = last < est.best_loss_
            if better:
                est.best_loss_ = last
        est._no_improvement_count = est._no_improvement_count + 1 if stuck else 0
        if better and self.restore:
            est._best_params = [p.value.copy() for p in est.model_.parameters()]

    def _stuck(self, trainer: Trainer) -> None:
        """No improvement by tol for n_iter_no_change epochs: stop, or divide the lr by 5."""
        est = self.est
        what = "Validation score" if self.val is not None else "Training loss"
        msg = (
            f"{what} did not improve more than tol={est.tol:f} for "
            f"{est.n_iter_no_change} consecutive epochs."
        )
        adaptive = est.solver == "sgd" and est.learning_rate == "adaptive"
        if adaptive and trainer.optimizer.lr > 1e-6:
            set_lr(trainer.optimizer, trainer.optimizer.lr / 5.0)
            est._no_improvement_count = 0
            if est.verbose:
                print(f"{msg} Setting learning rate to {trainer.optimizer.lr:f}")
            return
        if est.verbose:
            print(msg + (" Learning rate too small. Stopping." if adaptive else " Stopping."))
        self.stopped = True
        trainer.stop_training = True

    def diverged(self, trainer: Trainer, err: DivergedError) -> None:
        """The loss became NaN or inf: record the epoch, then stop, as training cannot recover.

        scikit-learn would go on with NaN weights until max_iter; the outcome is
        the same: with the best weights restored the fit succeeds, otherwise
        ``fit`` raises its "non-finite parameter weights" error.
        """
        est = self.est
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_ = np.inf
        est.loss_curve_.append(est.loss_)
        if self.val is not None:
            est.validation_scores_.append(np.nan)
            est.validation_loss_curve_.append(np.nan)
        self.stopped = True
        if not self.restore:
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                f"large values and need to be preprocessed. ({err})"
            ) from err
