"""Run directories: what ``bprop train`` leaves behind, and how to resume it.

A run directory holds::

    config.yaml      the resolved config (re-runnable as is)
    history.csv      one row per epoch: epoch, loss, val_loss, val_accuracy, lr, seconds
    checkpoint.npz   the trainer's state at the last checkpointed epoch
    model.npz        the trained model (`bprop.io.load`), with its preprocessing
    summary.json     final metrics: test_loss always, test_accuracy for classification
    loss_curve.png   training and validation loss per epoch

Every file is written to a temporary name and renamed over the old one, so a
crash never leaves a half-written file in place.
"""

from __future__ import annotations

import csv
import io as _io
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..config.fields import ConfigError
from ..modelfile import atomic_savez
from ..training.callbacks import Callback

__all__ = ["Recorder", "load_checkpoint", "new_run_dir", "save_checkpoint", "write_atomic"]

CHECKPOINT = "checkpoint.npz"


def new_run_dir(name: str, out: str | None, root: str = "runs") -> Path:
    """Create the run directory: ``out``, or ``root/<name>-<timestamp>``.

    Never reuses a directory that holds files: ``out`` must be new or empty,
    and a clashing default name gets a ``-2``, ``-3``, ... suffix.
    """
    if out is not None:
        path = Path(out)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ConfigError("--out", f"{str(path)!r} already exists and is not empty; "
                                       f"choose a new directory, or continue it with "
                                       f"--resume {path}")
        path.mkdir(parents=True, exist_ok=True)
        return path
    stem = Path(root) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    for i in range(1, 1000):
        path = stem if i == 1 else Path(f"{stem}-{i}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise ConfigError("--out", f"cannot find a free run directory name under {root!r}")


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _flatten(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Replace arrays by ``{"__array__": key}`` so that the rest is plain JSON."""
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, dict):
        return {str(k): _flatten(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_flatten(v, arrays) for v in obj]
    return obj.item() if isinstance(obj, np.generic) else obj


def _unflatten(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return arrays[obj["__array__"]]
        return {k: _unflatten(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unflatten(v, arrays) for v in obj]
    return obj


def snapshot(trainer: Any) -> dict[str, Any]:
    """A deep copy of everything needed to resume (the trainer's state includes
    its callbacks': schedules, early stopping)."""
    return {"trainer": trainer.state_dict()}


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write a `snapshot` as ``.npz``: arrays plus a JSON header (no pickle)."""
    arrays: dict[str, np.ndarray] = {}
    header = json.dumps(_flatten(state, arrays))
    atomic_savez(path, {**arrays, "__checkpoint__": np.array(header)})


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`; errors name the file."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        header = json.loads(str(arrays.pop("__checkpoint__")))
    except FileNotFoundError:
        raise ConfigError(str(path), "no checkpoint here; was this run started?") from None
    except (OSError, ValueError, KeyError) as err:
        raise ConfigError(str(path), f"not a readable bprop checkpoint: {err}") from None
    return _unflatten(header, arrays)


def restore(trainer: Any, state: dict[str, Any]) -> None:
    """Load a `snapshot` into a freshly prepared trainer (and its callbacks)."""
    trainer.load_state_dict(state["trainer"])


def history_csv(records: list[dict[str, float]]) -> str:
    """The history as CSV text, one row per epoch; missing values left empty."""
    columns = ("epoch", "loss", "val_loss", "val_accuracy", "lr", "seconds")
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in records:
        writer.writerow([_cell(c, r.get(c, math.nan)) for c in columns])
    return buf.getvalue()


def _cell(column: str, v: float) -> str | int:
    if isinstance(v, float) and math.isnan(v):
        return ""  # no validation data
    return int(v) if column == "epoch" else f"{v:.6g}"


class Recorder(Callback):
    """Keeps the run directory current: history.csv every epoch, a checkpoint
    every ``every`` epochs, and an in-memory snapshot of the last completed
    epoch for an interrupted run to save.

    Parameters
    ----------
    run_dir : Path
    every : int
        Checkpoint period in epochs; the last epoch is always checkpointed.
    """

    def __init__(self, run_dir: Path, every: int = 1) -> None:
        self.run_dir, self.every = Path(run_dir), every
        self.last: dict[str, Any] | None = None
        self.saved_epoch: int | None = None

    def on_train_begin(self, trainer: Any) -> None:
        if self.last is None:
            self.last = snapshot(trainer)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        self.last = snapshot(trainer)
        write_atomic(self.run_dir / "history.csv", history_csv(trainer.history.records))
        done = trainer.epoch >= trainer.target_epochs or trainer.stop_training
        if trainer.epoch % self.every == 0 or done:
            self.save()

    def save(self) -> int | None:
        """Write the last completed epoch's snapshot; returns that epoch (None
        when interrupted before training began: nothing to save)."""
        if self.last is None:
            return None
        epoch = self.last["trainer"]["epoch"]
        if self.saved_epoch != epoch:
            save_checkpoint(self.run_dir / CHECKPOINT, self.last)
            self.saved_epoch = epoch
        return epoch


def plot_history(records: list[dict[str, float]], path: str | os.PathLike, title: str) -> None:
    """Loss per epoch (training and validation) and, for classification, the
    validation accuracy beside it, as a small PNG (matplotlib's Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def column(key: str) -> list[float] | None:
        values = [r.get(key, math.nan) for r in records]
        return None if all(math.isnan(v) for v in values) else values

    epochs, acc = [r["epoch"] for r in records], column("val_accuracy")
    fig, axes = plt.subplots(1, 2 if acc else 1, figsize=(9 if acc else 6, 3.4), dpi=100,
                             squeeze=False)
    ax = axes[0, 0]
    ax.plot(epochs, column("loss"), label="training (mean over the epoch)")
    if column("val_loss"):
        ax.plot(epochs, column("val_loss"), label="validation (end of epoch)")
    ax.set(xlabel="epoch", ylabel="loss", title=f"{title}: loss")
    ax.legend()
    if acc:
        axes[0, 1].plot(epochs, acc, color="C1")
        axes[0, 1].set(xlabel="epoch", ylabel="accuracy", title=f"{title}: validation accuracy")
    for a in axes.flat:
        a.grid(alpha=0.3)
    fig.tight_layout()
    tmp = Path(path).with_name(f".{Path(path).name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
