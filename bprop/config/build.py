"""From a resolved config to live objects: data, model, loss, optimizer, trainer.

`prepare` does all of it and checks that the pieces fit (the loss suits the
data's task, the last layer's width matches the classes or targets, a
monitored accuracy has classes to count) before a single step is taken.
``bprop train``, ``eval`` and ``gradcheck`` share it, so they agree on every
detail; ``print-config`` runs only its first half, `load_data`, which builds
nothing.

One ``seed`` drives everything: `numpy.random.SeedSequence` spawns independent
streams for data generation, the split, weight initialisation (one per layer)
and the trainer's shuffling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import fused, registry
from ..layers.sequential import Sequential
from ..losses.base import Loss
from ..optim.base import Optimizer
from ..optim.schedules import Schedule
from ..training.callbacks import Callback, EarlyStopping
from ..training.trainer import Trainer, check_sparse_input
from . import data, entries
from .fields import ConfigError, join_path
from .loader import watched_metrics

if TYPE_CHECKING:
    from ..training.diagnostics import Diagnostics

__all__ = ["Run", "load_data", "prepare"]


@dataclass
class Run:
    """Everything a run needs, built once from one resolved config.

    Attributes
    ----------
    config : dict
        The resolved config (its ``loss`` filled in when it was left out).
    data : Dataset
        Train, validation and test parts, preprocessed, in ``train.dtype``.
    model : Sequential
    loss : Loss
    optimizer : Optimizer
        Built on ``model.parameters()``.
    schedule : Schedule
    early_stopping : EarlyStopping or None
        When ``train.early_stopping`` is on.
    callbacks : list of Callback
        Those the config's ``callbacks`` section names.
    trainer : Trainer
        Holds the schedule, early stopping, the config's callbacks and any
        extra ones.
    diagnostics : Diagnostics or None
        When ``train.diagnostics`` is on (its probe: the first 256 training
        samples); the run directory gets its CSV and plot.
    """

    config: dict[str, Any]
    data: data.Dataset
    model: Sequential
    loss: Loss
    optimizer: Optimizer
    schedule: Schedule
    early_stopping: EarlyStopping | None
    callbacks: list[Callback]
    trainer: Trainer
    diagnostics: Diagnostics | None = None


def _seeds(seed: int) -> list[np.random.SeedSequence]:
    return np.random.SeedSequence(seed).spawn(4)  # data, split, model, trainer


def _int_seed(ss: np.random.SeedSequence) -> int:
    return int(ss.generate_state(1)[0] >> 1)  # sklearn wants < 2**32; >> 1 stays positive


def _name(spec: str | dict[str, Any]) -> str:
    return spec if isinstance(spec, str) else spec["type"]


def resolve_task(cfg: dict[str, Any], raw: data.RawData) -> str:
    """The run's task; fills in ``cfg["loss"]`` when it was left out.

    Parameters
    ----------
    cfg : dict
        A resolved config; modified in place when its loss is None.
    raw : RawData
        The loaded data (a file's task is guessed from its targets).

    Returns
    -------
    {"classification", "regression"}

    Raises
    ------
    ConfigError
        If the loss does not suit the data, or a monitored ``val_accuracy``
        has no classes to count.
    """
    name = cfg["data"]["name"]
    asked = cfg["data"].get("task", "auto")
    fixed = raw.task or (None if asked == "auto" else asked)
    if cfg["loss"] is None:
        task = fixed or data.guess_task(raw)
        cfg["loss"] = "SoftmaxNLL" if task == "classification" else "SquaredError"
    else:
        loss_name = _name(cfg["loss"])
        cls = registry.lookup("loss", loss_name)
        task = "classification" if getattr(cls, "is_classifier", False) else "regression"
        if fixed and fixed != task:
            hint = "SquaredError" if fixed == "regression" else "SoftmaxNLL"
            what = f"data.task is {fixed}" if not raw.task else f"{name} is a {fixed} data set"
            raise ConfigError("loss", f"{loss_name} is a {task} loss but {what}; use loss: "
                                      f"{hint}" + ("" if raw.task else f" or data.task: {task}"))
    if cfg["data"].get("task") == "auto":  # the resolved config says what was chosen
        cfg["data"]["task"] = task
    for path, metric in watched_metrics(cfg):
        if metric in ("val_accuracy", "accuracy") and task == "regression":
            raise ConfigError(path, f"{metric!r} needs a classification loss; "
                                    "monitor 'val_loss' for regression")
    return task


# A final layer that the loss applies itself (or that does not fit its input): training
# and prediction would take the scores through it twice. loss -> {layer: what to do}.
_RAW = "takes raw scores (it applies the output function itself): drop the final {}"
_LAST_LAYER_CLASHES = {
    "SoftmaxNLL": {"Softmax": _RAW, "LogSoftmax": _RAW},
    "SigmoidCrossEntropy": {"Softmax": _RAW, "LogSoftmax": _RAW},
    "NLL": {"Softmax": "takes log-probabilities: end with LogSoftmax instead of the final {}"},
}


def _check_output(cfg: dict[str, Any], ds: data.Dataset, out_dim: int) -> None:
    name, loss = cfg["data"]["name"], _name(cfg["loss"])
    last = _name(cfg["model"][-1]) if cfg["model"] else ""
    takes = _LAST_LAYER_CLASHES.get(loss, {}).get(last)
    if takes:
        raise ConfigError(f"model[{len(cfg['model']) - 1}]",
                          f"{loss} {takes.format(last)} layer")
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
        change = ""
        if "task" in cfg["data"]:  # a file, whose task was chosen: say how to choose the other
            other = "regression" if ds.task == "classification" else "classification"
            loss_hint = "SquaredError" if other == "regression" else "SoftmaxNLL"
            change = (f"; the target was taken for {ds.task}: if it is meant for {other}, "
                      f"set data.task: {other} (or loss: {loss_hint}) instead")
        raise ConfigError("model", f"the network ends with {out_dim} output(s) but {loss} on "
                                   f"{name} needs {what}: set the last Linear's out to "
                                   f"{want}{change}")


def load_data(cfg: dict[str, Any], *, dtype: str | None = None) -> data.Dataset:
    """Load and split the config's data, and check what can be checked without building.

    Fills in the config's loss when it was left out (the data decides) and
    checks that the loss suits the data and the model's first layer suits the
    samples' shape. Nothing registered is instantiated: ``bprop print-config``
    runs this alone, `prepare` runs it first.

    Parameters
    ----------
    cfg : dict
        A resolved config; its ``loss`` is filled in if it was None.
    dtype : str, optional
        Overrides ``train.dtype``.

    Returns
    -------
    Dataset
        Train, validation and test parts, preprocessed, in the dtype.

    Raises
    ------
    ConfigError
        If the data cannot be loaded or does not suit the loss or the model.
    """
    s_data, s_split, _, _ = _seeds(cfg["seed"])
    raw = data.load(cfg["data"], seed=_int_seed(s_data))
    task = resolve_task(cfg, raw)
    dtype = dtype or cfg["train"]["dtype"]
    dcfg = {**cfg["data"], "standardize_target": cfg["data"]["standardize_target"]
            and standardizes_target(cfg["loss"])}
    ds = data.split(raw, dcfg, task=task, seed=_int_seed(s_split)).astype(dtype)
    _check_input_shape(cfg, ds)
    return ds


def prepare(cfg: dict[str, Any], *, progress: bool = False,
            callbacks: list[Callback] = (), dtype: str | None = None) -> Run:
    """Load the data and build model, loss, optimizer, schedule and trainer.

    Parameters
    ----------
    cfg : dict
        A resolved config (`bprop.config.loader.resolve`); its ``loss`` is
        filled in if it was left to the default.
    progress : bool
        Show the trainer's progress bar.
    callbacks : list of Callback
        Extra callbacks, run after the schedule, early stopping and the
        config's callbacks.
    dtype : str, optional
        Overrides ``train.dtype`` (the gradient checker wants float64).

    Returns
    -------
    Run

    Raises
    ------
    ConfigError
        If the data cannot be loaded, the pieces do not fit together (sparse
        data into a first layer other than Linear; ``train.engine: fused``
        with a part it does not support), or a constructor refuses its
        arguments (one line with the key path and the class, whatever it
        raised).
    """
    _, _, s_model, s_train = _seeds(cfg["seed"])
    ds = load_data(cfg, dtype=dtype)
    dtype = dtype or cfg["train"]["dtype"]
    model, out_dim = entries.build_model(cfg["model"], ds.n_features, dtype=dtype,
                                         seed_seq=s_model)
    _check_output(cfg, ds, out_dim)
    loss = entries.build("loss", cfg["loss"])
    optimizer = entries.build("optimizer", cfg["optimizer"], params=model.parameters())
    schedule = entries.build("schedule", cfg["schedule"])
    t = cfg["train"]
    stopping = None
    if t["early_stopping"]:
        stopping = EarlyStopping(monitor=t["monitor"], patience=t["patience"],
                                 min_delta=t["min_delta"],
                                 restore_best_weights=t["restore_best_weights"])
    named = [entries.build("callback", spec, join_path("callbacks", i))
             for i, spec in enumerate(cfg.get("callbacks", []))]
    diagnostics = None
    if t["diagnostics"]:
        if t["engine"] == "fused":
            raise ConfigError("train.diagnostics", "reads every layer's gradients, which the "
                                                   "fused engine never forms; use train.engine: "
                                                   "auto or reference")
        from ..training.diagnostics import Diagnostics  # read only by runs that ask for it

        diagnostics = Diagnostics(ds.X_train)
    own = [schedule] + ([stopping] if stopping else []) + named
    own += [diagnostics] if diagnostics else []
    _check_trainable(cfg, ds, model, loss, optimizer, [*own, *callbacks])
    trainer = Trainer(model, loss, optimizer, batch_size=t["batch_size"], shuffle=t["shuffle"],
                      rng=np.random.default_rng(s_train), callbacks=[*own, *callbacks],
                      progress=progress, engine=t["engine"], drop_last=t["drop_last"])
    try:  # a batch a layer cannot train on (BatchNorm and one sample), before any step
        trainer.check_batches(ds.X_train.shape[0], drop_last_option="train.drop_last: true")
    except ValueError as err:
        raise ConfigError("train.batch_size", str(err)) from None
    return Run(cfg, ds, model, loss, optimizer, schedule, stopping, named, trainer, diagnostics)


def _check_trainable(cfg: dict[str, Any], ds: data.Dataset, model: Sequential, loss: Loss,
                     optimizer: Optimizer, callbacks: list[Any]) -> None:
    """The Trainer's own refusals, as config errors, before a run directory is made.

    Sparse data into a first layer that is not a Linear (`check_sparse_input`),
    and ``train.engine: fused`` with a part, a callback or data the fused
    engine does not support (`bprop.fused.unsupported`): `Trainer` and its
    ``fit`` would raise a ValueError; here it is one line naming the key.
    """
    try:
        check_sparse_input(model, ds.X_train)
    except ValueError:
        first = _name(cfg["model"][0]) if cfg["model"] else "no layer"
        raise ConfigError("model[0]", f"data {cfg['data']['name']} is read as a sparse matrix, "
                                      "which reaches the first layer as it is and only a "
                                      f"Linear takes; the model starts with {first}: put a "
                                      "Linear first (model: [{type: Linear, out: 64}, "
                                      "...])") from None
    if cfg["train"]["engine"] != "fused":
        return
    reason = fused.unsupported(model, loss, optimizer, ds.X_train)
    readers = [type(cb).__name__ for cb in callbacks if getattr(cb, "reads_gradients", False)]
    if reason is None and readers:
        reason = f"callback {readers[0]} reads Parameter.grad, which the fused engine never fills"
    if reason is not None:
        raise ConfigError("train.engine", f"fused cannot train this run: {reason}; use "
                                          "train.engine: auto (fused where it can, else the "
                                          "reference) or reference")


def standardizes_target(loss: str | dict[str, Any] | None) -> bool:
    """Whether ``data.standardize_target`` applies to a regression loss.

    Every regression loss trains on standardized targets (SquaredError,
    AbsoluteError, Huber, whose ``delta`` then counts in standard
    deviations), and the run's metrics (``test_rmse``, ``test_r2``) are
    reported in the targets' units; `PoissonDeviance` needs the counts as
    they are (non-negative, on their own scale), so they are left raw.

    Parameters
    ----------
    loss : str or dict or None
        The config's loss entry.

    Returns
    -------
    bool
    """
    if loss is None:
        return True
    return registry.lookup("loss", _name(loss)).__name__ != "PoissonDeviance"


def _check_input_shape(cfg: dict[str, Any], ds: data.Dataset) -> None:
    """N-D samples (images, shape (N, C, H, W)) need a model that starts with Flatten."""
    if ds.X_train.ndim <= 2:
        return
    first = _name(cfg["model"][0]) if cfg["model"] else None
    if first is None or registry.lookup("layer", first).__name__ != "Flatten":
        shape = "(N, " + ", ".join(map(str, ds.X_train.shape[1:])) + ")"
        raise ConfigError("model", f"the data's samples have shape {shape}: start the model "
                                   "with Flatten (model: [Flatten, {type: Linear, out: ...}, "
                                   "...]) to read them as rows of "
                                   f"{ds.n_features} features")
