"""Evaluating a network: its outputs in evaluation mode, the metrics from them, `Monitor`.

`predict_raw` and `evaluate` are the one way bprop scores a model: the
Trainer's ``predict_raw`` / ``evaluate`` (and so its validation metrics),
``bprop eval``, ``bprop predict``, the run summary and the estimators'
predictions all call them. A prediction leaves no trace in the layers
(`no_trace`): the activations a forward pass caches for backward would
otherwise hold megabytes after predicting on a large X, and travel in
pickles. `Monitor` tracks the best value of one logged metric, for early
stopping and `ReduceOnPlateau`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .validation import check_nonnegative

CHUNK = 4096  # rows per forward pass: bounds the activations' memory on large X


@contextlib.contextmanager
def no_trace(*objects: Any) -> Iterator[None]:
    """Put back every attribute the objects (a model, a loss) set while inside the block.

    A forward pass caches what backward needs (``self._x`` ...). Restoring
    the attribute dict of each object, and of every layer inside a stack (its
    ``layers``, recursively), leaves no trace of the block but the values
    changed in place (a shallow copy: Parameters and buffers are the same
    objects).

    Parameters
    ----------
    *objects : object
        Layers, models (stacks are opened) and losses.

    Yields
    ------
    None
    """
    saved = []
    stack = list(objects)
    while stack:  # the model's tree, containers included (a user's may cache too)
        obj = stack.pop()
        saved.append((obj, dict(vars(obj))))
        stack.extend(getattr(obj, "layers", None) or [])
    try:
        yield
    finally:
        for obj, attrs in saved:
            vars(obj).clear()
            vars(obj).update(attrs)


def predict_raw(
    model: Any, X: Any, chunk: int = CHUNK, *, keep_caches: bool = False
) -> np.ndarray:
    """The network's outputs in evaluation mode, ``chunk`` rows at a time.

    Parameters
    ----------
    model : Layer
        Left in evaluation mode (``model.eval()``).
    X : ndarray or sparse matrix, shape (N, D)
        A dense array is cast to the dtype of the model's parameters first.
    chunk : int, default=4096
        Rows per forward pass (bounds the memory of the activations).
    keep_caches : bool, default=False
        Keep what the last chunk's forward pass cached in the layers (for a
        ``backward`` after it); by default the layers are left as they were.

    Returns
    -------
    ndarray, shape (N, K)
        The last layer's output (scores or logits, not probabilities); shape
        ``(0, 0)`` for empty X.

    Raises
    ------
    ValueError
        If ``chunk`` is not a positive integer.
    """
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    model.eval()
    params = model.parameters()
    dtype = params[0].value.dtype if params else np.dtype(np.float64)
    if isinstance(X, np.ndarray):
        X = X.astype(dtype, copy=False)
    trace = contextlib.nullcontext() if keep_caches else no_trace(model)
    with trace:
        out = [model.forward(X[i : i + chunk]) for i in range(0, X.shape[0], chunk)]
    if len(out) == 1 and not (isinstance(X, np.ndarray) and np.may_share_memory(out[0], X)):
        return out[0]  # one chunk: the output is fresh, no copy needed
    return np.concatenate(out) if out else np.empty((0, 0), dtype=dtype)


def evaluate(
    model: Any,
    loss: Any,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    *,
    decode: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, float]:
    """The loss of ``model`` on ``(X, y)``, and accuracy or regression errors.

    Parameters
    ----------
    model : Layer
    loss : Loss
        Gives the loss value (without regularisation) and, for a
        classification loss, the accuracy.
    X : ndarray or sparse matrix, shape (N, D)
    y : ndarray, shape (N,) or (N, K)
        Class indices, or targets as the network was trained on them.
    sample_weight : ndarray, shape (N,), optional
        Weights of the loss (the accuracy is unweighted).
    decode : callable, optional
        Maps outputs and targets, shape (N, K), back to the targets' units
        (undoing a standardization); when given, a regression loss also
        reports ``rmse`` and ``r2`` in those units.

    Returns
    -------
    dict of str to float
        ``loss``; ``accuracy`` (in [0, 1]) for classification; ``rmse`` and
        ``r2`` for regression with ``decode``.
    """
    out = predict_raw(model, X)
    result = {"loss": float(loss.forward(out, y, sample_weight))}
    acc = loss.accuracy(out, y)
    if acc is not None:
        result["accuracy"] = float(acc)
    elif decode is not None:
        # the loss's own prediction: a Poisson model's rate exp(z), not its log-rate z
        pred = decode(np.asarray(loss.predict(out), dtype=np.float64))
        true = decode(np.asarray(y, dtype=np.float64).reshape(pred.shape))
        resid = ((true - pred) ** 2).sum()
        total = ((true - true.mean(axis=0)) ** 2).sum()
        result["rmse"] = float(np.sqrt(resid / true.size))
        result["r2"] = float(1 - resid / total) if total > 0 else float("nan")
    return result


class Monitor:
    """Tracks the best value of one logged metric ("loss", "val_loss", "val_accuracy", ...).

    Parameters
    ----------
    monitor : str
        The key of the epoch logs to watch.
    mode : {"auto", "min", "max"}, default="auto"
        ``"auto"`` minimises losses and maximises accuracies and scores.
    min_delta : float, default=0.0
        The smallest change that counts as an improvement (>= 0).

    Raises
    ------
    ValueError
        For an unknown ``mode`` or a negative ``min_delta``.
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
        """The monitored value in ``logs``.

        Parameters
        ----------
        logs : dict of str to float
            One epoch's logs.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            If ``logs`` does not hold it (naming the keys that are there).
        """
        if self.monitor not in logs:
            raise ValueError(
                f"cannot monitor {self.monitor!r}: the epoch logs hold {sorted(logs)} "
                "(val_* metrics need validation data)"
            )
        return float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        """Whether ``value`` beats the best by more than ``min_delta``; if so, it is the new best.

        Parameters
        ----------
        value : float
            NaN never improves.

        Returns
        -------
        bool
        """
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
