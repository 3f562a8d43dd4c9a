"""Run directories: what ``bprop train`` leaves behind, and how to read it back.

A run directory holds::

    config.yaml      the resolved config (re-runnable as is)
    history.csv      one row per epoch, the columns of `History.columns` (callbacks' too)
    checkpoint.npz   the trainer's state at the last checkpointed epoch
    model.npz        the trained model (`bprop.modelfile.load`), with its preprocessing
    summary.json     final metrics: test_loss always, test_accuracy for classification
    splits.npz       the test and validation parts, preprocessed (``bprop eval`` reads them)
    loss_curve.png   training and validation loss per epoch, the learning rate, accuracy
    diagnostics.csv  per-layer gradient norms and activation statistics (train.diagnostics)
    diagnostics.png  the gradient norm per layer over the epochs (train.diagnostics)
    diverged.json    only when training diverged: the error and the last good epoch

A finished run directory needs nothing outside itself: it may be moved or
copied to another machine, and ``eval`` and ``predict`` still work (the
delimiter of the training file is in config.yaml).

`new_run_dir` makes one, `Recorder` keeps history.csv and checkpoint.npz
current while training, `write_results` writes the rest when training ends,
and `load_run` reads a finished run back for ``bprop eval`` and ``predict``.
Every file is written to a temporary name and renamed over the old one
(`bprop.modelfile.atomic_write`), so a crash never leaves a half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .. import modelfile
from ..config.data import Preprocessor
from ..config.fields import ConfigError
from ..config.loader import load_yaml, resolve
from ..layers.base import Layer, leaf_layers
from ..metrics import evaluate
from ..modelfile import atomic_write
from ..plots import wide_range
from ..training import checkpoints
from ..training.callbacks import Callback
from ..training.history import columns_of

if TYPE_CHECKING:
    from ..config.build import Run
    from ..training.trainer import Trainer

__all__ = ["CHECKPOINT", "DIVERGED", "Recorder", "SavedRun", "load_run", "load_splits",
           "mark_diverged", "new_run_dir", "read_checkpoint", "read_diverged",
           "save_checkpoint", "save_splits", "unmake_run_dir", "write_results"]

CHECKPOINT = "checkpoint.npz"
SPLITS = "splits.npz"
DIVERGED = "diverged.json"
save_checkpoint = checkpoints.save_checkpoint


def new_run_dir(name: str, out: str | None, root: str = "runs") -> Path:
    """Create the run directory: ``out``, or ``root/<name>-<timestamp>``.

    Never reuses a directory that holds files: ``out`` must be new or empty,
    and a clashing default name gets a ``-2``, ``-3``, ... suffix.

    Parameters
    ----------
    name : str
        The run's name (``config["name"]``).
    out : str or None
        The directory asked for with ``--out``.
    root : str
        Where default directories go.

    Returns
    -------
    Path
        The new, empty directory.

    Raises
    ------
    ConfigError
        If ``out`` exists and holds files, or no free name is left.
    """
    if out is not None:
        path = Path(out)
        try:
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                what = "is a file" if not path.is_dir() else "already exists and is not empty"
                raise ConfigError("--out", f"{str(path)!r} {what}; choose a new directory"
                                  + (f", or continue it with --resume {path}"
                                     if path.is_dir() else ""))
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".bprop-write-test"
            probe.touch()
            probe.unlink()
        except OSError as err:
            raise ConfigError("--out", f"cannot make the run directory {str(path)!r}: "
                                       f"{os_reason(err)}") from None
        return path
    stem = Path(root) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    for i in range(1, 1000):
        path = stem if i == 1 else Path(f"{stem}-{i}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
        except OSError as err:
            raise ConfigError("--out", f"cannot make the run directory {str(path)!r}: "
                                       f"{os_reason(err)}") from None
    raise ConfigError("--out", f"cannot find a free run directory name under {root!r}")


def unmake_run_dir(run_dir: Path, made: bool) -> None:
    """Take back a run directory in which nothing was trained.

    A run refused before its first epoch (or stopped by an unexpected error)
    leaves only its config.yaml: that is removed, and the directory too when
    ``new_run_dir`` made it, so that the same ``--out`` can be used again. A
    directory with a history or a checkpoint is left as it is.

    Parameters
    ----------
    run_dir : Path
    made : bool
        Whether the directory did not exist before this run.
    """
    if (run_dir / "history.csv").exists() or (run_dir / CHECKPOINT).exists():
        return
    try:
        (run_dir / "config.yaml").unlink(missing_ok=True)
        if made:
            run_dir.rmdir()  # only when empty: an OSError otherwise, and it stays
    except OSError:
        pass


def mark_diverged(run_dir: Path, error: str, epoch: int | None) -> None:
    """Record in ``diverged.json`` that the run diverged: the error and the last good epoch.

    ``bprop train --resume`` then refuses the run (it would diverge the same
    way), a sweep keeps the trial failed with this error, and ``bprop eval``
    says why there is no model.

    Parameters
    ----------
    run_dir : Path
    error : str
        The one-line `DivergedError` message.
    epoch : int or None
        The epoch of the checkpoint kept (None or 0: no epoch was trained).
    """
    atomic_write(run_dir / DIVERGED, json.dumps({"error": error, "checkpoint_epoch": epoch},
                                                indent=2) + "\n")


def read_diverged(run_dir: str | os.PathLike) -> str | None:
    """The error of a run that diverged (`mark_diverged`), or None.

    Parameters
    ----------
    run_dir : str or PathLike

    Returns
    -------
    str or None
        One line; a damaged file still counts as a diverged run.
    """
    path = Path(run_dir) / DIVERGED
    if not path.is_file():
        return None
    try:
        error = json.loads(path.read_text(encoding="utf-8")).get("error")
    except (OSError, ValueError, AttributeError):
        error = None
    return str(error) if error else f"training diverged ({path})"


def os_reason(err: OSError) -> str:
    """An OS error in a few words: ``"No space left on device: 'runs/x/model.npz'"``.

    Parameters
    ----------
    err : OSError

    Returns
    -------
    str
    """
    reason = err.strerror or type(err).__name__
    return f"{reason}: {str(err.filename)!r}" if err.filename else reason


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A run's checkpoint: the trainer state and the resolved config it trained with.

    Parameters
    ----------
    path : str or PathLike
        The run's checkpoint.npz.

    Returns
    -------
    state : dict
        What `Trainer.load_state_dict` takes (its history read back from the
        run's history.csv when the checkpoint does not hold it).
    config : dict or None
        None for checkpoints written before bprop recorded it.

    Raises
    ------
    ConfigError
        Naming the file, if it is missing, damaged or not a bprop checkpoint.
    """
    try:
        state, config = checkpoints.read_checkpoint(path)
    except FileNotFoundError:
        raise ConfigError(str(path), "no checkpoint here; was this run started?") from None
    except OSError as err:
        raise ConfigError(str(path), f"cannot read the checkpoint: {os_reason(err)}") from None
    except ValueError as err:
        why = str(err).replace(f"{path}: ", "").replace(f"{path} ", "the file ")
        raise ConfigError(str(path), f"damaged or not a bprop checkpoint: {why}; start the "
                                     "run again") from None
    if "history" not in state:
        state["history"] = read_history(Path(path).parent / "history.csv", state["epoch"])
    return state, config


def read_history(path: Path, epochs: int | None = None) -> list[dict[str, float]]:
    """The rows of a run's history.csv (the first ``epochs``), as `History.records`.

    Parameters
    ----------
    path : Path
    epochs : int or None
        The checkpoint's epoch: later rows (written after it) are dropped.
        None: every row.

    Returns
    -------
    list of dict
        Empty if the file is missing or unreadable (the history is a record,
        not what training resumes from).
    """
    records = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                try:  # every column of the header, empty cells as NaN
                    rec = {c: float(v or "nan") for c, v in row.items() if c is not None}
                    if None in row or any(v is None for v in row.values()):
                        raise ValueError("a row cut short")
                except (TypeError, ValueError):
                    break  # a line cut short by a crash: the rows before it stand
                if epochs is not None and rec.get("epoch", 0) > epochs:
                    break
                records.append(rec)
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    return records


def history_csv(records: list[dict[str, float]],
                columns: tuple[str, ...] | None = None) -> str:
    """The history as CSV text, one row per epoch.

    Parameters
    ----------
    records : list of dict
        `History.records`.
    columns : tuple of str, optional
        The header; default the records' own (`History.columns`).

    Returns
    -------
    str
        A header of the columns, then one line per epoch; missing values
        (no validation data, a column a callback added later) left empty,
        numbers with 6 significant digits.
    """
    if columns is None:
        columns = columns_of(records)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in records:
        writer.writerow([_cell(c, r.get(c, math.nan)) for c in columns])
    return buf.getvalue()


def _cell(column: str, v: Any) -> str | int:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return ""  # not a number: history.csv holds numbers only
    if math.isnan(v):
        return ""  # no validation data
    return int(v) if column == "epoch" else f"{v:.6g}"


class Recorder(Callback):
    """Keeps the run directory current while training.

    Appends each epoch's row to history.csv and writes a checkpoint every
    ``every`` epochs (and at the last one), and keeps the state of the last
    completed epoch in memory for an interrupted run to save. The checkpoint
    leaves out the history (history.csv holds it), so that neither file is
    rewritten in full every epoch: the cost of a run's I/O grows with its
    number of epochs, not with its square.

    Parameters
    ----------
    run_dir : Path
    every : int, default=1
        Checkpoint period in epochs.
    state : dict, optional
        The checkpoint a resumed run started from (already on disk).
    config : dict, optional
        The resolved config, stored in each checkpoint (``--resume`` compares it).
    """

    def __init__(self, run_dir: Path, every: int = 1, state: dict[str, Any] | None = None,
                 config: dict[str, Any] | None = None) -> None:
        self.run_dir, self.every, self.config = Path(run_dir), every, config
        self.last = None if state is None else _without_history(state)
        self.saved_epoch: int | None = None if state is None else state["epoch"]
        self._rows: int | None = None  # history rows known to be in history.csv
        self._columns: tuple[str, ...] | None = None  # its header

    def state_dict(self) -> dict[str, Any]:
        """Nothing to resume: the run directory is the record."""
        return {}

    def on_train_begin(self, trainer: Trainer) -> None:
        """Keep the starting state, for an interruption during the first epoch."""
        if self.last is None:
            self.last = _without_history(trainer.state_dict())

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Append to history.csv, and write the checkpoint when it is due."""
        self.last = _without_history(trainer.state_dict())
        self._write_history(trainer.history.records)
        done = trainer.epoch >= trainer.target_epochs or trainer.stop_training
        if trainer.epoch % self.every == 0 or done:
            self.save()

    def _write_history(self, records: list[dict[str, float]]) -> None:
        path = self.run_dir / "history.csv"
        fresh = self._rows is None or self._rows > len(records)
        columns = columns_of(records if fresh else records[self._rows:], self._columns or ())
        if self._rows is None or self._rows > len(records) or columns != self._columns:
            # the whole file: once per session (drops rows of epochs after the checkpoint),
            # and when a callback starts a new column (earlier rows get an empty cell)
            atomic_write(path, history_csv(records, columns))
        else:
            with open(path, "a", encoding="utf-8", newline="") as f:
                f.write(history_csv(records[self._rows:], columns).partition("\n")[2])
        self._rows, self._columns = len(records), columns

    def save(self) -> int | None:
        """Write the last completed epoch's state as the checkpoint (once per epoch).

        Returns
        -------
        int or None
            That epoch; None when interrupted before training began (nothing to save).
        """
        if self.last is None:
            return None
        epoch = self.last["epoch"]
        if self.saved_epoch != epoch:
            checkpoints.save_checkpoint(self.run_dir / CHECKPOINT, self.last, config=self.config)
            self.saved_epoch = epoch
        return epoch


def _without_history(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k != "history"}


def write_results(run: Run, run_dir: Path, seconds: float, *,
                  resumed_at: int = 0) -> dict[str, Any]:
    """Finish a run: write model.npz, summary.json and loss_curve.png.

    Parameters
    ----------
    run : Run
        The trained run.
    run_dir : Path
    seconds : float
        Wall time of this session's training (I/O included).
    resumed_at : int, default=0
        The epoch this session started from (earlier sessions' epochs add
        their own times).

    Returns
    -------
    dict
        The summary: ``name``, ``epochs``, ``test_loss`` and ``test_accuracy``
        (classification) or ``test_rmse``/``test_r2`` (regression, in the
        targets' units), the same with ``val_`` when there is validation data,
        ``train_loss``, ``stopped_early_at``/``best_epoch`` with early
        stopping, and ``seconds``: the wall time the run took (this session's,
        plus the epochs' own times of earlier sessions when it was resumed).
    """
    ds, records = run.data, run.trainer.history.records
    save_splits(ds, run_dir)
    modelfile.save(run.model, run_dir / "model.npz", metadata={
        "name": run.config["name"], "loss": run.config["loss"],
        "preprocessing": ds.prep.to_dict()})
    summary: dict[str, Any] = {"name": run.config["name"], "epochs": run.trainer.epoch}
    parts = [("test_", ds.X_test, ds.y_test)]
    if ds.X_val is not None:
        parts.append(("val_", ds.X_val, ds.y_val))
    for prefix, X, y in parts:
        scores = evaluate(run.model, run.loss, X, y, decode=ds.prep.decode_output)
        summary.update({prefix + k: v for k, v in scores.items()})
    summary["train_loss"] = records[-1]["loss"] if records else math.nan
    if records and "accuracy" in records[-1]:
        summary["train_accuracy"] = records[-1]["accuracy"]
    stopping = run.early_stopping
    if stopping is not None and stopping.stopped_epoch is not None:
        summary["stopped_early_at"] = stopping.stopped_epoch
    if stopping is not None and stopping.best_epoch is not None:
        summary["best_epoch"] = stopping.best_epoch
    earlier = sum(r["seconds"] for r in records[:resumed_at])
    summary["seconds"] = round(seconds + earlier, 3)
    atomic_write(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    if records:
        standardized = ds.task == "regression" and ds.prep.y_mean is not None
        plot_history(records, run_dir / "loss_curve.png", run.config["name"],
                     best_epoch=summary.get("best_epoch"),
                     stopped_epoch=summary.get("stopped_early_at"),
                     loss_label="loss (standardized targets)" if standardized else "loss")
    if run.diagnostics is not None:
        run.diagnostics.to_csv(run_dir / "diagnostics.csv")
        run.diagnostics.plot(run_dir / "diagnostics.png")
    return summary


class SavedRun(NamedTuple):
    """A finished run read back from its directory."""

    config: dict[str, Any]
    model: Layer
    prep: Preprocessor


def load_run(run_dir: str) -> SavedRun:
    """Read a finished run: its resolved config, trained model and preprocessing.

    Parameters
    ----------
    run_dir : str

    Returns
    -------
    SavedRun
        ``(config, model, prep)``.

    Raises
    ------
    ConfigError
        If ``run_dir`` is not a run directory, diverged (``diverged.json``),
        has no model.npz yet, or the model cannot be read.
    """
    path = Path(run_dir)
    if not (path / "config.yaml").is_file():
        raise ConfigError(run_dir, "not a run directory (no config.yaml)")
    diverged = read_diverged(path)
    if diverged is not None:
        raise ConfigError(run_dir, f"the run diverged, so it has no trained model: {diverged}")
    # the training file need not be there: a run directory stands on its own
    cfg = resolve(load_yaml(str(path / "config.yaml")), find_files=False)
    try:
        model = modelfile.load(path / "model.npz")
        meta = modelfile.load_metadata(path / "model.npz")
        prep = Preprocessor.from_dict(meta.get("preprocessing"))
    except FileNotFoundError:
        raise ConfigError(run_dir, "no model.npz: the run has not finished "
                                   f"(bprop train --resume {run_dir} continues it, or writes "
                                   "the final files of a run that finished)") from None
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(str(path / "model.npz"), f"cannot load the model: {err}") from None
    _check_consistent(path / "model.npz", model, prep)
    return SavedRun(cfg, model, prep)


def _check_consistent(path: Path, model: Any, prep: Preprocessor) -> None:
    """The preprocessing a model file records must fit its network: as many feature
    names and scales as the first Linear has inputs (a hand-edited or damaged file
    would otherwise blame the user's CSV)."""
    sizes = {len(prep.feature_names), len(prep.x_mean), len(prep.x_scale)}
    first = next((layer for layer in leaf_layers(model) if hasattr(layer, "n_in")), None)
    if len(sizes) != 1 or (first is not None and first.n_in not in sizes):
        raise ConfigError(str(path), "cannot load the model: its preprocessing records "
                                     f"{len(prep.feature_names)} feature names and "
                                     f"{len(prep.x_mean)} scales, its network takes "
                                     f"{getattr(first, 'n_in', '?')} inputs")
    last = next((layer for layer in reversed(leaf_layers(model)) if hasattr(layer, "n_out")), None)
    if last is None:
        return
    if prep.task == "classification":
        k = len(prep.classes)
        if last.n_out != k and not (k == 2 and last.n_out == 1):
            raise ConfigError(str(path), f"cannot load the model: its preprocessing records {k} "
                                         f"classes, its network has {last.n_out} outputs")
    elif last.n_out != max(1, len(prep.target_names)):
        raise ConfigError(str(path), "cannot load the model: its preprocessing records "
                                     f"{max(1, len(prep.target_names))} regression target(s), "
                                     f"its network has {last.n_out} outputs")


def save_splits(ds: Any, run_dir: Path) -> None:
    """Keep the run's test and validation parts (preprocessed) in ``splits.npz``.

    ``bprop eval`` reads them from there, so a run directory evaluates without
    its training file (moved, or on another machine).

    Parameters
    ----------
    ds : Dataset
    run_dir : Path
    """
    if not isinstance(ds.X_test, np.ndarray):
        return  # sparse or memory-mapped data: ``bprop eval`` reads it again from the config
    arrays = {"X_test": ds.X_test, "y_test": ds.y_test}
    if ds.X_val is not None:
        arrays.update(X_val=ds.X_val, y_val=ds.y_val)
    modelfile.write_archive(run_dir / SPLITS, modelfile.DATA, {}, arrays)


def load_splits(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The parts `save_splits` kept, or None for a run without ``splits.npz``.

    Parameters
    ----------
    run_dir : str or PathLike

    Returns
    -------
    dict of str to ndarray or None
        ``X_test``, ``y_test`` and, with validation data, ``X_val``, ``y_val``.

    Raises
    ------
    ConfigError
        If the file is damaged.
    """
    path = Path(run_dir) / SPLITS
    try:
        arrays = modelfile.read_archive(path, modelfile.DATA)[1]
    except FileNotFoundError:
        return None
    except ValueError as err:
        raise ConfigError(str(path), f"cannot read the stored splits: {err}") from None
    return arrays


def plot_history(records: list[dict[str, float]], path: str | os.PathLike, title: str, *,
                 best_epoch: int | None = None, stopped_epoch: int | None = None,
                 loss_label: str = "loss") -> Any:
    """Plot the loss per epoch with the learning rate and, for classification, the accuracy.

    The loss panel gets a log axis when its values span more than 100x (a
    diverging first epoch would flatten everything else), a marker at the
    best epoch (``best_epoch``, else the lowest validation loss, else the
    lowest training loss), a vertical line where early stopping stopped, and
    the learning rate per epoch on a second, right-hand axis (log scale when
    it spans more than 100x). The accuracy panel shows the training and the
    validation accuracy.

    Parameters
    ----------
    records : list of dict
        `History.records`: one dict per epoch (NaN where there is no value).
    path : str or PathLike
        The PNG to write (atomically), about 600 x 340 pixels (900 with accuracy).
    title : str
        The run's name.
    best_epoch : int, optional
        The epoch early stopping found best (1-based).
    stopped_epoch : int, optional
        The epoch after which early stopping stopped the run.
    loss_label : str, default="loss"
        The loss axis' label (says when the loss is in standardized units).

    Returns
    -------
    matplotlib.figure.Figure
        The figure written (closed).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def column(key: str) -> list[float] | None:
        values = [float(r.get(key, math.nan)) for r in records]
        return None if all(math.isnan(v) for v in values) else values

    epochs = [r["epoch"] for r in records]
    acc, train_acc = column("val_accuracy"), column("accuracy")
    panels = 2 if (acc or train_acc) else 1
    fig, axes = plt.subplots(1, panels, figsize=(9 if panels == 2 else 6, 3.4), dpi=100,
                             squeeze=False)
    ax = axes[0, 0]
    loss, val = column("loss"), column("val_loss")
    ax.plot(epochs, loss, label="training (mean over the epoch)")
    if val:
        ax.plot(epochs, val, label="validation (end of epoch)")
    if wide_range(loss + (val or [])):
        ax.set_yscale("log")
    watched = val or loss
    if best_epoch is None and watched and not all(math.isnan(v) for v in watched):
        best_epoch = epochs[int(np_nanargmin(watched))]
    if best_epoch is not None and best_epoch in epochs:
        i = epochs.index(best_epoch)
        ax.plot([best_epoch], [watched[i]], marker="*", ms=12, color="C3", linestyle="none",
                label=f"best epoch ({best_epoch})")
    if stopped_epoch is not None:
        ax.axvline(stopped_epoch, color="0.4", linestyle=":",
                   label=f"early stopping (epoch {stopped_epoch})")
    ax.set(xlabel="epoch", ylabel=loss_label, title=f"{title}: loss")
    lr = column("lr")
    handles, labels = ax.get_legend_handles_labels()
    if lr:
        ax2 = ax.twinx()
        (line,) = ax2.step(epochs, lr, where="post", color="0.55", linestyle="--", lw=1)
        ax2.set_ylabel("learning rate", color="0.4")
        if wide_range(lr):
            ax2.set_yscale("log")
        else:  # from 0: a constant rate is a flat line, not a zoomed-in wiggle
            ax2.set_ylim(0, 1.15 * max(v for v in lr if math.isfinite(v)))
        handles, labels = handles + [line], labels + ["learning rate (right axis)"]
    ax.legend(handles, labels, fontsize="small")
    if panels == 2:
        if train_acc:
            axes[0, 1].plot(epochs, train_acc, color="C0", label="training (during the epoch)")
        if acc:
            axes[0, 1].plot(epochs, acc, color="C1", label="validation (end of epoch)")
        axes[0, 1].set(xlabel="epoch", ylabel="accuracy", title=f"{title}: accuracy")
        axes[0, 1].legend(fontsize="small")
    for a in axes.flat:
        a.grid(alpha=0.3)
    fig.tight_layout()
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png"))
    finally:
        plt.close(fig)
    return fig


def np_nanargmin(values: list[float]) -> int:
    """The index of the smallest non-NaN value."""
    return min((v, i) for i, v in enumerate(values) if not math.isnan(v))[1]
