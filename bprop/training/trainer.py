"""The one training loop: minibatch SGD over epochs, with history and callbacks.

Both `bprop.estimators` and the ``bprop train`` command line call `Trainer`.
One step on a minibatch ``(x, t)`` is the lecture's recipe::

    y  = model.forward(x)            # fprop, each layer caching what it needs
    L  = loss.forward(y, t)
    dy = loss.backward()             # dL/dy
    model.backward_params(dy)        # bprop in reverse order; sets every .grad
    optimizer.step()                 # W -= lr * ... for every Parameter

That is `ReferenceStep`. The fused engine (`bprop.fused.FusedStep`) computes
the same step over packed buffers; ``Trainer(engine=...)`` chooses, and
between steps that a callback can observe both leave the same state in the
model's Parameters and the optimizer.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.sparse import issparse

from .. import fused
from ..init import as_rng
from ..layers.base import Layer, layer_rngs, leaf_layers
from ..layers.linear import Linear
from ..losses.base import Loss
from ..metrics import CHUNK, evaluate, predict_raw
from ..optim.base import Optimizer
from ..optim.schedules import Schedule
from ..validation import all_finite, check_data, check_int
from .callbacks import Callback, ProgressBar, ScheduleCallback
from .checkpoints import dump_rng_state, load_rng_state
from .history import History, Record


class DivergedError(RuntimeError):
    """The loss became NaN or infinite during training."""


ENGINES = ("auto", "reference", "fused")


class ReferenceStep:
    """The lecture's training step on the reference core, in two halves.

    ``forward(idx, sw)`` gathers the batch ``X[idx]``, runs the model and the
    loss and returns the loss; ``backward()`` backpropagates and steps the
    optimizer. The Trainer checks the loss in between (a NaN must not reach
    the weights).

    Parameters
    ----------
    model : Layer
    loss : Loss
    optimizer : Optimizer
        Built on ``model.parameters()``.
    X : ndarray, CSR matrix or RowSource, shape (N, ...)
        The training inputs, already checked and cast (`Trainer.check_data`).
    y : ndarray, shape (N,) or (N, K)
        The targets, as ``loss`` takes them.
    batch_size : int
        The largest minibatch; sizes the reused batch buffer.
    """

    def __init__(self, model: Layer, loss: Loss, optimizer: Optimizer, X: np.ndarray,
                 y: np.ndarray, batch_size: int) -> None:
        self.model, self.loss, self.optimizer, self.X, self.y = model, loss, optimizer, X, y
        # one buffer reused by every batch (the model's inputs are never modified)
        self.batch = (np.empty((min(batch_size, X.shape[0]), *X.shape[1:]), dtype=X.dtype)
                      if isinstance(X, np.ndarray) else None)
        self.out: np.ndarray | None = None

    def forward(self, idx: np.ndarray, sw: np.ndarray | None) -> float:
        """The loss on the samples ``X[idx]``, caching what `backward` needs.

        Parameters
        ----------
        idx : ndarray of int, shape (B,)
            The minibatch's rows of X, ``B <= batch_size``.
        sw : ndarray, shape (B,), or None
            Their sample weights.

        Returns
        -------
        float
            The batch's (weighted) mean loss, in the loss's units, before
            the step; the outputs stay in ``self.out``, shape (B, K).
        """
        if self.batch is None:  # sparse (CSR rows, still sparse) or a RowSource (a memory map)
            x = self.X[idx]
        else:  # mode="clip" skips numpy's extra bounds-checked copy (idx is a permutation)
            x = np.take(self.X, idx, axis=0, out=self.batch[: len(idx)], mode="clip")
        self.out = self.model.forward(x)  # the batch's outputs, for the training accuracy
        return self.loss.forward(self.out, self.y[idx], sw)

    def backward(self) -> None:
        """Set every ``.grad`` (bprop) and step the optimizer."""
        self.model.backward_params(self.loss.backward())
        self.optimizer.step()

    def decayed_sq_norm(self) -> float:
        """``sum(||p||^2)`` over the weight-decayed parameters, as they are now.

        Returns
        -------
        float
            The squared L2 norm over every ``p`` with ``p.decay`` (weights,
            not biases), in squared weight units.
        """
        params = self.model.parameters()
        return sum(float(np.vdot(p.value, p.value)) for p in params if p.decay)

    def load(self, state: bool = True) -> None:
        """Nothing to copy: the reference works on the Parameters themselves.

        The same signature as `bprop.fused.FusedStep.load`, which copies the
        Parameters (and the optimizer's state) into its flat buffers.

        Parameters
        ----------
        state : bool, default=True
            Ignored.
        """

    def store(self, parameters: bool = True, state: bool = True) -> None:
        """Nothing to copy: the reference works on the Parameters themselves.

        The same signature as `bprop.fused.FusedStep.store`, which copies
        its flat buffers back.

        Parameters
        ----------
        parameters, state : bool, default=True
            Ignored.
        """


class Trainer:
    """Trains ``model`` on ``loss`` with ``optimizer`` in shuffled minibatches.

    Parameters
    ----------
    model : Layer
        Usually a `bprop.layers.Sequential`.
    loss : Loss
    optimizer : Optimizer
        Built on ``model.parameters()``.
    batch_size : int, default=32
        Samples per step; the last batch of an epoch may be smaller.
    drop_last : bool, default=False
        Leave out each epoch's last batch when it is smaller than
        ``batch_size`` (as PyTorch's ``DataLoader(drop_last=True)``; the
        samples left out change from epoch to epoch when shuffling).
    shuffle : bool, default=True
        Draw a new permutation of the samples every epoch.
    rng : int, numpy Generator or None
        Seed or generator for the shuffling.
    callbacks : sequence of Callback
        Early stopping, schedules, checkpoints, ...
    progress : bool, default=False
        Show a progress bar (drawn only when stdout is a terminal).
    engine : {"auto", "reference", "fused"}, default="auto"
        Which training step runs: "reference" the layers', loss's and
        optimizer's own methods; "fused" the compiled step of `bprop.fused`
        (the same results up to rounding, faster); "auto" the fused one when
        it supports every layer, the loss, the optimizer and the data, else
        the reference one. Nothing a callback or the user can observe
        between steps differs: with the fused engine the Parameters and the
        optimizer's state are copied back at every epoch's end, and the
        Parameters around every step when a callback overrides
        ``on_batch_begin`` or ``on_batch_end`` (the per-epoch `batch_log`
        serves most needs without that cost).
    l2 : float, default=0.0
        scikit-learn's L2 penalty (its MLPs' ``alpha``), counted once per
        batch against the batch's *summed* loss: each step minimizes
        ``(sum_i w_i l_i + 0.5 * l2 * ||W||^2) / sum_i w_i`` over the
        weight-decayed parameters W (``sum_i w_i`` is the batch size without
        sample weights). It sets the optimizer's ``weight_decay`` to
        ``l2 / sum_i w_i`` before each step, and the logged loss includes the
        penalty. 0 leaves the optimizer's ``weight_decay`` alone.
    record_batches : bool, default=False
        Keep every minibatch's loss in `batch_history`.

    Notes
    -----
    The epoch logs (`History`, ``history.csv``) hold, besides ``epoch``,
    ``lr`` and ``seconds``:

    - ``loss``: the data loss, the mean over the epoch's minibatches of each
      minibatch's loss before its step, weighted by the minibatches' sample
      counts (or sample-weight sums); no regularization term (with ``l2``,
      scikit-learn's per-batch penalty is included, as in its ``loss_``);
    - ``l2`` (for an optimizer with a ``weight_decay``): the L2 term
      ``0.5 * weight_decay * sum ||W||^2`` over the parameters with
      ``p.decay``, at the end of the epoch. For `AdamW` the same number: its
      decoupled step ``W -= lr * wd * W`` is a plain gradient step on this
      term (outside Adam's scaling), so AdamW does not minimize
      ``loss + l2`` exactly, but the term is what its decay pulls down;
    - ``objective = loss + l2``, what SGD, Adam, RMSProp and AdaGrad with
      ``weight_decay`` minimize;
    - ``accuracy`` (classification losses): the training accuracy, weighted by
      ``sample_weight``, computed from the outputs each training step already
      computed (both engines), so at no extra forward pass. As Keras' training
      accuracy, it is measured while the weights change during the epoch, in
      training mode (Dropout on): compare it with ``val_accuracy`` knowing so;
    - ``val_loss``, ``val_accuracy`` with validation data;
    - any number a callback adds to ``logs`` in its ``on_epoch_end``: the
      history holds the logs dict itself, so the column appears in
      ``history[key]`` and in a run's ``history.csv``.

    Raises
    ------
    ValueError
        For a bad part or argument; with ``engine="fused"``, naming the part
        the fused engine does not support.

    Attributes
    ----------
    epoch : int
        Epochs completed so far; ``fit`` continues from here.
    history : History
    stop_training : bool
        Set by a callback to stop after the current epoch.
    batch_indices : ndarray or None
        Which samples (rows of X) the current minibatch holds, for callbacks
        that need more than its size (per-batch sample-weight sums, ...).
    engine_used : {"reference", "fused"} or None
        Which step the last ``fit`` ran (None before the first).
    batch_log : dict of str to list of float
        The current (or last) epoch, one entry per step: ``"rows"`` (samples
        in the batch), ``"weight"`` (their weight sum), ``"loss"`` (the
        batch's mean loss, without the penalty) and ``"l2"`` (the penalty
        ``0.5 * l2 * ||W||^2 / weight`` with W before the step; 0 without
        ``l2``). Filled at no copying cost under either engine, for
        callbacks that need per-batch numbers at the epoch's end.
    batch_history : list of dict
        With ``record_batches=True``: one ``{"epoch", "batch", "loss",
        "samples"}`` record per minibatch step (epoch and batch counted from
        1; ``samples`` its sample count or weight sum). Not kept in
        checkpoints.
    """

    def __init__(
        self,
        model: Layer,
        loss: Loss,
        optimizer: Optimizer,
        *,
        batch_size: int = 32,
        shuffle: bool = True,
        rng: int | np.random.Generator | None = None,
        callbacks: Sequence[Callback] = (),
        progress: bool = False,
        engine: str = "auto",
        l2: float = 0.0,
        drop_last: bool = False,
        record_batches: bool = False,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
        if not isinstance(model, Layer):
            raise ValueError(f"model must be a bprop Layer, got {type(model).__name__}")
        if not isinstance(loss, Loss):
            raise ValueError(f"loss must be a bprop Loss, got {type(loss).__name__}")
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"optimizer must be a bprop Optimizer, got {type(optimizer).__name__}")
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.batch_size = check_int("batch_size", batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.record_batches = bool(record_batches)
        self.rng = as_rng(rng)
        self.callbacks = [
            ScheduleCallback(cb) if isinstance(cb, Schedule) else cb for cb in callbacks
        ] + ([ProgressBar()] if progress else [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise ValueError(
                    f"callbacks must be bprop Callbacks or Schedules, got {type(cb).__name__}"
                )
        self.epoch = 0
        self.target_epochs = 0
        self.history = History()
        self.batch_history: list[dict[str, float]] = []
        self.stop_training = False
        self.batch_indices: np.ndarray | None = None
        self._accuracy: float | None = None
        self.engine = engine
        self.engine_used: str | None = None
        self.l2 = float(l2)
        if not (math.isfinite(self.l2) and self.l2 >= 0):
            raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
        self.batch_log: dict[str, list[float]] = {"rows": [], "weight": [], "loss": [], "l2": []}
        self._step: ReferenceStep | fused.FusedStep | fused.SparseStep | None = None
        if engine == "fused":
            self._fused_reason(None)

    def _fused_reason(self, X: Any) -> str | None:
        """Why the fused engine cannot run (None: it can); an error with engine="fused"."""
        reason = fused.unsupported(self.model, self.loss, self.optimizer, X)
        readers = [type(cb).__name__ for cb in self.callbacks if cb.reads_gradients]
        if reason is None and readers:
            reason = f"callback {readers[0]} reads Parameter.grad (the fused engine never fills it)"
        if reason is not None and self.engine == "fused":
            raise ValueError(f"engine='fused': {reason}; use engine='auto' or 'reference'")
        return reason

    def _runner(self, X: Any, y: Any) -> ReferenceStep | fused.FusedStep | fused.SparseStep:
        """The training step for this ``fit``: fused when chosen and supported."""
        if self.engine != "reference" and self._fused_reason(X) is None:
            self.engine_used = "fused"
            step = fused.SparseStep if issparse(X) else fused.FusedStep
            return step(self.model, self.loss, self.optimizer, X, y, self.batch_size)
        self.engine_used = "reference"
        return ReferenceStep(self.model, self.loss, self.optimizer, X, y, self.batch_size)

    def __getstate__(self) -> dict[str, Any]:
        # a step compiled for one fit holds raw buffer addresses: never copied along
        return {**vars(self), "_step": None}

    @property
    def dtype(self) -> np.dtype:
        """The model's float dtype (its first Parameter's; float64 without any)."""
        params = self.model.parameters()
        return params[0].value.dtype if params else np.dtype(np.float64)

    def fit(
        self,
        X: Any,
        y: Any,
        epochs: int,
        *,
        sample_weight: Any = None,
        validation_data: tuple[Any, Any] | None = None,
    ) -> History:
        """Train until ``epochs`` epochs are complete in all (or a callback stops it).

        Continues from ``self.epoch``: a second ``fit(X, y, epochs=self.epoch + 1)``
        trains one more epoch with the optimizer's state intact.

        Parameters
        ----------
        X : array-like, scipy.sparse matrix or RowSource, shape (N, D) or (N, ...)
            Training inputs; cast once to the model's dtype (a sparse X stays
            sparse).
        y : array-like, shape (N,) or (N, K)
            Targets, as the loss takes them (class indices, 0/1 labels or
            values).
        epochs : int
            The total number of epochs to reach, counting those already
            trained (``self.epoch``); ``>= 0``.
        sample_weight : array-like, shape (N,), optional
            Non-negative per-sample weights of the loss.
        validation_data : (X_val, y_val), optional
            Evaluated at every epoch's end into ``val_loss`` (and
            ``val_accuracy`` for a classification loss).

        Returns
        -------
        History
            ``self.history``, one record per epoch trained so far (the
            columns are listed in the class's Notes).

        Raises
        ------
        ValueError
            For invalid data, ``epochs``, batches a layer cannot train on
            (`check_batches`), or sparse X into a first layer that is not a
            Linear (`check_sparse_input`); with ``engine="fused"``, for a part
            the fused engine does not support. All before the first step.
        DivergedError
            When the loss becomes NaN or inf (names the epoch and batch).
        """
        check_int("epochs", epochs, minimum=0)
        X, y, sample_weight = self.check_data(X, y, sample_weight)
        if validation_data is not None:
            validation_data = self.check_data(*validation_data, None, name="validation data")[:2]
        self.check_batches(X.shape[0])
        if self.engine != "fused":  # engine="fused" says it itself, naming the engine
            check_sparse_input(self.model, X)
        if 0 < epochs <= self.epoch:  # epochs counts the total, as Keras' with initial_epoch
            warnings.warn(
                f"Trainer.fit trained nothing: the run already has {self.epoch} epochs and "
                f"epochs={epochs} is the total to reach, not a number to add; pass "
                f"epochs={self.epoch + 1} or more to train longer",
                UserWarning, stacklevel=2)
        self.target_epochs, self.stop_training = int(epochs), False
        self._step = self._runner(X, y)
        self._call("on_train_begin")
        try:
            while self.epoch < self.target_epochs and not self.stop_training:
                self._call("on_epoch_begin", self.epoch)
                lr, start = self.optimizer.lr, time.perf_counter()
                logs = Record(epoch=self.epoch + 1, lr=lr)
                logs["loss"] = self.run_epoch(X, y, sample_weight)
                _check_finite_state(self)  # a finite loss can hide overflowing gradients
                l2 = self.l2_term()
                if l2 is not None:
                    logs["l2"], logs["objective"] = l2, logs["loss"] + l2
                if self._accuracy is not None:
                    logs["accuracy"] = self._accuracy
                if validation_data is not None:
                    val = self.evaluate(*validation_data)
                    logs.update({f"val_{k}": v for k, v in val.items()})
                logs["seconds"] = time.perf_counter() - start
                self.epoch += 1
                # the history keeps logs itself: a key a callback adds below is recorded too
                self.history.append(logs)
                self._call("on_epoch_end", self.epoch - 1, logs)
        finally:
            self._step = None
            self._call("on_train_end")
        return self.history

    def run_epoch(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        """One pass over the data in minibatches; returns the mean training loss.

        Expects data already checked by `check_data` (as `fit` does); outside
        ``fit`` it runs the reference step. For a classification loss the
        epoch's training accuracy (weighted as the loss) is left in
        ``self._accuracy`` (None otherwise).

        Parameters
        ----------
        X : ndarray, CSR matrix or RowSource, shape (N, ...)
            Checked training inputs in the model's dtype.
        y : ndarray, shape (N,) or (N, K)
            Checked targets.
        sample_weight : ndarray, shape (N,), optional
            Checked weights; a minibatch whose weights sum to 0 is skipped
            (no step).

        Returns
        -------
        float
            The mean of the minibatches' losses before their steps, weighted
            by their sample counts (or weight sums), with the ``l2`` penalty
            when set; nan when no minibatch had a positive weight.

        Raises
        ------
        DivergedError
            When a minibatch's loss is NaN or infinite (before its step, so
            the weights stay finite).
        """
        step = self._step or ReferenceStep(
            self.model, self.loss, self.optimizer, X, y, self.batch_size
        )
        # with the fused engine, a callback that looks at every batch sees current values
        per_batch = any(_overrides(cb, "on_batch_begin") or _overrides(cb, "on_batch_end")
                        for cb in self.callbacks)
        self.model.train()
        n, bs = X.shape[0], self.batch_size
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        total, weight_total = 0.0, 0.0
        log = self.batch_log = {"rows": [], "weight": [], "loss": [], "l2": []}
        # predicted labels, in the epoch's order, for the training accuracy at its end
        labels: np.ndarray | None = None
        if self.drop_last:
            n -= n % bs if n >= bs else 0  # only whole batches (fit refuses n < batch_size)
        step.load()
        stepped = False  # whether the step's own buffers are newer than the Parameters
        try:
            for b, start in enumerate(range(0, n, bs)):
                idx = order[start : start + bs]
                sw = None if sample_weight is None else sample_weight[idx]
                if sw is not None and not sw.sum() > 0:
                    continue  # only zero-weight samples: no loss, no gradient, no step
                self.batch_indices = idx
                if per_batch:  # the Parameters are current (stored after the last step)
                    self._call("on_batch_begin", b, len(idx))
                    step.load(state=False)
                loss = step.forward(idx, sw)
                if not math.isfinite(loss):
                    raise DivergedError(
                        f"the loss became {loss} at epoch {self.epoch + 1}, batch {b + 1}: "
                        f"training diverged. Try a smaller learning rate "
                        f"(lr={self.optimizer.lr:g}), standardized inputs, or "
                        "gradient-checking a custom layer."
                    )
                if self.loss.is_classifier:  # the outputs the step computed, before backward
                    pred = self.loss.predict(step.out[: len(idx)])
                    if labels is None:
                        labels = np.zeros((n, *pred.shape[1:]), dtype=pred.dtype)
                    labels[start : start + len(idx)] = pred
                w = len(idx) if sw is None else float(sw.sum())
                penalty = 0.0
                if self.l2:  # before the step: the penalty of the weights that made the loss
                    self.optimizer.weight_decay = self.l2 / w
                    penalty = 0.5 * self.l2 * step.decayed_sq_norm() / w
                step.backward()
                stepped = True
                total, weight_total = total + (loss + penalty) * w, weight_total + w
                for key, value in zip(log, (len(idx), w, loss, penalty), strict=True):
                    log[key].append(value)
                if self.record_batches:
                    self.batch_history.append({"epoch": self.epoch + 1, "batch": b + 1,
                                               "loss": float(loss), "samples": w})
                if per_batch:
                    step.store(state=False)
                    stepped = False
                    self._call("on_batch_end", b, loss)
        finally:
            step.store(parameters=stepped)
        self._accuracy = None
        if labels is not None and weight_total:
            seen = order[:n]  # skipped zero-weight batches count 0: their weights are 0
            w = None if sample_weight is None else sample_weight[seen]
            self._accuracy = _correct(labels, y[seen], w) / weight_total
        return total / weight_total if weight_total else math.nan

    def l2_term(self) -> float | None:
        """The L2 term ``0.5 * weight_decay * sum ||W||^2`` of the current weights.

        Returns
        -------
        float or None
            Summed over the parameters with ``p.decay`` (weights, not biases);
            None for an optimizer without a ``weight_decay`` (0.0 when it is 0).
        """
        wd = getattr(self.optimizer, "weight_decay", None)
        if wd is None:
            return None
        if not wd:
            return 0.0
        # np.vdot: a sum of squares without a temporary the size of W
        return 0.5 * float(wd) * sum(float(np.vdot(p.value, p.value))
                                     for p in self.model.parameters() if p.decay)

    def check_batches(self, n: int, *, drop_last_option: str = "drop_last=True") -> None:
        """Refuse batches a layer cannot train on, before the first step.

        BatchNorm estimates a variance per batch in training mode and needs
        at least 2 samples (its ``min_batch``): a last batch of 1 would stop
        the run in the middle of an epoch. `fit` calls this; a config checks
        it before making the run directory.

        Parameters
        ----------
        n : int
            The number of training samples.
        drop_last_option : str, default="drop_last=True"
            How the message names the option (a config says
            ``train.drop_last: true``).

        Raises
        ------
        ValueError
            Naming the layer and the batch size, and suggesting another
            ``batch_size`` or ``drop_last=True``; or for ``drop_last=True``
            with fewer samples than one batch.
        """
        if self.drop_last and n < self.batch_size:
            raise ValueError(f"drop_last=True with batch_size={self.batch_size} leaves no batch "
                             f"of the {n} samples; use a batch_size <= {n}")
        need = max((getattr(layer, "min_batch", 1) for layer in leaf_layers(self.model)),
                   default=1)
        if need < 2:
            return
        sizes = [min(self.batch_size, n)]
        if not self.drop_last and n % self.batch_size and n > self.batch_size:
            sizes.append(n % self.batch_size)
        if min(sizes) < need:
            name = next(type(la).__name__ for la in leaf_layers(self.model)
                        if getattr(la, "min_batch", 1) >= 2)
            better = next((b for b in range(self.batch_size + 1, n + 1)
                           if n % b == 0 or n % b >= need), n)
            raise ValueError(
                f"{name} needs at least {need} samples per training batch, but "
                f"batch_size={self.batch_size} on {n} samples leaves a batch of {min(sizes)}; "
                f"choose another batch_size (e.g. {better}), or drop the last, smaller batch "
                f"of each epoch with {drop_last_option}"
            )

    def predict_raw(self, X: Any, chunk: int = CHUNK) -> np.ndarray:
        """The network's outputs in evaluation mode, computed in chunks (`metrics.predict_raw`).

        Parameters
        ----------
        X : array-like, shape (N, D)
            Checked and cast to the model's dtype (`check_data`).
        chunk : int, default=4096
            Rows per forward pass.

        Returns
        -------
        ndarray, shape (N, K)
            The last layer's output (scores or logits); the layers keep no
            caches from it.

        Raises
        ------
        ValueError
            For invalid X (wrong shape, non-finite values) or ``chunk``.
        """
        X = self.check_data(X, None, None)[0]
        return predict_raw(self.model, X, chunk)

    def evaluate(self, X: Any, y: Any, sample_weight: Any = None) -> dict[str, float]:
        """The loss (without regularisation), and the accuracy for classification losses.

        Parameters
        ----------
        X : array-like, shape (N, D)
        y : array-like, shape (N,) or (N, K)
            Targets as the loss takes them.
        sample_weight : array-like, shape (N,), optional
            Weights of the loss.

        Returns
        -------
        dict of str to float
            ``{"loss": ...}``, plus ``"accuracy"`` in [0, 1] for a
            classification loss (`metrics.evaluate`).

        Raises
        ------
        ValueError
            For invalid data or weights.
        """
        X, y, sample_weight = self.check_data(X, y, sample_weight)
        return evaluate(self.model, self.loss, X, y, sample_weight)

    def check_data(
        self, X: Any, y: Any, sample_weight: Any, *, name: str = "X"
    ) -> tuple[np.ndarray, Any, Any]:
        """Validate the data at the boundary and cast X to the model's dtype (once).

        Parameters
        ----------
        X : array-like, scipy.sparse matrix or RowSource, shape (N, ...)
        y : array-like, shape (N,) or (N, K), or None
        sample_weight : array-like, shape (N,), or None
        name : str, default="X"
            What the messages call X ("validation data", ...).

        Returns
        -------
        X : ndarray, CSR matrix or RowSource, shape (N, ...)
            In `dtype`; no copy when it already is.
        y : ndarray or None
            Float targets cast to `dtype`.
        sample_weight : ndarray, shape (N,), or None

        Raises
        ------
        ValueError
            For non-numeric, empty, non-finite or mismatched data
            (`bprop.validation.check_data`).
        """
        return check_data(X, y, sample_weight, self.dtype, name=name)

    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint needs to resume exactly.

        Returns
        -------
        dict
            ``"epoch"`` (int), ``"params"`` (copies of every ``p.value``, in
            ``model.parameters()`` order), ``"buffers"`` (copies, e.g.
            BatchNorm's running statistics), ``"optimizer"`` (its
            ``state_dict``), ``"history"`` (plain records), ``"rng"`` and
            ``"layer_rngs"`` (the shuffling and the layers' generator states)
            and ``"callbacks"`` (each callback's state keyed by class name:
            schedules, early stopping).
        """
        return {
            "epoch": self.epoch,
            "params": [p.value.copy() for p in self.model.parameters()],
            "buffers": {name: b.copy() for name, b in self.model.buffers().items()},
            "optimizer": self.optimizer.state_dict(),
            "history": self.history.plain_records(),
            "rng": dump_rng_state(self.rng),
            "layer_rngs": [dump_rng_state(g) for g in layer_rngs(self.model)],
            "callbacks": {key: cb.state_dict() for key, cb in self._keyed_callbacks()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from a `state_dict`: weights, buffers, optimizer, epoch, history, generators.

        Parameters
        ----------
        state : dict
            What `state_dict` returned (or a checkpoint file holds). Missing
            ``"buffers"``, ``"layer_rngs"`` or ``"callbacks"`` entries, or a
            callback this trainer lacks, are left as they are.

        Raises
        ------
        ValueError
            If the number of parameters, a parameter's shape, the
            optimizer's state or a random generator's state does not match,
            or a parameter holds NaN or infinity.
        KeyError
            If ``state`` lacks ``"params"``, ``"optimizer"``, ``"epoch"``,
            ``"history"`` or ``"rng"``.
        """
        params = self.model.parameters()
        if len(state["params"]) != len(params):
            raise ValueError(
                f"checkpoint holds {len(state['params'])} parameters, the model has {len(params)}"
            )
        for p, value in zip(params, state["params"], strict=True):
            if np.shape(value) != p.value.shape:
                raise ValueError(
                    f"checkpoint parameter {p.name} has shape {np.shape(value)}, "
                    f"the model needs {p.value.shape}"
                )
            if not np.all(np.isfinite(value)):
                raise ValueError(f"checkpoint parameter {p.name} holds NaN or infinite values")
            p.value[...] = value
        for name, b in self.model.buffers().items():  # BatchNorm's running statistics
            if name in state.get("buffers", {}):
                b[...] = state["buffers"][name]
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch = int(state["epoch"])
        self.history = History(state["history"])
        load_rng_state(self.rng, state["rng"])
        for g, s in zip(layer_rngs(self.model), state.get("layer_rngs", []), strict=False):
            load_rng_state(g, s)
        saved_callbacks = state.get("callbacks", {})
        for key, cb in self._keyed_callbacks():
            if key in saved_callbacks:
                cb.load_state_dict(saved_callbacks[key])

    def _keyed_callbacks(self) -> list[tuple[str, Callback]]:
        """Callbacks keyed by class name ("EarlyStopping", "StepDecay:2" for a second
        one), so a resumed trainer may add or drop display-only callbacks."""
        seen: dict[str, int] = {}
        keyed = []
        for cb in self.callbacks:
            name = cb.key if isinstance(cb, ScheduleCallback) else type(cb).__name__
            seen[name] = seen.get(name, 0) + 1
            keyed.append((name if seen[name] == 1 else f"{name}:{seen[name]}", cb))
        return keyed

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)


def _correct(pred: np.ndarray, t: np.ndarray, sw: np.ndarray | None) -> float:
    """How many samples the predicted labels get right (weighted by ``sw``).

    A sample with several binary labels (SigmoidCrossEntropy on (N, K)
    targets) counts the fraction of its labels that are right.
    """
    if pred.ndim == 2:  # one 0/1 prediction per label
        ok = (pred == (np.asarray(t).reshape(pred.shape) > 0.5)).mean(axis=1)
    else:
        ok = pred == np.asarray(t).reshape(-1)
    return float(ok.sum()) if sw is None else float(np.dot(ok, sw))


def check_sparse_input(model: Layer, X: Any) -> None:
    """Refuse a sparse X for a model whose first layer cannot take it, before any step.

    A sparse X reaches the first layer as it is (never densified): a `Linear`
    multiplies it (``X @ W``, ``dW = X.T @ dy``); any other layer would fail
    on the first batch. A layer class of your own that takes scipy.sparse
    input says so with ``takes_sparse = True``.

    Parameters
    ----------
    model : Layer
    X : ndarray, scipy.sparse matrix or RowSource, shape (N, ...)

    Raises
    ------
    ValueError
        For a sparse X and a first layer that is neither a Linear nor marked
        ``takes_sparse``, naming that layer.
    """
    if not issparse(X):
        return
    layers = leaf_layers(model)
    first = layers[0] if layers else None
    if not (isinstance(first, Linear) or getattr(first, "takes_sparse", False)):
        name = type(first).__name__ if first is not None else "no layer"
        raise ValueError(f"only Linear takes sparse input (it reaches the first layer as it "
                         f"is), but the model starts with {name}: put a Linear first, or "
                         "densify X if it fits in memory")


def _check_finite_state(trainer: Trainer) -> None:
    """Raise `DivergedError` if a weight or the optimizer's state became NaN or inf.

    Gradients too large to square (inputs near 1e300) overflow Adam's second
    moment to inf while the loss stays finite: the weights then freeze, and
    the run would end "successfully" at chance. Checked once per epoch.
    """
    opt = trainer.optimizer
    arrays = [("weights", p.value) for p in trainer.model.parameters()]
    arrays += [(f"optimizer state {name!r}", b) for name, bs in opt._buffers().items() for b in bs]
    bad = next((name for name, a in arrays if not all_finite(a)), None)  # no W-sized mask
    if bad is not None:
        raise DivergedError(
            f"the {bad} became NaN or inf at epoch {trainer.epoch + 1} while the loss stayed "
            f"finite: the gradients overflow. Standardize the inputs or try a smaller "
            f"learning rate (lr={opt.lr:g})."
        )


def _overrides(callback: Callback, hook: str) -> bool:
    """Whether ``callback`` does something in ``hook`` (its class overrides the no-op)."""
    return getattr(type(callback), hook) is not getattr(Callback, hook)


def fit(
    model: Layer,
    loss: Loss,
    optimizer: Optimizer,
    X: Any,
    y: Any,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    shuffle: bool = True,
    rng: int | np.random.Generator | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    sample_weight: Any = None,
    validation_data: tuple[Any, Any] | None = None,
    engine: str = "auto",
) -> History:
    """Train ``model`` in one call: ``Trainer(...).fit(X, y, epochs)``.

    Parameters
    ----------
    model, loss, optimizer
        As `Trainer` takes them.
    X : array-like, scipy.sparse matrix or RowSource, shape (N, D) or (N, ...)
    y : array-like, shape (N,) or (N, K)
    epochs : int, default=10
    batch_size, shuffle, rng, callbacks, progress, engine
        As `Trainer` takes them.
    sample_weight : array-like, shape (N,), optional
    validation_data : (X_val, y_val), optional
        See `Trainer.fit`.

    Returns
    -------
    History
        One record per epoch trained.

    Raises
    ------
    ValueError
        For a bad part, argument or data (see `Trainer` and `Trainer.fit`).
    DivergedError
        When the loss becomes NaN or inf.

    Examples
    --------
    >>> from bprop.layers import Linear, Sequential, Tanh
    >>> from bprop.losses import SquaredError
    >>> from bprop.optim import SGD
    >>> X = np.linspace(-1, 1, 40).reshape(-1, 1); y = X ** 2
    >>> net = Sequential(Linear(1, 8, rng=0), Tanh(), Linear(8, 1, rng=1))
    >>> history = fit(net, SquaredError(), SGD(net.parameters(), lr=0.1), X, y, epochs=5, rng=0)
    >>> len(history)
    5
    """
    trainer = Trainer(model, loss, optimizer, batch_size=batch_size, shuffle=shuffle, rng=rng,
                      callbacks=callbacks, progress=progress, engine=engine)
    return trainer.fit(X, y, epochs, sample_weight=sample_weight, validation_data=validation_data)
