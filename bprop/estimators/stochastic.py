"""The stochastic solvers ('sgd', 'adam'): scikit-learn's ``_fit_stochastic`` on bprop's Trainer.

`fit_stochastic` builds the optimizer and a `bprop.train.Trainer` (or reuses
it for ``partial_fit``), holds out the early-stopping split as scikit-learn
does, and runs the epochs; everything scikit-learn does per batch and per
epoch is the callback `rules.SklearnRules`. `SklearnShuffle` replays
scikit-learn's epoch shuffling, so the same ``random_state`` gives the same
minibatches.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from ..optim import SGD, Adam
from ..optim.base import Optimizer
from ..training.trainer import DivergedError, Trainer
from .rules import SklearnRules


def make_optimizer(est: Any) -> Optimizer:
    """scikit-learn's optimizer for ``est.solver`` on the network's parameters."""
    params = est.model_.parameters()
    if est.solver == "sgd":
        return SGD(
            params,
            lr=est.learning_rate_init,
            momentum=est.momentum,
            nesterov=est.nesterovs_momentum,
        )
    return Adam(
        params, lr=est.learning_rate_init, beta1=est.beta_1, beta2=est.beta_2, eps=est.epsilon
    )


def batch_size_for(batch_size: Any, n_samples: int) -> int:
    """'auto' is ``min(200, n_samples)``; a larger int is clipped, with scikit-learn's warning."""
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
            stacklevel=3,
        )
    return int(np.clip(batch_size, 1, n_samples))


def fit_stochastic(
    est: Any, X: np.ndarray, T: np.ndarray, sw: np.ndarray | None, incremental: bool
) -> None:
    """Train ``est.model_`` for up to ``max_iter`` epochs (one epoch when incremental)."""
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    X_train, T_train, sw_train, val = _split(est, X, T, sw)
    n_train = X_train.shape[0]
    batch_size = batch_size_for(est.batch_size, n_train)
    if sw_train is not None and not (sw_train > 0).all():
        # zero-weight samples change nothing but the batch boundaries; dropping
        # them keeps every batch's weight positive
        keep = sw_train > 0
        X_train, T_train, sw_train = X_train[keep], T_train[keep], sw_train[keep]
    if incremental and est._trainer is not None:
        trainer = est._trainer
        trainer.batch_size = batch_size
    else:
        trainer = Trainer(
            est.model_,
            est._loss,
            make_optimizer(est),
            batch_size=batch_size,
            shuffle=est.shuffle,
            callbacks=[SklearnRules(est), *(est.callbacks or [])],
        )
        est._trainer = trainer
    trainer.rng = SklearnShuffle(est._random_state)
    rules = next(cb for cb in trainer.callbacks if isinstance(cb, SklearnRules))
    rules.start(n_train, sw_train, val)
    est.n_iter_ = 0
    epochs = trainer.epoch + (1 if incremental else est.max_iter)
    try:
        trainer.fit(X_train, T_train, epochs, sample_weight=sw_train)
    except DivergedError as err:
        rules.diverged(trainer, err)
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.", stacklevel=2)
    finally:
        rules.finish()
    if not incremental and not rules.stopped and est.n_iter_ == est.max_iter:
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the "
            "optimization hasn't converged yet.",
            ConvergenceWarning,
            stacklevel=3,
        )
    if rules.restore:
        for p, best in zip(est.model_.parameters(), est._best_params, strict=True):
            p.value[...] = best


def _split(est: Any, X: np.ndarray, T: np.ndarray, sw: np.ndarray | None) -> tuple:
    """The training part and, with early stopping, the validation part (scikit-learn's split)."""
    if not est.early_stopping:
        return X, T, sw, None
    stratify = T.astype(bool) if est._is_classifier and est.n_outputs_ == 1 else None
    arrays = (X, T) if sw is None else (X, T, sw)
    parts = train_test_split(
        *arrays,
        random_state=est._random_state,
        test_size=est.validation_fraction,
        stratify=stratify,
    )
    X_train, X_val, T_train, T_val = parts[:4]
    sw_train, sw_val = (None, None) if sw is None else parts[4:]
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
    """

    def __init__(self, random_state: np.random.RandomState, order: Any = None) -> None:
        super().__init__(np.random.PCG64(0))
        self.random_state, self.order = random_state, order

    def permutation(self, n: Any) -> np.ndarray:  # type: ignore[override]
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
