"""``bprop train CONFIG.yaml [--out DIR] [--quiet] [key.path=value ...]`` and ``--resume``."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config.build import Run, prepare
from ..config.fields import ConfigError
from ..config.loader import apply_overrides, dump, load_config, load_yaml, resolve
from ..modelfile import atomic_write
from ..training.callbacks import EpochLines
from ..training.trainer import DivergedError
from .rundir import CHECKPOINT, Recorder, load_checkpoint, new_run_dir, write_results

EXAMPLES = """examples:
  bprop train configs/digits.yaml
  bprop train configs/digits.yaml optimizer.lr=0.05 train.epochs=10 --out runs/fast
  bprop train --resume runs/digits-20250101-120000
  bprop train --resume runs/digits-20250101-120000 train.epochs=60   # train longer
"""


def add_parser(subparsers: Any) -> None:
    """Register the command on the ``bprop`` parser (`bprop.cli.app.build_parser`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
    """
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
    """Turn SIGINT and SIGTERM into `Interrupted` while training (main thread only).

    Yields
    ------
    None
        The old handlers are back when the block ends.
    """
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


def run(args: argparse.Namespace) -> int:
    """Train a new run (or resume one).

    Parameters
    ----------
    args : argparse.Namespace
        ``config``, ``overrides``, ``out``, ``resume``, ``quiet``.

    Returns
    -------
    int
        The exit status: 0 when training finished, 1 when it diverged,
        128 + the signal number when interrupted.

    Raises
    ------
    ConfigError
        For a bad config or run directory (before any directory is made).
    """
    if args.resume:
        return resume(args)
    if not args.config:
        raise ConfigError("train", "give a CONFIG.yaml, or --resume RUN_DIR")
    cfg = load_config(args.config, args.overrides)
    prepared = prepare(cfg, progress=not args.quiet)  # every check happens before the directory
    run_dir = new_run_dir(cfg["name"], args.out)
    atomic_write(run_dir / "config.yaml", dump(prepared.config))
    return train_in(prepared, run_dir, quiet=args.quiet)


def resume(args: argparse.Namespace) -> int:
    """Continue the run in ``args.resume`` from its checkpoint.

    Parameters
    ----------
    args : argparse.Namespace
        ``resume`` (the run directory), ``overrides`` (only ``train.epochs``
        may change; the first one may arrive as ``config``), ``quiet``.

    Returns
    -------
    int
        The exit status, as `run`.

    Raises
    ------
    ConfigError
        For an override other than ``train.epochs``, a directory that is not a
        run, or a missing or unreadable checkpoint.
    """
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
    prepared = prepare(cfg, progress=not args.quiet)
    prepared.trainer.load_state_dict(state)
    done = prepared.trainer.epoch >= cfg["train"]["epochs"]
    if done or ((run_dir / "summary.json").exists() and not overrides):
        print(f"{run_dir}: already complete ({prepared.trainer.epoch} epochs); "
              "raise train.epochs to train longer")
        return 0
    atomic_write(run_dir / "config.yaml", dump(prepared.config))
    return train_in(prepared, run_dir, quiet=args.quiet, state=state)


def train_in(prepared: Run, run_dir: Path, *, quiet: bool, state: dict | None = None) -> int:
    """Train ``prepared`` in ``run_dir``, checkpointing; on SIGINT/SIGTERM save the last epoch.

    Parameters
    ----------
    prepared : Run
        Prepared (and, when resuming, loaded from ``state``).
    run_dir : Path
    quiet : bool
        No progress lines.
    state : dict, optional
        The checkpoint a resumed run starts from.

    Returns
    -------
    int
        The exit status, as `run`; the results are written (`write_results`)
        only when training finished.
    """
    recorder = Recorder(run_dir, prepared.config["train"]["checkpoint_every"], state)
    prepared.trainer.callbacks.append(recorder)
    if not quiet and not sys.stdout.isatty():
        prepared.trainer.callbacks.append(EpochLines())
    if not quiet:
        print(prepared.model.summary(prepared.data.n_features), flush=True)
    ds, start = prepared.data, time.perf_counter()
    val = (ds.X_val, ds.y_val) if ds.X_val is not None else None
    try:
        with interrupts_as_exceptions():
            prepared.trainer.fit(ds.X_train, ds.y_train, prepared.config["train"]["epochs"],
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
    summary = write_results(prepared, run_dir, time.perf_counter() - start)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in summary.items() if k.startswith("test_"))
    print(f"{prepared.config['name']}: {shown} ({summary['epochs']} epochs, "
          f"{summary['seconds']:.1f} s)\nrun directory: {run_dir}")
    return 0
