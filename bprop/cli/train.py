"""``bprop train CONFIG.yaml [--out DIR] [--quiet] [key.path=value ...]`` and ``--resume``."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config.fields import ConfigError
from ..training.callbacks import Callback

EXAMPLES = """examples:
  bprop train configs/digits.yaml
  bprop train configs/digits.yaml optimizer.lr=0.05 train.epochs=10 --out runs/fast
  bprop train --resume runs/digits-20250101-120000
  bprop train --resume runs/digits-20250101-120000 train.epochs=60   # train longer
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train", help="train a network from a YAML config",
        description="Train as CONFIG says and leave a run directory with config.yaml, "
                    "history.csv, checkpoint.npz, model.npz, summary.json and loss_curve.png. "
                    "Ctrl-C or SIGTERM saves a checkpoint; --resume continues from it.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", nargs="?", metavar="CONFIG.yaml", help="the run's config")
    p.add_argument("overrides", nargs="*", metavar="key.path=value",
                   help="override config values, read as YAML (optimizer.lr=0.05)")
    p.add_argument("--out", metavar="DIR",
                   help="run directory (new or empty); default runs/<name>-<timestamp>")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run)


class Interrupted(Exception):
    """Raised by the signal handler; carries the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def interrupts_as_exceptions() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into `Interrupted` while training (main thread only)."""
    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    old = {}
    with contextlib.suppress(ValueError):  # signal only works in the main thread
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


class EpochLines(Callback):
    """One line per epoch (about ten lines a run) when the progress bar is not drawn."""

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        step = max(1, trainer.target_epochs // 10)
        if trainer.epoch % step and trainer.epoch != trainer.target_epochs:
            return
        shown = "  ".join(f"{k} {logs[k]:.4g}" for k in ("loss", "val_loss", "val_accuracy", "lr")
                          if k in logs and not math.isnan(logs[k]))
        print(f"epoch {trainer.epoch}/{trainer.target_epochs}  {shown}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Train a new run (or resume one); return the exit status."""
    from ..config.build import prepare
    from ..config.loader import dump, load_config
    from .rundir import new_run_dir, write_atomic

    if args.resume:
        return resume(args)
    if not args.config:
        raise ConfigError("train", "give a CONFIG.yaml, or --resume RUN_DIR")
    cfg = load_config(args.config, args.overrides)
    exp = prepare(cfg, progress=not args.quiet)  # every check happens before the directory
    run_dir = new_run_dir(cfg["name"], args.out)
    write_atomic(run_dir / "config.yaml", dump(exp.config))
    return fit(exp, run_dir, quiet=args.quiet)


def resume(args: argparse.Namespace) -> int:
    """Continue the run in ``args.resume`` from its checkpoint."""
    from ..config.build import prepare
    from ..config.loader import apply_overrides, dump, load_yaml, resolve
    from .rundir import CHECKPOINT, load_checkpoint, restore, write_atomic

    run_dir = Path(args.resume)
    overrides = [args.config, *args.overrides] if args.config else list(args.overrides)
    for item in overrides:
        if item.partition("=")[0].strip() != "train.epochs":
            raise ConfigError(item.partition("=")[0], "--resume continues a run as it was "
                                                      "configured; only train.epochs may change")
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError("--resume", f"{str(run_dir)!r} is not a run directory "
                                      "(no config.yaml)")
    cfg = resolve(apply_overrides(load_yaml(str(run_dir / "config.yaml")), overrides))
    state = load_checkpoint(run_dir / CHECKPOINT)
    exp = prepare(cfg, progress=not args.quiet)
    restore(exp.trainer, state)
    done = exp.trainer.epoch >= cfg["train"]["epochs"]
    if done or ((run_dir / "summary.json").exists() and not overrides):
        print(f"{run_dir}: already complete ({exp.trainer.epoch} epochs); "
              "raise train.epochs to train longer")
        return 0
    write_atomic(run_dir / "config.yaml", dump(exp.config))
    return fit(exp, run_dir, quiet=args.quiet, state=state)


def fit(exp: Any, run_dir: Path, *, quiet: bool, state: dict | None = None) -> int:
    """Train with checkpoints; on SIGINT/SIGTERM save the last epoch and stop."""
    from ..training.trainer import DivergedError
    from .rundir import Recorder

    recorder = Recorder(run_dir, exp.config["train"]["checkpoint_every"])
    if state is not None:
        recorder.last, recorder.saved_epoch = state, state["trainer"]["epoch"]
    exp.trainer.callbacks.append(recorder)
    if not quiet and not sys.stdout.isatty():
        exp.trainer.callbacks.append(EpochLines())
    if not quiet:
        print(exp.model.summary(exp.data.n_features), flush=True)
    ds, start = exp.data, time.perf_counter()
    val = (ds.X_val, ds.y_val) if ds.X_val is not None else None
    try:
        with interrupts_as_exceptions():
            exp.trainer.fit(ds.X_train, ds.y_train, exp.config["train"]["epochs"],
                            validation_data=val)
    except (Interrupted, KeyboardInterrupt) as err:
        epoch = recorder.save()
        name = err.args[0] if isinstance(err, Interrupted) else "SIGINT"
        if epoch is None:
            print(f"\n{name}: stopped before the first epoch; nothing to resume", file=sys.stderr)
        else:
            print(f"\n{name}: checkpoint of epoch {epoch} saved in {run_dir}; continue with\n"
                  f"  bprop train --resume {run_dir}", file=sys.stderr)
        return 128 + (err.signum if isinstance(err, Interrupted) else signal.SIGINT)
    except DivergedError as err:
        print(f"bprop: {err}", file=sys.stderr)
        return 1
    summary = finish(exp, run_dir, time.perf_counter() - start)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in summary.items() if k.startswith("test_"))
    print(f"{exp.config['name']}: {shown} ({summary['epochs']} epochs, "
          f"{summary['seconds']:.1f} s)\nrun directory: {run_dir}")
    return 0


def finish(exp: Any, run_dir: Path, seconds: float) -> dict[str, Any]:
    """Write model.npz, summary.json and loss_curve.png; return the summary."""
    from .. import modelfile
    from ..config.build import metrics
    from .rundir import plot_history, write_atomic

    ds, records = exp.data, exp.trainer.history.records
    modelfile.save(exp.model, run_dir / "model.npz", metadata={
        "name": exp.config["name"], "loss": exp.config["loss"],
        "preprocessing": ds.prep.to_dict()})
    summary: dict[str, Any] = {"name": exp.config["name"], "epochs": exp.trainer.epoch}
    summary.update(metrics(exp.model, exp.loss, ds.X_test, ds.y_test, ds.prep, "test_"))
    if ds.X_val is not None:
        summary.update(metrics(exp.model, exp.loss, ds.X_val, ds.y_val, ds.prep, "val_"))
    summary["train_loss"] = records[-1]["loss"] if records else math.nan
    for cb in exp.callbacks:
        if getattr(cb, "stopped_epoch", None) is not None:
            summary["stopped_early_at"] = cb.stopped_epoch
        if getattr(cb, "best_epoch", None) is not None:
            summary["best_epoch"] = cb.best_epoch
    summary["seconds"] = round(sum(r["seconds"] for r in records), 3) if records else seconds
    write_atomic(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    if records:
        plot_history(records, run_dir / "loss_curve.png", exp.config["name"])
    return summary
