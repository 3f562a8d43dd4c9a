"""Library contenders: bprop's Trainer and MLPClassifier, scikit-learn, PyTorch.

Each is imported only inside the worker process that measures it, so one
library's import cost (torch: ~190 MB) never lands in another's memory figures.
``train(epochs, after_epoch)`` times epochs one by one; ``fit(epochs)`` is one
whole call as a user makes it (model construction included), timed as a whole.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import os
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .workload import LR, MOMENTUM, SEED, SIZES, WEIGHT_DECAY


class BpropTrainer:
    """``bprop.train.Trainer`` on ``Sequential(Linear, ReLU, Linear, ReLU, Linear)``,
    with the fused engine (``engine="fused"``: the run fails if it cannot be used)."""

    package = "bprop"
    engine: str | None = "fused"

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        self.X, self.y, self.batch_size = X, y, batch_size

    def build(self):
        pkg = self.package
        Linear, ReLU, Sequential = (
            getattr(importlib.import_module(f"{pkg}.layers"), n)
            for n in ("Linear", "ReLU", "Sequential")
        )
        SoftmaxNLL = importlib.import_module(f"{pkg}.losses").SoftmaxNLL
        SGD = importlib.import_module(f"{pkg}.optim").SGD
        Trainer = importlib.import_module(f"{pkg}.train").Trainer
        dt, rng = self.X.dtype, np.random.default_rng(SEED)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
            layers += [Linear(n_in, n_out, dtype=dt, rng=rng)] + ([ReLU()] if i < 2 else [])
        model = Sequential(*layers)
        optimizer = SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
        engine = {} if self.engine is None else {"engine": self.engine}
        return Trainer(model, SoftmaxNLL(), optimizer, batch_size=self.batch_size, rng=SEED,
                       **engine)

    def train(self, epochs: int, after_epoch: Callable[[float], None]) -> None:
        Callback = importlib.import_module(f"{self.package}.callbacks").Callback

        class AfterEpoch(Callback):
            def on_epoch_end(self, trainer, epoch, logs):
                after_epoch(logs["loss"])

        trainer = self.build()
        trainer.callbacks.append(AfterEpoch())
        trainer.fit(self.X, self.y, epochs)

    def fit(self, epochs: int) -> None:
        self.build().fit(self.X, self.y, epochs)


class BpropReference(BpropTrainer):
    """The same Trainer on the reference core (``engine="reference"``): what students read."""

    engine = "reference"


class BpropBaseline(BpropTrainer):
    """The same, with another copy of bprop loaded as ``bprop_baseline`` (`load_baseline`),
    with its default engine (older copies have no ``engine=``)."""

    package = "bprop_baseline"
    engine = None


def load_baseline(folder: str) -> None:
    """Import ``folder/bprop`` as the package ``bprop_baseline`` (its imports are relative)."""
    if "bprop_baseline" in sys.modules:
        return
    init = Path(folder) / "bprop" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        "bprop_baseline", init, submodule_search_locations=[str(init.parent)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["bprop_baseline"] = module
    spec.loader.exec_module(module)


def mlp_params(batch_size: int, max_iter: int) -> dict:
    """The same run in scikit-learn's MLPClassifier parameters.

    scikit-learn adds ``alpha * W`` to the gradient summed over the batch and
    then divides by the batch size, so its per-step decay is
    ``alpha / batch_size``: ``alpha = 1e-4 * batch_size`` matches the others.
    ``tol=0`` and ``n_iter_no_change > max_iter`` make it train every epoch.
    """
    return dict(
        hidden_layer_sizes=SIZES[1:-1], activation="relu", solver="sgd",
        learning_rate="constant", learning_rate_init=LR, momentum=MOMENTUM,
        nesterovs_momentum=False, alpha=WEIGHT_DECAY * batch_size, batch_size=batch_size,
        shuffle=True, random_state=SEED, early_stopping=False, tol=0.0,
        n_iter_no_change=max_iter + 1, max_iter=max_iter,
    )


class Estimator:
    """An sklearn-style MLPClassifier, timed epoch by epoch inside one ``fit`` call.

    With ``verbose=True`` both scikit-learn and bprop print ``Iteration k, loss
    = ...`` at the end of every epoch; `EpochSignal` turns that line into the
    ``after_epoch`` call, so the epochs of a plain ``fit`` are timed (the first
    one includes the validation and set-up that ``fit`` does once).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        self.X, self.y, self.batch_size = X, y, batch_size

    def estimator_class(self):
        raise NotImplementedError

    def train(self, epochs: int, after_epoch: Callable[[float], None]) -> None:
        est = self.estimator_class()(**mlp_params(self.batch_size, epochs), verbose=True)
        with warnings.catch_warnings(), EpochSignal.listen(after_epoch):
            warnings.simplefilter("ignore")  # ConvergenceWarning: fixed epochs on purpose
            est.fit(self.X, self.y)

    def fit(self, epochs: int) -> None:
        est = self.estimator_class()(**mlp_params(self.batch_size, epochs))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(self.X, self.y)


class EpochSignal(io.TextIOBase):
    """A stdout that turns ``Iteration k, loss = x`` lines into ``after_epoch(loss)``.

    Calls go to the callback of the thread that printed the line: in lockstep
    runs several estimators train in turn, each in its own thread.
    """

    listeners: dict[int, Callable[[float], None]] = {}
    original = None

    def write(self, text: str) -> int:
        after_epoch = self.listeners.get(threading.get_ident())
        for line in text.splitlines():
            if after_epoch and line.startswith("Iteration ") and "loss = " in line:
                after_epoch(float(line.rsplit("=", 1)[1]))
        return len(text)

    @classmethod
    @contextlib.contextmanager
    def listen(cls, after_epoch: Callable[[float], None]):
        if not cls.listeners:
            cls.original, sys.stdout = sys.stdout, cls()
        cls.listeners[threading.get_ident()] = after_epoch
        try:
            yield
        finally:
            del cls.listeners[threading.get_ident()]
            if not cls.listeners:
                sys.stdout = cls.original


class BpropMLP(Estimator):
    def estimator_class(self):
        from bprop.estimators import MLPClassifier

        return MLPClassifier


class SklearnMLP(Estimator):
    def estimator_class(self):
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier


class Torch:
    """PyTorch CPU: nn.Sequential, cross_entropy, torch.optim.SGD (same update rule)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        import torch

        self.torch = torch
        threads = int(os.environ.get("BPROP_BENCH_THREADS", "0")) or os.cpu_count()
        torch.set_num_threads(threads)  # MKL is static: threadpoolctl cannot see it
        torch.manual_seed(SEED)
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y)  # no copies
        self.batch_size = batch_size
        nn, dt = torch.nn, getattr(torch, X.dtype.name)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
            layers += [nn.Linear(n_in, n_out, dtype=dt)] + ([nn.ReLU()] if i < 2 else [])
        self.model = nn.Sequential(*layers)
        # torch decays biases too when given weight_decay; decay the weights only.
        self.opt = torch.optim.SGD(
            [
                {"params": [m.weight for m in self.model if hasattr(m, "weight")],
                 "weight_decay": WEIGHT_DECAY},
                {"params": [m.bias for m in self.model if hasattr(m, "bias")]},
            ],
            lr=LR, momentum=MOMENTUM,
        )

    def epoch(self) -> float:
        torch, n, bs = self.torch, self.X.shape[0], self.batch_size
        order, total = torch.randperm(n), 0.0
        for start in range(0, n, bs):
            idx = order[start : start + bs]
            loss = torch.nn.functional.cross_entropy(self.model(self.X[idx]), self.y[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            total += loss.item() * len(idx)
        return total / n

    def train(self, epochs: int, after_epoch: Callable[[float], None]) -> None:
        for _ in range(epochs):
            after_epoch(self.epoch())
