"""From a resolved config to live objects: data, model, loss, optimizer, trainer.

`prepare` does all of it and checks that the pieces fit (the loss suits the
data's task, the last layer's width matches the classes or targets) before a
single step is taken. ``bprop train``, ``eval``, ``gradcheck`` and
``print-config`` share it, so they agree on every detail.

One ``seed`` drives everything: `numpy.random.SeedSequence` spawns independent
streams for data generation, the split, weight initialisation (one per layer)
and the trainer's shuffling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import registry
from ..training.callbacks import Callback, EarlyStopping
from . import data, entries
from .fields import ConfigError
from .loader import check_monitors

__all__ = ["Experiment", "metrics", "prepare"]


@dataclass
class Experiment:
    """Everything a run needs, built from one resolved config."""

    config: dict[str, Any]
    data: data.Dataset
    model: Any
    loss: Any
    optimizer: Any
    trainer: Any
    callbacks: list[Callback]


def _seeds(seed: int) -> list[np.random.SeedSequence]:
    return np.random.SeedSequence(seed).spawn(4)  # data, split, model, trainer


def _int_seed(ss: np.random.SeedSequence) -> int:
    return int(ss.generate_state(1)[0] >> 1)  # sklearn wants < 2**32; >> 1 stays positive


def _name(spec: str | dict[str, Any]) -> str:
    return spec if isinstance(spec, str) else spec["type"]


def resolve_task(cfg: dict[str, Any], raw: data.RawData) -> str:
    """The task the loss implies; fills in ``cfg["loss"]`` when it was left out."""
    name = cfg["data"]["name"]
    if cfg["loss"] is None:
        task = raw.task or data.guess_task(raw)
        cfg["loss"] = "SoftmaxNLL" if task == "classification" else "SquaredError"
        return task
    loss_name = _name(cfg["loss"])
    cls = registry.lookup("loss", loss_name)
    task = "classification" if getattr(cls, "is_classifier", False) else "regression"
    if raw.task and raw.task != task:
        hint = "SquaredError" if raw.task == "regression" else "SoftmaxNLL"
        raise ConfigError("loss", f"{loss_name} is a {task} loss but {name} is a "
                                  f"{raw.task} data set; use loss: {hint}")
    return task


def _check_output(cfg: dict[str, Any], ds: data.Dataset, out_dim: int) -> None:
    name, loss = cfg["data"]["name"], _name(cfg["loss"])
    if loss == "SigmoidCrossEntropy":
        if ds.n_outputs != 2:
            raise ConfigError("loss", f"SigmoidCrossEntropy is for two classes but {name} has "
                                      f"{ds.n_outputs}; use SoftmaxNLL")
        want, what = 1, "1 output (the logit of the second class)"
    elif ds.task == "classification":
        want, what = ds.n_outputs, f"{ds.n_outputs} outputs, one score per class"
    else:
        want, what = ds.n_outputs, f"{ds.n_outputs} output(s), one per target"
    if out_dim != want:
        raise ConfigError("model", f"the network ends with {out_dim} output(s) but {loss} on "
                                   f"{name} needs {what}: set the last Linear's out to {want}")


def prepare(cfg: dict[str, Any], *, progress: bool = False,
            callbacks: list[Callback] = (), dtype: str | None = None) -> Experiment:
    """Load the data and build model, loss, optimizer, schedule and trainer.

    Parameters
    ----------
    cfg : dict
        A resolved config (`bprop.config.resolve`); its ``loss`` is filled in
        if it was left to the default.
    progress : bool
        Show the trainer's progress bar.
    callbacks : list of Callback
        Extra callbacks, run after the schedule and early stopping.
    dtype : str, optional
        Overrides ``train.dtype`` (the gradient checker wants float64).

    Raises
    ------
    ConfigError
        If the data cannot be loaded or the pieces do not fit together.
    """
    from ..training.trainer import Trainer

    s_data, s_split, s_model, s_train = _seeds(cfg["seed"])
    raw = data.load(cfg["data"], seed=_int_seed(s_data))
    task = resolve_task(cfg, raw)
    check_monitors(cfg, task)
    dtype = dtype or cfg["train"]["dtype"]
    # Standardized targets suit squared error; a Poisson loss needs counts as they are.
    dcfg = {**cfg["data"], "standardize_target": cfg["data"]["standardize_target"]
            and _name(cfg["loss"]) == "SquaredError"}
    ds = data.split(raw, dcfg, task=task, seed=_int_seed(s_split)).astype(dtype)
    model, out_dim = entries.build_model(cfg["model"], ds.n_features, dtype=dtype,
                                            seed_seq=s_model)
    _check_output(cfg, ds, out_dim)
    loss = entries.build("loss", cfg["loss"])
    optimizer = entries.build("optimizer", cfg["optimizer"], model.parameters())
    own = [entries.build("schedule", cfg["schedule"])]
    t = cfg["train"]
    if t["early_stopping"]:
        own.append(EarlyStopping(monitor=t["monitor"], patience=t["patience"],
                                 min_delta=t["min_delta"],
                                 restore_best_weights=t["restore_best_weights"]))
    trainer = Trainer(model, loss, optimizer, batch_size=t["batch_size"], shuffle=t["shuffle"],
                      rng=np.random.default_rng(s_train), callbacks=[*own, *callbacks],
                      progress=progress, engine=t["engine"])
    return Experiment(cfg, ds, model, loss, optimizer, trainer, own)


def metrics(model: Any, loss: Any, X: np.ndarray, y: np.ndarray,
            prep: data.Preprocessor | None = None, prefix: str = "test_") -> dict[str, float]:
    """Loss (and accuracy for classification; RMSE and R^2 in target units for
    regression) of ``model`` on already preprocessed ``X``, ``y``."""
    model.eval()
    dtype = model.parameters()[0].dtype if model.parameters() else np.float64
    X = np.asarray(X, dtype=dtype)
    out = np.concatenate([model.forward(X[i:i + 4096]) for i in range(0, len(X), 4096)])
    result = {"loss": float(loss.forward(out, y))}
    acc = loss.accuracy(out, y)
    if acc is not None:
        result["accuracy"] = float(acc)
    elif prep is not None:
        pred = prep.decode_output(out.astype(np.float64))
        true = prep.decode_output(np.asarray(y, dtype=np.float64).reshape(pred.shape))
        resid = ((true - pred) ** 2).sum()
        total = ((true - true.mean(axis=0)) ** 2).sum()
        result["rmse"] = float(np.sqrt(resid / true.size))
        result["r2"] = float(1 - resid / total) if total > 0 else float("nan")
    return {prefix + k: v for k, v in result.items()}
