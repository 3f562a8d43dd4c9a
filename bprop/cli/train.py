"""``bprop train CONFIG.yaml [--out DIR] [--quiet] [key.path=value ...]`` and ``--resume``."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config.build import Run, prepare
from ..config.fields import ConfigError
from ..config.loader import (
    apply_overrides,
    dump,
    load_config,
    load_yaml,
    resolve,
    with_imports,
)
from ..modelfile import atomic_write
from ..training.callbacks import DivergenceGuard, EpochLines
from ..training.trainer import DivergedError
from .rundir import (
    CHECKPOINT,
    Recorder,
    mark_diverged,
    new_run_dir,
    read_checkpoint,
    read_diverged,
    unmake_run_dir,
    write_results,
)

EXAMPLES = """examples:
  bprop train configs/digits.yaml
  bprop train configs/digits.yaml optimizer.lr=0.05 train.epochs=10 --out runs/fast
  bprop train --resume runs/digits-20250101-120000
  bprop train --resume runs/digits-20250101-120000 train.epochs=60   # train longer

--resume refuses a config.yaml edited since the run began (only train.epochs may
change). Training longer continues each schedule: Constant, StepDecay and
InverseScaling follow their formula; Cosine and ReduceOnPlateau start again from
the base learning rate over the added epochs.
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
        For a bad config or run directory (before any directory is made), or
        an empty ``--out`` or ``--resume``.
    """
    # Path("") is ".": an empty --out would train into the current directory
    if args.out is not None and not args.out.strip():
        raise ConfigError("--out", "is empty; give the run directory to make (new or empty), "
                                   "or leave --out out for runs/<name>-<timestamp>")
    if args.resume is not None and not args.resume.strip():
        raise ConfigError("--resume", "is empty; give the run directory to continue")
    if args.resume:
        return resume(args)
    if not args.config:
        raise ConfigError("train", "give a CONFIG.yaml, or --resume RUN_DIR")
    cfg = load_config(args.config, args.overrides)
    if getattr(args, "imports", None):  # `bprop --import M train`: the run remembers M
        cfg = with_imports(cfg, args.imports)
    if not args.quiet:
        announce_reading(cfg)
    # every check happens before the directory (prepare runs the Trainer's own checks too)
    prepared = prepare(cfg, progress=not args.quiet, callbacks=[DivergenceGuard()])
    made = not (args.out is not None and Path(args.out).is_dir())
    run_dir = new_run_dir(cfg["name"], args.out)
    try:
        atomic_write(run_dir / "config.yaml", dump(prepared.config))
        return train_in(prepared, run_dir, quiet=args.quiet)
    except BaseException:
        unmake_run_dir(run_dir, made)  # a run that never trained leaves no directory behind
        raise


def resume(args: argparse.Namespace) -> int:
    """Continue the run in ``args.resume`` from its checkpoint.

    The checkpoint records the resolved config the run trained with; a
    config.yaml that now says anything else (but ``train.epochs``) is refused,
    naming the keys. Raising ``train.epochs`` of a finished run trains longer:
    each schedule continues as `bprop.optim.schedules.Schedule.extend` says
    (Cosine and ReduceOnPlateau start again from the base rate over the added
    epochs; the others continue their formula). A run whose last checkpoint
    is final but whose model.npz is missing (a crash at the very end) gets
    its final files written from the checkpoint.

    Parameters
    ----------
    args : argparse.Namespace
        ``resume`` (the run directory), ``overrides`` (only ``train.epochs``
        may change; the first one may arrive as ``config``), ``quiet``.

    Returns
    -------
    int
        The exit status, as `run`; 1 at once for a run that diverged (its
        ``diverged.json``): resumed, it would diverge the same way.

    Raises
    ------
    ConfigError
        For an override other than ``train.epochs``, a config that differs
        from the checkpoint's, a directory that is not a run, or a missing,
        damaged or mismatched checkpoint.
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
    diverged = read_diverged(run_dir)
    if diverged is not None:
        # a run is reproducible: resumed from its last good checkpoint, it diverges again
        print(f"bprop: {diverged}\nbprop: {run_dir} diverged; --resume would diverge the same "
              "way: start a new run with the change suggested above", file=sys.stderr)
        return 1
    cfg = resolve(apply_overrides(load_yaml(str(run_dir / "config.yaml")), overrides))
    state, trained = read_checkpoint(run_dir / CHECKPOINT)
    if trained is not None:
        # keys added to bprop since the run began (train.diagnostics, ...) take their
        # defaults in both configs: only a real edit counts as a difference
        with contextlib.suppress(ConfigError):
            trained = resolve(trained, find_files=False)
        changed = config_differences(trained, cfg, ignore=("train.epochs",))
        if changed:
            raise ConfigError(str(run_dir / "config.yaml"),
                              f"differs from the config the run was trained with at "
                              f"{', '.join(changed[:8])}{' ...' if len(changed) > 8 else ''}; "
                              "--resume may change only train.epochs (undo the edit, or "
                              "start a new run)")
    if not args.quiet:
        announce_reading(cfg)
    # the guard is there before the state is loaded: it resumes with its reference loss
    prepared = prepare(cfg, progress=not args.quiet, callbacks=[DivergenceGuard()])
    try:
        prepared.trainer.load_state_dict(state)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
        raise ConfigError(str(run_dir / CHECKPOINT), f"does not fit this run's model and "
                                                     f"optimizer: {str(err)[:200]}") from None
    trainer, epochs = prepared.trainer, cfg["train"]["epochs"]
    if trainer.epoch > max(epochs, len(trainer.history)):
        raise ConfigError(str(run_dir / CHECKPOINT), f"says {trainer.epoch} epochs were trained, "
                                                     f"but the run was configured for {epochs} "
                                                     f"and its history holds "
                                                     f"{len(trainer.history)}: the file is damaged")
    before = trained["train"]["epochs"] if trained is not None else (
        trainer.epoch if (run_dir / "summary.json").exists() else None)
    stopped = prepared.early_stopping is not None and \
        prepared.early_stopping.stopped_epoch is not None
    if stopped or trainer.epoch >= epochs:
        if not (run_dir / "model.npz").is_file() or not (run_dir / "summary.json").is_file():
            # a crash between the last checkpoint and the final files: write them now
            for cb in trainer.callbacks:  # e.g. EarlyStopping restores its best weights
                cb.on_train_end(trainer)
            summary = write_results(prepared, run_dir, 0.0, resumed_at=trainer.epoch)
            print(f"{run_dir}: training was complete ({trainer.epoch} epochs); wrote the "
                  f"final files from the checkpoint: {_shown(summary)}")
            return 0
        why = "stopped early" if stopped else "already complete"
        print(f"{run_dir}: {why} ({trainer.epoch} epochs)"
              + ("" if stopped else "; raise train.epochs to train longer"))
        return 0
    longer = before is not None and trainer.epoch >= before
    if longer and not args.quiet:
        note = prepared.schedule.extend(trainer.optimizer, trainer.epoch, epochs)
        print(f"training longer: epochs {trainer.epoch + 1}..{epochs}; {note}", flush=True)
    elif longer:
        prepared.schedule.extend(trainer.optimizer, trainer.epoch, epochs)
    atomic_write(run_dir / "config.yaml", dump(prepared.config))
    return train_in(prepared, run_dir, quiet=args.quiet, state=state)


def announce_reading(cfg: dict[str, Any], big: int = 10 << 20) -> None:
    """Say that a large data file is being read, so that a log is not silent meanwhile.

    Parameters
    ----------
    cfg : dict
        A resolved config.
    big : int
        Files from this many bytes on are announced.
    """
    path = cfg["data"].get("path")
    with contextlib.suppress(OSError):
        if path and os.path.getsize(path) >= big:
            print(f"reading {path} ({os.path.getsize(path) / 1e6:.0f} MB) ...", flush=True)


def config_differences(old: Any, new: Any, *, ignore: tuple[str, ...] = (),
                       path: str = "") -> list[str]:
    """The key paths where two resolved configs differ.

    Parameters
    ----------
    old, new : object
        Resolved configs (or parts of them).
    ignore : tuple of str
        Key paths that may differ.
    path : str
        The path of ``old`` and ``new`` (recursion).

    Returns
    -------
    list of str
        ``["model[1]", "optimizer.lr"]``, in the configs' order.
    """
    if path in ignore:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in dict.fromkeys([*old, *new]):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                out.append(sub)
            else:
                out += config_differences(old[key], new[key], ignore=ignore, path=sub)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True))
                for d in config_differences(a, b, ignore=ignore, path=f"{path}[{i}]")]
    return [] if old == new or (isinstance(old, (int, float)) and not isinstance(old, bool)
                                and isinstance(new, (int, float)) and float(old) == float(new)
                                ) else [path or "(the whole config)"]


def _shown(summary: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in summary.items() if k.startswith("test_"))


def train_in(prepared: Run, run_dir: Path, *, quiet: bool, state: dict | None = None) -> int:
    """Train ``prepared`` in ``run_dir``, checkpointing; on SIGINT/SIGTERM save the last epoch.

    A `DivergenceGuard` stops a run whose loss explodes; the run directory then
    keeps the checkpoint of the last good epoch (the guard's reference loss in
    it, so that a resumed run stops where the uninterrupted one would) and
    ``diverged.json``, the error. A ValueError before the first epoch (a
    layer or the engine refusing the data) becomes a one-line `ConfigError`.

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

    Raises
    ------
    ConfigError
        When the Trainer, the engine or a layer refuses the run before its
        first epoch (a ValueError: sparse input into a layer other than
        Linear, ...).
    """
    recorder = Recorder(run_dir, prepared.config["train"]["checkpoint_every"], state,
                        config=prepared.config)
    if not any(type(cb) is DivergenceGuard for cb in prepared.trainer.callbacks):
        # `run` and `resume` pass one to `prepare`, so that a resumed run loads its state
        prepared.trainer.callbacks.append(DivergenceGuard())
    prepared.trainer.callbacks.append(recorder)
    if not quiet and not sys.stdout.isatty():
        prepared.trainer.callbacks.append(EpochLines())
    ds, start = prepared.data, time.perf_counter()
    if not quiet:
        print(describe_task(prepared), flush=True)
        print(prepared.model.summary(ds.X_train.shape[1:]), flush=True)
    resumed_at = prepared.trainer.epoch
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
        epoch = recorder.save()
        mark_diverged(run_dir, str(err), epoch)
        kept = (f"the checkpoint of epoch {epoch}, the last good one" if epoch
                else "no trained epoch")
        print(f"bprop: {err}\nbprop: {run_dir} keeps {kept}; start a new run with the change "
              "suggested above", file=sys.stderr)
        return 1
    except ConfigError:
        raise
    except ValueError as err:
        if prepared.trainer.epoch > resumed_at:
            raise  # not a check before training: a fault in the middle of it
        # the Trainer's (or a layer's) refusal of this run before its first epoch: one line
        raise ConfigError("", str(err)) from None
    summary = write_results(prepared, run_dir, time.perf_counter() - start,
                            resumed_at=resumed_at)
    print(f"{prepared.config['name']}: {_shown(summary)} ({summary['epochs']} epochs, "
          f"{summary['seconds']:.1f} s)\nrun directory: {run_dir}")
    return 0


def describe_task(prepared: Run) -> str:
    """One line saying what the run learns: ``task: classification, 3 classes (...)``.

    Parameters
    ----------
    prepared : Run

    Returns
    -------
    str
    """
    ds, dcfg = prepared.data, prepared.config["data"]
    if ds.task == "classification":
        shown = ", ".join(map(str, ds.classes[:6])) + (" ..." if len(ds.classes) > 6 else "")
        what = f"classification, {len(ds.classes)} classes ({shown})"
    else:
        what = f"regression, {ds.n_outputs} target(s)"
    if "task" in dcfg:  # a file: say how the task was chosen and how to change it
        other = "regression" if ds.task == "classification" else "classification"
        what += f"; data.task: {other} changes it"
    return f"task: {what}"
