"""The stochastic solvers ('sgd', 'adam'): scikit-learn's ``_fit_stochastic`` on bprop's Trainer.

The epochs and minibatches are `bprop.training.Trainer`'s. What scikit-learn
adds on top comes in pieces that `BaseMLP._fit_stochastic` hands to the
Trainer, each from the few values it needs:

- `make_optimizer`, `batch_size_for`, `split_validation`: scikit-learn's
  optimizer, batch size and early-stopping split;
- `SklearnShuffle`: the Trainer's generator, replaying scikit-learn's epoch
  shuffles, so the same ``random_state`` gives the same minibatches;
- the L2 term: scikit-learn adds ``alpha * W`` to the *summed* gradient
  before dividing by the batch's weight, so the step's weight decay is
  ``alpha / sum(w_batch)`` (``alpha / batch_size`` without weights), on the
  weights only, and the batch's reported loss adds
  ``0.5 * alpha * ||W||^2 / sum(w_batch)``: the Trainer's ``l2=alpha``;
- `SklearnEpochs`: a callback with scikit-learn's per-epoch rules (it has
  no per-batch hook: under the fused engine one would cost a parameter copy
  per step). It records what happened (``loss_curve``, stopping, the best
  weights ...) in its own `Record`, which the estimator reads when training
  ends:

  - the epoch's loss as scikit-learn reports it, from the Trainer's
    ``batch_log``: the batches' losses with their L2 terms, averaged by
    sample count;
  - early stopping on a held-out validation *score* (accuracy or R^2), and
    the ``tol`` / ``n_iter_no_change`` stopping rule;
  - the learning-rate schedules 'invscaling' (``lr / (t + 1) ** power_t``
    with ``t`` the samples seen) and 'adaptive' (divide by 5 when stuck).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..layers.base import Layer
from ..optim import SGD, Adam
from ..optim.base import Optimizer
from ..parameter import Parameter
from ..training.callbacks import Callback
from ..training.trainer import Trainer


def make_optimizer(
    solver: str,
    params: Sequence[Parameter],
    *,
    learning_rate_init: float,
    momentum: float,
    nesterovs_momentum: bool,
    beta_1: float,
    beta_2: float,
    epsilon: float,
) -> Optimizer:
    """scikit-learn's optimizer for ``solver`` on the network's parameters.

    Parameters
    ----------
    solver : {"sgd", "adam"}
    params : sequence of Parameter
    learning_rate_init : float
    momentum : float
        SGD's momentum.
    nesterovs_momentum : bool
        SGD's Nesterov form.
    beta_1, beta_2, epsilon : float
        Adam's decay rates and stability constant.

    Returns
    -------
    Optimizer
        An `SGD` or `Adam` without weight decay (the Trainer's ``l2`` sets it per batch).
    """
    if solver == "sgd":
        return SGD(params, lr=learning_rate_init, momentum=momentum, nesterov=nesterovs_momentum)
    return Adam(params, lr=learning_rate_init, beta1=beta_1, beta2=beta_2, eps=epsilon)


def batch_size_for(batch_size: int | str, n_samples: int) -> int:
    """scikit-learn's minibatch size.

    Parameters
    ----------
    batch_size : int or "auto"
        "auto" is ``min(200, n_samples)``.
    n_samples : int
        Training samples.

    Returns
    -------
    int
        In ``[1, n_samples]``.

    Warns
    -----
    UserWarning
        When an int ``batch_size`` is clipped (scikit-learn's message).
    """
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
            stacklevel=5,
        )
    return int(np.clip(batch_size, 1, n_samples))


def split_validation(
    X: np.ndarray,
    T: np.ndarray,
    sample_weight: np.ndarray | None,
    *,
    validation_fraction: float,
    stratify: bool,
    random_state: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, tuple]:
    """The training part and the held-out part for early stopping, as scikit-learn splits them.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    T : ndarray
        The loss's targets: labels (n_samples,) or values (n_samples, n_outputs).
    sample_weight : ndarray of shape (n_samples,) or None
    validation_fraction : float
        Share of the samples held out.
    stratify : bool
        Keep the class proportions (single-output classification).
    random_state : numpy RandomState
        The estimator's generator, after the initial weights were drawn.

    Returns
    -------
    X_train, T_train, sw_train
        The training part.
    validation : tuple
        ``(X_val, T_val, sw_val)``.

    Raises
    ------
    ValueError
        If fewer than 2 samples are held out, or a part's weights are all zero.
    """
    # sklearn.model_selection on first use (early stopping only): 1 MB of modules
    from sklearn.model_selection import train_test_split

    arrays = (X, T) if sample_weight is None else (X, T, sample_weight)
    parts = train_test_split(
        *arrays,
        random_state=random_state,
        test_size=validation_fraction,
        stratify=T.astype(bool) if stratify else None,
    )
    X_train, X_val, T_train, T_val = parts[:4]
    sw_train, sw_val = (None, None) if sample_weight is None else parts[4:]
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or the size "
            "of your dataset."
        )
    for part, w in (("validation", sw_val), ("training", sw_train)):
        if w is not None and not w.any():
            raise ValueError(
                f"The sample weights for {part} set are all zero, consider using a "
                "different random state."
            )
    return X_train, T_train, sw_train, (X_val, T_val, sw_val)


class SklearnShuffle(np.random.Generator):
    """The Trainer's generator, whose ``permutation(n)`` replays scikit-learn's shuffling.

    scikit-learn shuffles the previous epoch's order again with its
    RandomState (``sklearn.utils.shuffle``), after drawing the initial weights
    and the validation split from the same RandomState. Replaying that
    sequence makes a bprop fit the same model as scikit-learn's for the same
    ``random_state``, shuffled minibatches included. Every other draw uses
    the generator's own (fixed-seed) stream.

    Parameters
    ----------
    random_state : numpy RandomState
        The estimator's generator for this fit.
    order : ndarray or None
        The previous epoch's order (None: ``arange(n)``, a fit's start).
    """

    def __init__(self, random_state: np.random.RandomState, order: Any = None) -> None:
        super().__init__(np.random.PCG64(0))
        self.random_state, self.order = random_state, order

    def permutation(self, n: Any) -> np.ndarray:  # type: ignore[override]
        """The next epoch's order of ``range(n)``: the last order, shuffled again.

        Parameters
        ----------
        n : int or array-like
            An array is permuted by the base Generator.

        Returns
        -------
        ndarray of shape (n,)
        """
        if not isinstance(n, (int, np.integer)):
            return super().permutation(n)
        if self.order is None or len(self.order) != n:
            self.order = np.arange(n)
        step = np.arange(n)
        self.random_state.shuffle(step)
        self.order = self.order[step]
        return self.order

    def __reduce__(self) -> tuple:
        return SklearnShuffle, (self.random_state, self.order)


def set_lr(optimizer: Optimizer, lr: float) -> None:
    """Change the learning rate, keeping SGD's momentum in scikit-learn's units.

    bprop's SGD keeps ``v`` as a sum of gradients (``W -= lr * v``);
    scikit-learn keeps ``lr * v`` (``W += v``). The two agree while the rate
    is constant; rescaling ``v`` by ``old / new`` keeps them equal when a
    schedule changes it.

    Parameters
    ----------
    optimizer : Optimizer
    lr : float
        The new rate, > 0.
    """
    if isinstance(optimizer, SGD) and optimizer.momentum:
        for v in optimizer.velocity:
            v *= v.dtype.type(optimizer.lr / lr)
    optimizer.lr = lr


@dataclass
class Record:
    """What scikit-learn tracks over the epochs, and across ``partial_fit`` calls.

    The fields are scikit-learn's fitted attributes without the trailing
    underscore (``loss_curve`` is ``loss_curve_``), plus its private
    ``_no_improvement_count``, the best weights and whether the stopping rule
    fired in the last call.

    Attributes
    ----------
    n_iter : int
        Epochs of the last call.
    t : int
        Training samples seen since the network was built.
    loss : float or None
        The last epoch's loss (with the L2 term); None before any epoch.
    loss_curve : list of float
        The loss of every epoch.
    best_loss : float or None
        The lowest loss; None with early stopping.
    validation_scores, validation_loss_curve : list of float or None
        Per epoch, with early stopping.
    best_validation_score : float or None
        With early stopping.
    no_improvement_count : int
        Epochs in a row without an improvement by ``tol``.
    best_params : list of ndarray
        The parameter values of the best epoch (when kept).
    best_buffers : list of ndarray
        Its buffers (BatchNorm's running statistics), in ``buffers()`` order;
        empty before the first improvement.
    stopped : bool
        Whether the stopping rule (or a diverged loss) ended the last call.
    """

    n_iter: int = 0
    t: int = 0
    loss: float | None = None
    loss_curve: list[float] = field(default_factory=list)
    best_loss: float | None = np.inf
    validation_scores: list[float] | None = None
    validation_loss_curve: list[float] | None = None
    best_validation_score: float | None = None
    no_improvement_count: int = 0
    best_params: list[np.ndarray] = field(default_factory=list)
    best_buffers: list[np.ndarray] = field(default_factory=list)
    stopped: bool = False

    @classmethod
    def start(cls, params: Sequence[Parameter], *, early_stopping: bool,
              keep_best: bool = True) -> Record:
        """The record of a fresh network, before any epoch.

        Parameters
        ----------
        params : sequence of Parameter
            Their values are the first "best weights", when kept.
        early_stopping : bool
            Track the validation score (and not the best training loss).
        keep_best : bool, default=True
            Copy the values now (for restoring the best weights). Without, the
            record holds no copy: on a wide sparse input the first weight
            matrix is most of the memory a fit takes.

        Returns
        -------
        Record
        """
        best = [p.value.copy() for p in params] if keep_best else []
        if early_stopping:
            return cls(
                best_loss=None,
                validation_scores=[],
                validation_loss_curve=[],
                best_validation_score=-np.inf,
                best_params=best,
            )
        return cls(best_params=best)

    def copy(self) -> Record:
        """A copy with its own lists (the arrays are shared: they are replaced, never changed).

        Returns
        -------
        Record
        """
        lists = ("loss_curve", "validation_scores", "validation_loss_curve", "best_params",
                 "best_buffers")
        return replace(
            self, **{k: None if getattr(self, k) is None else list(getattr(self, k)) for k in lists}
        )


@dataclass(frozen=True)
class HeldOut:
    """The early-stopping validation part, and how to score the network on it.

    Attributes
    ----------
    X : ndarray of shape (n_val, n_features)
    T : ndarray
        The loss's targets for ``X``.
    sample_weight : ndarray of shape (n_val,) or None
    raw : callable
        ``raw(X)``: the network's outputs in evaluation mode.
    score : callable
        ``score(raw_outputs, T, sample_weight)``: accuracy or R^2.
    """

    X: np.ndarray
    T: np.ndarray
    sample_weight: np.ndarray | None
    raw: Callable[[np.ndarray], np.ndarray]
    score: Callable[[np.ndarray, np.ndarray, np.ndarray | None], float]


class SklearnEpochs(Callback):
    """scikit-learn's reported loss, early stopping and schedules, as one callback.

    It runs first among the Trainer's callbacks: it replaces the epoch logs'
    ``loss`` by scikit-learn's (with the L2 term) and adds ``val_loss`` and
    ``val_score`` (with early stopping), for the user's callbacks that follow.
    It changes only the Trainer's optimizer (learning rate) and its own
    `record`. It overrides no per-batch hook, so the fused engine never
    copies the parameters around a step for it.

    Parameters
    ----------
    record : Record
        Where training stands (a fresh one, or the last ``partial_fit``'s).
        The callback records the epochs in a copy of it, ``self.record``,
        which the estimator reads when training ends.
    n_train : int
        Training samples per epoch (``t`` grows by it).
    held_out : HeldOut or None
        With early stopping: the validation part.
    loss_scale : float
        Factor from bprop's loss to the one scikit-learn reports.
    tol : float
    n_iter_no_change : int or inf
        The stopping rule: no improvement by ``tol`` in this many epochs.
    learning_rate : {"constant", "invscaling", "adaptive"}
        The schedule ("constant" for Adam).
    learning_rate_init, power_t : float
        The schedule's parameters.
    restore_best : bool
        Keep a copy of the best epoch's weights in ``record.best_params``.
    verbose : bool
        Print the loss (and validation score) after every epoch.
    """

    def __init__(
        self,
        record: Record,
        *,
        n_train: int,
        held_out: HeldOut | None,
        loss_scale: float,
        tol: float,
        n_iter_no_change: float,
        learning_rate: str,
        learning_rate_init: float,
        power_t: float,
        restore_best: bool,
        verbose: bool,
    ) -> None:
        self.record = replace(record.copy(), n_iter=0, stopped=False)
        self.n_train, self.held_out, self.loss_scale = n_train, held_out, loss_scale
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        self.learning_rate, self.learning_rate_init = learning_rate, learning_rate_init
        self.power_t = power_t
        self.restore_best, self.verbose = restore_best, verbose

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Record the epoch, validate, apply the schedule and the stopping rule.

        Parameters
        ----------
        trainer : Trainer
        epoch : int
        logs : dict
            The epoch logs; ``loss`` is replaced by scikit-learn's, and
            ``val_loss`` / ``val_score`` are added with early stopping.
        """
        r = self.record
        r.n_iter += 1
        r.t += self.n_train
        r.loss = self.sklearn_loss(trainer.batch_log)
        r.loss_curve.append(r.loss)
        logs["loss"] = r.loss
        if self.verbose:
            print(f"Iteration {r.n_iter}, loss = {r.loss:.8f}")
        if self.held_out is not None:
            logs.update(self._validate(trainer))
        self._count_no_improvement(trainer.model)
        if self.learning_rate == "invscaling":
            set_lr(trainer.optimizer, self.learning_rate_init / (r.t + 1) ** self.power_t)
        if r.no_improvement_count > self.n_iter_no_change:
            self._stuck(trainer)

    def sklearn_loss(self, batch_log: dict[str, list[float]]) -> float:
        """The epoch's loss as scikit-learn reports it (``loss_``).

        scikit-learn sums, over the batches, ``(batch loss + L2 term) * n_b``
        and divides by the samples: batches count by their *size*, also with
        sample weights (the Trainer's logged loss counts them by weight).

        Parameters
        ----------
        batch_log : dict
            The Trainer's ``batch_log`` of the epoch: ``rows``, ``loss``
            (bprop's, without the L2 term) and ``l2`` per step.

        Returns
        -------
        float
            NaN when the epoch ran no step.
        """
        scale = self.loss_scale
        steps = zip(batch_log["rows"], batch_log["loss"], batch_log["l2"], strict=True)
        total = sum((loss * scale + penalty) * n for n, loss, penalty in steps)
        rows = sum(batch_log["rows"])
        return total / rows if rows else np.nan

    def diverged(self) -> None:
        """Record an epoch whose loss became NaN or inf; training cannot go on.

        scikit-learn would go on with NaN weights until ``max_iter``; the
        outcome is the same: with the best weights restored the fit succeeds,
        otherwise it fails with "non-finite parameter weights".
        """
        r = self.record
        r.n_iter += 1
        r.t += self.n_train
        r.loss = np.inf
        r.loss_curve.append(r.loss)
        if self.held_out is not None:
            r.validation_scores.append(np.nan)
            r.validation_loss_curve.append(np.nan)
        r.stopped = True

    def _validate(self, trainer: Trainer) -> dict[str, float]:
        h, r = self.held_out, self.record
        raw = h.raw(h.X)
        val_loss = trainer.loss.forward(raw, h.T, h.sample_weight) * self.loss_scale
        score = h.score(raw, h.T, h.sample_weight)
        r.validation_loss_curve.append(val_loss)
        r.validation_scores.append(score)
        if self.verbose:
            print(f"Validation score: {score:f}")
        return {"val_loss": val_loss, "val_score": score}

    def _count_no_improvement(self, model: Layer) -> None:
        r = self.record
        if self.held_out is not None:
            last = r.validation_scores[-1]
            stuck = last < r.best_validation_score + self.tol
            better = last > r.best_validation_score
            if better:
                r.best_validation_score = last
        else:
            last = r.loss_curve[-1]
            stuck = last > r.best_loss - self.tol
            better = last < r.best_loss
            if better:
                r.best_loss = last
        r.no_improvement_count = r.no_improvement_count + 1 if stuck else 0
        if better and self.restore_best:
            r.best_params = [p.value.copy() for p in model.parameters()]
            r.best_buffers = [b.copy() for b in model.buffers().values()]

    def _stuck(self, trainer: Trainer) -> None:
        """No improvement by tol for n_iter_no_change epochs: stop, or divide the lr by 5."""
        what = "Validation score" if self.held_out is not None else "Training loss"
        msg = (
            f"{what} did not improve more than tol={self.tol:f} for "
            f"{self.n_iter_no_change} consecutive epochs."
        )
        adaptive = self.learning_rate == "adaptive"
        if adaptive and trainer.optimizer.lr > 1e-6:
            set_lr(trainer.optimizer, trainer.optimizer.lr / 5.0)
            self.record.no_improvement_count = 0
            if self.verbose:
                print(f"{msg} Setting learning rate to {trainer.optimizer.lr:f}")
            return
        if self.verbose:
            print(msg + (" Learning rate too small. Stopping." if adaptive else " Stopping."))
        self.record.stopped = True
        trainer.stop_training = True

