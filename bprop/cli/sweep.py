"""``bprop sweep CONFIG key=v1,v2 ... [--jobs N | --dask ADDRESS] [--out DIR]``.

One config, run once per point of a grid or a random search (`bprop.config.sweep`).
Every trial is an ordinary ``bprop train`` run directory under ``DIR``, made by
the same code path, so each one can be inspected, resumed or re-run on its own.
Trials run in local processes (joblib) or on a Dask cluster; a failed trial is
recorded and never stops the others; running the same sweep again skips the
finished trials and resumes the interrupted ones from their checkpoints. The
sweep leaves ``sweep.csv`` (one row per trial) and ``sweep.png`` (the trials'
validation curves) in ``DIR``, and prints a table sorted by the monitored metric.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import itertools
import json
import math
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config.fields import ConfigError

EXAMPLES = """examples:
  bprop sweep configs/xor.yaml optimizer.lr=0.01,0.1,1 model.0.out=4,16 train.epochs=50
  bprop sweep configs/digits.yaml optimizer.lr=0.01,0.05 --jobs 2 --out runs/digits-lr
  bprop sweep configs/digits.yaml --dask tcp://scheduler:8786   # the config's sweep: section
  bprop sweep configs/digits.yaml optimizer.lr=0.01,0.05 --out runs/digits-lr  # again: skips
"""
INSTALL_DASK = "pip install 'bprop[dask]'  (or: pip install \"dask[distributed]\")"
STATUSES = ("done", "resumed", "skipped", "failed", "busy", "interrupted")
NOT_RUN = "interrupted before it finished; run the sweep again to resume it"
# What a ConfigError says about a key the config cannot hold (rather than a bad value).
# How long Ctrl-C waits for the running trials of a Dask sweep to checkpoint and stop.
STOP_WAIT_S = 60.0
KEY_ERRORS = ("has no key", "unknown key", "is not an index in", "not a mapping or list")
RUN_FILES = ("config.yaml", "history.csv", "checkpoint.npz", "model.npz", "summary.json",
             "loss_curve.png", "diverged.json")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sweep", help="train one config over a grid or a random search of values",
        description="Train CONFIG once per trial: every combination of the key=v1,v2 lists "
                    "(and of the config's sweep: section, a grid or a random search). Each "
                    "trial is a run directory under --out; the sweep writes sweep.csv and "
                    "sweep.png there. Running it again skips finished trials and resumes "
                    "interrupted ones. Exit status 1 when a trial failed.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", metavar="CONFIG.yaml", help="the base config")
    p.add_argument("overrides", nargs="*", metavar="key.path=v1,v2",
                   help="values to sweep (v1,v2,...) or to fix in every trial (v)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, metavar="N",
                       help="trials at a time in local processes (default: one per core)")
    where.add_argument("--dask", metavar="ADDRESS",
                       help="run the trials on the Dask scheduler at ADDRESS "
                            "(tcp://HOST:PORT)")
    p.add_argument("--out", metavar="DIR",
                   help="the sweep's directory; default runs/<name>-sweep")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the sweep; 0 when every trial finished, 1 when one failed, 130 on Ctrl-C.

    Raises
    ------
    ConfigError
        If the base config, the sweep section, a swept or fixed key, ``--out``
        or an argument is wrong, or if trial directories left by an earlier run
        hold another config (exit status 2 before any trial starts, leaving an
        earlier sweep.csv alone).
    """
    from ..config.loader import TOP, apply_overrides, load_config, load_yaml
    from ..config.sweep import add_params, check_sweep, drop_keys, expand, parse_cli

    if args.jobs is not None and args.jobs < 1:
        raise ConfigError("--jobs", f"must be an integer >= 1, got {args.jobs}")
    if args.out is not None and not args.out.strip():  # Path("") would be the current directory
        raise ConfigError("--out", "is empty; give the sweep directory, or leave --out out "
                                   "for runs/<name>-sweep")
    fixed, swept = parse_cli(args.overrides)
    raw = apply_overrides(load_yaml(args.config), fixed)  # sweep.* overrides act here
    spec, dropped = drop_keys(check_sweep(raw.get("sweep"), keys=TOP), fixed)
    for item in dropped:  # a value fixed on the command line wins over the section's
        print(f"note: {item} (command line) replaces the sweep section's values of "
              f"{item.partition('=')[0].strip()}", file=sys.stderr)
    spec = add_params(spec, swept)
    if not spec["params"]:
        raise ConfigError("sweep", "nothing to sweep: give key.path=v1,v2 on the command "
                                   "line, or a sweep: section with params")
    base = load_config(args.config, fixed)  # a wrong base config stops here, with status 2
    check_keys(args.config, fixed, spec)  # a misspelled swept key too, before any trial
    trials = expand(spec)
    out = _out_dir(args.out or os.path.join("runs", f"{base['name']}-sweep"))
    config = os.path.abspath(args.config)
    # Absolute paths: a Dask worker may run in another directory (of a shared file system).
    fixed = [*fixed, *_absolute_data(base, spec)]
    tasks = {t.name: (config, [*fixed, *t.overrides], str(out / t.name)) for t in trials}
    _check_earlier_trials(list(tasks.values()))  # stop before a trial runs, summary intact
    finished = [t for t in tasks.values() if (Path(t[2]) / "summary.json").is_file()]
    pending = [t for t in tasks.values() if t not in finished]
    runner = _on_dask(args.dask) if args.dask else _on_processes(args.jobs, len(pending))
    out.mkdir(parents=True, exist_ok=True)
    method = "grid" if spec["method"] == "grid" else f"random search (seed {spec['seed']})"
    print(f"sweep: {len(trials)} trials, {method} over {', '.join(spec['params'])}; "
          f"in {out}", flush=True)

    results: dict[str, dict[str, Any]] = {}
    stopped = False
    try:
        with _sigterm_as_ctrl_c():
            # A finished trial is only read (and its config compared), here, not trained.
            done = (run_trial(*task, threads=1) for task in finished)
            for i, result in enumerate(itertools.chain(done, runner(pending)), 1):
                results[result["trial"]] = result
                print(f"[{i}/{len(trials)}] {_line(result)}", flush=True)
    except KeyboardInterrupt:  # the runner stopped its trials; the summary still gets written
        stopped = True
        print("bprop: interrupted; the trials that did not finish are marked interrupted "
              "(run the sweep again to resume them)", file=sys.stderr, flush=True)
    rows = [results.get(t.name) or _result(out / t.name, "interrupted", 0.0, NOT_RUN)
            for t in trials]
    monitor = _monitor(spec["monitor"] or base["train"]["monitor"], rows)
    _write_csv(out / "sweep.csv", trials, rows, monitor)
    print(_table(trials, rows, monitor))
    plot_sweep(out / "sweep.png", trials, rows, monitor, base["name"])
    failed = sum(bool(r["error"]) for r in rows)
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    print(", ".join(f"{n} {s}" for s, n in counts.items() if n)
          + f"; sweep.csv and sweep.png in {out}")
    return 130 if stopped else 1 if failed else 0


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """While the trials run, SIGTERM stops the sweep as Ctrl-C does (a batch system's
    time limit, ``kill``): the trials checkpoint and sweep.csv is written.

    Yields
    ------
    None
        The old handler is back when the block ends. Nothing changes outside the
        main thread, or where SIGTERM is ignored.
    """
    import signal

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = None
    with contextlib.suppress(ValueError):  # signal only works in the main thread
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:
            old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _out_dir(out: str) -> Path:
    """``--out`` as an absolute path, refused at once where a file is in the way."""
    path = Path(out).expanduser().absolute()
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                what = "is a file" if p == path else f"is under {str(p)!r}, a file"
                raise ConfigError("--out", f"{str(path)!r} {what}; give a directory "
                                           f"(new, or an earlier sweep's)")
            break
    return path


def check_keys(config: str, fixed: list[str], spec: dict[str, Any]) -> None:
    """Refuse a swept key that the config does not have, before any trial runs.

    Each swept key is applied, with one of its values, to the base config
    (with the fixed overrides) and the result resolved: a key the config
    cannot hold (``optimizer.lrr``, ``foo.bar``, an index past the model's end)
    is the sweep's error, not every trial's. A value the config refuses
    (``optimizer.lr=-1``) stays one trial's failure.

    Parameters
    ----------
    config : str
        The base config's path.
    fixed : list of str
        The fixed ``key=value`` overrides.
    spec : dict
        The checked sweep spec (`bprop.config.sweep.check_sweep`).

    Raises
    ------
    ConfigError
        Naming the key path, with "did you mean" for a near miss.
    """
    from ..config.loader import load_config
    from ..config.sweep import probe_values

    for key, param in spec["params"].items():
        for text in probe_values(param):
            try:
                load_config(config, [*fixed, f"{key}={text}"])
            except ConfigError as err:
                if any(words in err.message for words in KEY_ERRORS):
                    raise ConfigError(err.path, f"swept key {key!r}: {err.message}") from None
                continue  # a bad value: that trial's failure; try the next value's key
            break  # the key holds this value: it exists


def _absolute_data(base: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    """``data.path=/absolute/path`` when the data is a file found here, so that a trial
    on a worker in another working directory reads the same file."""
    from ..config.sweep import yaml_text

    swept = {k.replace("[", ".").replace("]", "") for k in spec["params"]}
    if "path" not in base["data"] or swept & {"data", "data.path"}:
        return []
    return [f"data.path={yaml_text(base['data']['path'])}"]


def _check_earlier_trials(tasks: list[tuple]) -> None:
    """Stop, before any trial runs, when trial directories hold another config's runs."""
    changed = []
    for config, overrides, run_dir in tasks:
        with contextlib.suppress(ConfigError):  # a trial's own bad value: its failure later
            where = _differs(config, overrides, Path(run_dir))
            if where:
                changed.append((Path(run_dir).name, where))
    if changed:
        keys = ", ".join(dict.fromkeys(w for _, w in changed))
        raise ConfigError(str(Path(tasks[0][2]).parent),
                          f"{len(changed)} trial director{'y' if len(changed) == 1 else 'ies'} "
                          f"(e.g. {changed[0][0]}) were run with another config ({keys} "
                          f"changed); nothing was run and the earlier sweep.csv is kept; "
                          f"delete them or sweep into another --out")


# -- where the trials run ---------------------------------------------------


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def plan(jobs: int | None, n: int, cores: int) -> tuple[int, int]:
    """Trials at a time and BLAS threads per trial, with ``jobs x threads <= cores``.

    Parameters
    ----------
    jobs : int or None
        Asked for (None: one per core); never more than the cores or the trials.
    n : int
        Trials to run.
    cores : int
        CPU cores this process may use.

    Returns
    -------
    jobs, threads : int
        Every core used, none oversubscribed (numpy's BLAS would otherwise start
        one thread per core in every one of the ``jobs`` processes).
    """
    jobs = max(1, min(jobs or cores, cores, n))
    return jobs, max(1, cores // jobs)


def _on_processes(jobs: int | None, n: int) -> Any:
    """Run tasks in ``jobs`` local processes at a time, each with cores // jobs BLAS threads.

    Every trial gets a process of its own: one that dies (killed, out of
    memory) fails that trial only, never the sweep. With one job at a time the
    trials run in this process. A trial stopped by SIGINT or SIGTERM (it
    checkpointed, status ``interrupted``) stops the sweep: no further trial
    starts, the running ones are waited for, and the runner raises
    KeyboardInterrupt, as if this process had seen the signal too (it need
    not have: the signal may have reached the trials alone, or this process
    may ignore SIGINT, as a background job of a script does).
    """
    cores = _cores()
    if jobs is not None and jobs > cores:
        print(f"--jobs {jobs} > {cores} cores: running {cores} trials at a time, so that "
              "trials x BLAS threads stays within the cores", file=sys.stderr)
    jobs, threads = plan(jobs, n, cores)

    def runner(tasks: list[tuple]) -> Iterator[dict[str, Any]]:
        if not tasks:
            return
        print(f"running {len(tasks)} trial(s): {jobs} at a time, {threads} BLAS "
              f"thread(s) each", flush=True)
        if jobs == 1:
            for task in tasks:
                result = run_trial(*task, threads=threads)
                yield result
                if result["status"] == "interrupted":  # Ctrl-C reached the trial: stop here
                    raise KeyboardInterrupt
            return
        yield from _in_processes(tasks, jobs, threads)

    return runner


def _in_processes(tasks: list[tuple], jobs: int, threads: int) -> Iterator[dict[str, Any]]:
    """Each task in a process of its own, ``jobs`` at a time; results as they finish."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    # forkserver: forked from a clean process (not from this one's threads), quickly.
    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods()
                         else "spawn")
    queue, running = list(tasks), {}  # sentinel -> (process, receiving end, task)
    stopping = False  # a trial was interrupted by a signal: start no more
    try:
        while running or (queue and not stopping):
            while queue and len(running) < jobs and not stopping:
                task = queue.pop(0)
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(send, task, threads), daemon=True)
                proc.start()
                send.close()
                running[proc.sentinel] = (proc, recv, task)
            for sentinel in wait(list(running)):
                proc, recv, task = running.pop(sentinel)
                result = _collect(proc, recv, task)
                stopping = stopping or result["status"] == "interrupted"
                yield result
        if stopping:  # the trials saw Ctrl-C (or SIGTERM), this process did not
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        # Ctrl-C reached the trials too (one process group): each saves a checkpoint.
        # A SIGINT sent to this process alone does not: pass it on after a moment.
        deadline = time.monotonic() + 2.0
        for proc, _, _ in running.values():
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.terminate()  # SIGTERM: `bprop train` checkpoints and stops
        for proc, recv, task in running.values():
            proc.join(30.0)
            if proc.is_alive():
                proc.kill()
                proc.join()
            yield _collect(proc, recv, task)
        raise


def _child(send: Any, task: tuple, threads: int) -> None:
    """A trial's process: run it, send the result back."""
    result = run_trial(*task, threads=threads)
    send.send(result)
    send.close()


def _collect(proc: Any, recv: Any, task: tuple) -> dict[str, Any]:
    """The result a trial's process sent, or a failed trial's where it sent none."""
    proc.join()
    try:
        if recv.poll():
            return recv.recv()
    except (EOFError, OSError):
        pass
    finally:
        recv.close()
    code = proc.exitcode
    how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
    return _result(Path(task[2]), "failed", 0.0, f"worker died ({how}) before the trial "
                                                 f"finished")


def _on_dask(address: str) -> Any:
    """Run tasks on the Dask scheduler at ``address``; errors exit with status 2."""
    try:
        from distributed import Client, Event, as_completed, wait
        from distributed.comm.registry import backends
    except ImportError:
        raise ConfigError("--dask", f"needs Dask's distributed scheduler, which is not "
                                    f"installed; install it with {INSTALL_DASK}") from None
    scheme, sep, rest = address.partition("://")
    if (sep and scheme not in backends) or not (rest if sep else address).strip():
        raise ConfigError("--dask", f"{address!r} is not a scheduler address; give "
                                    f"SCHEME://HOST:PORT with SCHEME one of "
                                    f"{', '.join(sorted(backends))} (e.g. tcp://host:8786)")
    client = None
    try:
        client = Client(address, timeout=10, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise ConfigError("--dask", f"cannot reach a Dask scheduler at {address!r}: "
                                    f"{err}") from None

    def runner(tasks: list[tuple]) -> Iterator[dict[str, Any]]:
        with client:
            if not tasks:
                return
            print(f"running {len(tasks)} trial(s) on the Dask cluster at {address}",
                  flush=True)
            stop = f"bprop-sweep-stop-{uuid.uuid4().hex}"
            # every worker's host and threads: a trial's BLAS threads are its host's share
            cluster = {address: {"host": w.get("host"), "nthreads": w.get("nthreads")}
                       for address, w in client.scheduler_info()["workers"].items()}
            # pure=False: a trial is run for its files, never taken from a cache.
            futures = {client.submit(run_trial, *task, stop=stop, cluster=cluster,
                                     pure=False): task
                       for task in tasks}
            seen = set()
            try:
                for future in as_completed(futures, loop=client.loop):
                    seen.add(future)
                    yield _from_future(future, futures[future])
            except KeyboardInterrupt:
                # Drop the trials not started; tell the running ones to checkpoint and
                # stop, and wait for them: none trains on after the sweep said it stopped.
                Event(stop, client=client).set()
                left = [f for f in futures if f not in seen]
                running = {k for keys in client.processing().values() for k in keys}
                client.cancel([f for f in left if f.key not in running])
                with contextlib.suppress(Exception):
                    wait([f for f in left if f.key in running], timeout=STOP_WAIT_S)
                for future in left:
                    if future.status in ("finished", "error"):
                        yield _from_future(future, futures[future])
                client.cancel(left)  # any that did not stop in time
                raise

    return runner


def _from_future(future: Any, task: tuple) -> dict[str, Any]:
    if future.status == "finished":
        return future.result()
    # the worker died (killed, out of memory): the trial failed
    err = future.exception()
    return _result(Path(task[2]), "failed", 0.0, f"worker died: {type(err).__name__}: {err}")


def threads_per_trial(cores: int, host: str, workers: dict[str, dict[str, Any]]) -> int:
    """BLAS threads for one trial on a Dask worker of ``host``: the host's cores shared
    by every worker thread on that host (each thread may run a trial at once).

    Parameters
    ----------
    cores : int
        CPU cores of this host (this process may use).
    host : str
        The worker's host, as the scheduler names it.
    workers : dict of str to dict
        The scheduler's workers (``Client.scheduler_info()["workers"]``), each
        with its ``host`` and ``nthreads``.

    Returns
    -------
    int
        ``max(1, cores // threads)``, ``threads`` the worker threads on
        ``host``: trials x BLAS threads stay within its cores (two workers of
        one thread each on 2 cores: 1 BLAS thread per trial, not 2).
    """
    total = sum(int(w.get("nthreads") or 1) for w in workers.values() if w.get("host") == host)
    return max(1, cores // max(1, total))


def _worker_threads(cluster: dict[str, dict[str, Any]] | None = None) -> int:
    """BLAS threads for a trial on a Dask worker (`threads_per_trial`); all the cores
    when not on a worker.

    Parameters
    ----------
    cluster : dict of str to dict, optional
        The scheduler's workers when the sweep submitted the trial
        (``Client.scheduler_info()["workers"]``): the other workers of this
        host share its cores. None: this worker's threads alone.

    Returns
    -------
    int
    """
    try:
        from distributed import get_worker
        from distributed.comm import get_address_host

        worker = get_worker()
    except (ImportError, ValueError, AttributeError):  # not on a Dask worker
        return _cores()
    host = get_address_host(worker.address)
    # Worker.state.nthreads (distributed >= 2022.11; Worker.nthreads before it)
    nthreads = getattr(getattr(worker, "state", None), "nthreads", None) or getattr(
        worker, "nthreads", 1)
    return threads_per_trial(_cores(), host,
                             {**(cluster or {}), worker.address: {"host": host,
                                                                  "nthreads": nthreads}})


# -- one trial ----------------------------------------------------------------


def run_trial(config: str, overrides: list[str], run_dir: str,
              threads: int | None = None, stop: str | None = None,
              cluster: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Train one trial with ``bprop train`` (or resume it, or read its finished result).

    Runs in a worker process or thread; never raises, so that one trial's
    failure never stops the others.

    Parameters
    ----------
    config : str
        The base config's path (absolute: workers may run elsewhere).
    overrides : list of str
        ``key=value`` overrides of this trial.
    run_dir : str
        The trial's run directory (new, or left by an earlier run of the sweep).
    threads : int, optional
        BLAS threads for this trial; default: the Dask worker's share of its cores.
    stop : str, optional
        On a Dask worker: the name of a `distributed.Event` that, once set, stops
        the trial as Ctrl-C would (a checkpoint, status ``interrupted``).
    cluster : dict of str to dict, optional
        On a Dask worker: the scheduler's workers (host and threads of each),
        so that the trial's BLAS threads are its host's cores shared by every
        worker thread there (`threads_per_trial`).

    Returns
    -------
    dict
        ``trial`` (the directory's name), ``status`` (``done``, ``resumed``,
        ``skipped``, ``failed``, ``busy`` (another sweep trains it now) or
        ``interrupted``), ``error`` (one line; empty
        unless failed or interrupted),
        ``summary`` (summary.json), ``epochs``, ``seconds``, and
        ``blas_threads`` (the most threads a BLAS library had while it ran).
    """
    from threadpoolctl import threadpool_info, threadpool_limits

    path, start, rc = Path(run_dir), time.perf_counter(), None
    threads = threads or _worker_threads(cluster)
    with threadpool_limits(limits=threads), _captured() as log:
        blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        status = "failed"
        try:
            with _stopped_by(stop), TrialLock(path):
                status, rc = _train(config, overrides, path)
            error = "" if rc == 0 else _error_line(log.getvalue(), rc)
        except Stop:  # arrived just before or after training: nothing lost
            status, rc, error = "interrupted", 130, NOT_RUN
        except Busy as err:  # another sweep trains it now: leave it to that one
            status, error = "busy", str(err)
        except ConfigError as err:  # raised before `bprop train` ran: a directory clash
            error = str(err)
        except Exception as err:  # a bug in one trial is that trial's failure, not the sweep's
            error = f"{type(err).__name__}: {err}"
    if error and status not in ("busy", "interrupted"):
        # 128 + signal: stopped by SIGINT/SIGTERM with a checkpoint; the next run resumes it.
        status = "interrupted" if isinstance(rc, int) and rc > 128 else "failed"
    return {**_result(path, status, time.perf_counter() - start, error),
            "blas_threads": max(blas, default=threads)}


class Stop(Exception):
    """Raised in a trial's thread when its sweep was stopped (a Dask sweep's Ctrl-C)."""


def _stop_exception() -> type:
    from .train import Interrupted

    class Stopped(Stop, Interrupted):
        """`bprop train` takes it for SIGINT: it saves a checkpoint and stops."""

        def __init__(self) -> None:
            import signal

            Interrupted.__init__(self, signal.SIGINT)

    return Stopped


@contextlib.contextmanager
def _stopped_by(name: str | None) -> Iterator[None]:
    """While the block runs, stop this thread when the Dask event ``name`` is set.

    Signals reach only a process's main thread, and a Dask worker runs trials in
    other threads: the exception is raised in the trial's thread instead.
    """
    if not name:
        yield
        return
    import ctypes

    from distributed import Event

    target, done, lock = threading.get_ident(), threading.Event(), threading.Lock()
    exc = _stop_exception()
    event = Event(name)
    if event.is_set():  # the sweep stopped before this trial started: leave it as it is
        raise exc()

    def watch() -> None:
        with contextlib.suppress(Exception):  # the scheduler went away: nothing to watch
            while not done.is_set():
                if event.wait(timeout=0.5):
                    with lock:
                        if not done.is_set():
                            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                                ctypes.c_ulong(target), ctypes.py_object(exc))
                    return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        with lock:
            done.set()


def _train(config: str, overrides: list[str], path: Path) -> tuple[str, int]:
    """``bprop train`` for a new trial, ``bprop train --resume`` for an interrupted one."""
    from .app import main

    if path.is_dir() and any(path.iterdir()):
        _check_same_run(config, overrides, path)
        if (path / "summary.json").is_file():
            return "skipped", 0
        if (path / "checkpoint.npz").is_file():
            rc = main(["train", "--resume", str(path), "--quiet"])
            if rc != 0 or (path / "summary.json").is_file():
                return "resumed", rc
            # Trained to the end but stopped before summary.json: a run is
            # reproducible, so training it again gives what it would have written.
        # Stopped before its first checkpoint (or failed to start): start it again.
        for name in RUN_FILES:
            (path / name).unlink(missing_ok=True)
        if any(path.iterdir()):
            raise ConfigError(str(path), "holds files that are not a run's; move them away")
    return "done", main(["train", config, *overrides, "--out", str(path), "--quiet"])


def _check_same_run(config: str, overrides: list[str], path: Path) -> None:
    """Refuse to skip or resume a directory whose config.yaml is another run's."""
    where = _differs(config, overrides, path)
    if where:
        raise ConfigError(str(path), f"was run with another config ({where} differs); "
                                     f"delete it or sweep into another --out")


def _differs(config: str, overrides: list[str], path: Path) -> str | None:
    """The first key path where ``path``'s config.yaml differs from this trial's
    config, or None (also for a directory with nothing of a run in it).

    Raises
    ------
    ConfigError
        If the directory holds a run's files but no config.yaml.
    """
    from ..config.loader import dump, load_config, load_text, load_yaml

    if not (path / "config.yaml").is_file():
        if not (path / "summary.json").is_file() and not (path / "checkpoint.npz").is_file():
            return None  # nothing of a run to keep
        raise ConfigError(str(path), "has no config.yaml; not a run directory")
    want = load_text(dump(load_config(config, overrides)))
    have = load_yaml(str(path / "config.yaml"))
    for key, value in want.items():
        if value is None:  # a default decided by the data (the loss): filled in by the run
            continue
        inner = value if isinstance(value, dict) else {"": value}
        stored = have.get(key) if isinstance(value, dict) else {"": have.get(key)}
        for k, v in inner.items():
            if (key, k, v) in (("data", "task", "auto"), ("data", "zero_based", None)):
                continue  # decided by the data, like the loss
            if not isinstance(stored, dict) or stored.get(k) != v:
                return f"{key}.{k}" if k else key
    return None


# -- a lock per trial directory: two sweeps never train into the same one ------------

#: A lock whose holder has not touched it for this long is stale (its machine died).
STALE_S = 600.0
HEARTBEAT_S = 60.0


class Busy(Exception):
    """The trial directory is locked by a live run of another sweep."""


class TrialLock:
    """``.<trial>.lock`` beside a trial's directory, made with O_EXCL, for one trainer.

    The file holds the holder's pid, host and start time, and is touched every
    `HEARTBEAT_S` while the trial runs. A lock is stale, and taken over, when
    its holder is a process of this host that no longer exists, or when it was
    not touched for `STALE_S` (a holder on another machine that died).

    Parameters
    ----------
    run_dir : Path
        The trial's run directory.

    Raises
    ------
    Busy
        On entering, if a live holder has the lock.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir.parent / f".{run_dir.name}.lock"
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> TrialLock:
        import socket

        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                         "thread": threading.get_ident(), "since": time.time()})
        for _ in range(2):  # a second try after removing a stale lock
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is not None:
                    raise Busy(holder) from None
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                continue
            with os.fdopen(fd, "w") as f:
                f.write(me + "\n")
            self._beat = threading.Thread(target=self._heartbeat, daemon=True)
            self._beat.start()
            return self
        raise Busy(f"{self.path} is being taken by another sweep at this moment")

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with contextlib.suppress(OSError):
                os.utime(self.path)

    def _holder(self) -> str | None:
        """Who holds the lock, as a sentence, or None when the lock is stale."""
        import socket

        try:
            age = time.time() - self.path.stat().st_mtime
            info = json.loads(self.path.read_text() or "{}")
        except FileNotFoundError:
            return None  # released meanwhile
        except (OSError, ValueError):
            info, age = {}, 0.0  # being written: a live holder
        if age > STALE_S:
            return None
        pid, host = info.get("pid"), info.get("host")
        if host == socket.gethostname() and isinstance(pid, int) and not _alive(pid):
            return None
        since = time.strftime("%H:%M:%S", time.localtime(info.get("since", time.time())))
        return (f"another sweep is training this trial (pid {pid} on {host}, since "
                f"{since}; lock {self.path}); run the sweep again when it has finished")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _error_line(log: str, rc: int) -> str:
    """The one line that says why ``bprop train`` failed, from what it printed."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("bprop: "):
            return ln.removeprefix("bprop: ").removeprefix("error: ")
    for i, ln in enumerate(lines):
        if ln.startswith("SIG"):  # interrupted: "SIGTERM: checkpoint of epoch 3 saved in
            # DIR; continue with" and, on the next line, the command that continues it
            more = lines[i + 1] if ln.endswith("continue with") and i + 1 < len(lines) else ""
            return f"{ln} {more}".strip()
    return lines[-1] if lines else f"bprop train exited with status {rc}"


def _result(path: Path, status: str, seconds: float, error: str) -> dict[str, Any]:
    from .rundir import read_history

    summary: dict[str, Any] = {}
    if not error:
        with contextlib.suppress(OSError, ValueError):
            summary = json.loads((path / "summary.json").read_text())
    epochs = summary.get("epochs", len(read_history(path / "history.csv")))
    return {"trial": path.name, "status": status, "error": error, "summary": summary,
            "epochs": epochs, "seconds": round(summary.get("seconds", seconds), 3)}


# Trials on a Dask worker share one process as threads: each one's output goes to
# its own buffer, by thread, so that its error line is its own.
_LOCAL = threading.local()
_LOCK = threading.Lock()
_STREAMS: dict[str, Any] = {"saved": None, "users": 0}


class _ByThread(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr: a capturing thread's text goes to its
    buffer, any other thread's to the stream it replaced."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        buf = getattr(_LOCAL, "buf", None)
        return (buf if buf is not None else self.stream).write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def _captured() -> Iterator[io.StringIO]:
    """Capture this thread's stdout and stderr text (other threads' passes through)."""
    with _LOCK:
        if _STREAMS["users"] == 0:
            _STREAMS["saved"] = sys.stdout, sys.stderr
            sys.stdout, sys.stderr = _ByThread(sys.stdout), _ByThread(sys.stderr)
        _STREAMS["users"] += 1
    _LOCAL.buf = io.StringIO()
    try:
        yield _LOCAL.buf
    finally:
        _LOCAL.buf = None
        with _LOCK:
            _STREAMS["users"] -= 1
            if _STREAMS["users"] == 0:  # the last capture ended: put the streams back
                sys.stdout, sys.stderr = _STREAMS["saved"]


# -- the summary: sweep.csv, the table, sweep.png ------------------------------


def _monitor(wanted: str, rows: list[dict[str, Any]]) -> str:
    """The summary key to sort by: ``wanted``, or the training loss when the trials
    have no validation data (sorting by a test metric would be selecting on it)."""
    key = "train_loss" if wanted == "loss" else wanted
    if any(key in r["summary"] for r in rows) or not any(r["summary"] for r in rows):
        return key
    print(f"(no trial has {key}, e.g. data.val_size is 0: sorting by train_loss)")
    return "train_loss"


def _metrics(rows: list[dict[str, Any]], monitor: str) -> list[str]:
    keys = [monitor]
    for r in rows:
        keys += [k for k, v in r["summary"].items() if k.startswith(("test_", "val_"))
                 and isinstance(v, (int, float)) and k not in keys]
    return keys + ([] if "train_loss" in keys else ["train_loss"])


def _ranked(rows: list[dict[str, Any]], monitor: str) -> list[int]:
    """Trial indices, best first by ``monitor``; failed and unmeasured trials last."""
    from ..config.sweep import maximize

    sign = -1 if maximize(monitor) else 1

    def key(i: int) -> tuple[int, float]:
        v = rows[i]["summary"].get(monitor)
        ok = isinstance(v, (int, float)) and not math.isnan(v)
        return (0, sign * v) if ok else (1, 0.0)

    return sorted(range(len(rows)), key=key)


def _fmt(v: Any, digits: int = 6) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.{digits}g}"
    return "" if v is None else str(v)


def _line(r: dict[str, Any]) -> str:
    shown = ", ".join(f"{k} {v:.4g}" for k, v in r["summary"].items()
                      if k.startswith(("val_", "test_")))
    what = r["error"] if r["error"] else f"{shown} ({r['epochs']} epochs)"
    return f"{r['status']:<8} {r['trial']}: {what}"


def _write_csv(path: Path, trials: list, rows: list[dict[str, Any]], monitor: str) -> None:
    """sweep.csv: one row per trial, in the sweep's order."""
    from ..modelfile import atomic_write

    keys = [k for k, _ in trials[0].values]
    metrics = _metrics(rows, monitor)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["trial", *keys, "status", *metrics, "epochs", "seconds", "error"])
    for t, r in zip(trials, rows, strict=True):
        writer.writerow([r["trial"], *(v for _, v in t.values), r["status"],
                         *(_fmt(r["summary"].get(m)) for m in metrics), r["epochs"],
                         _fmt(r["seconds"]), r["error"]])
    atomic_write(path, buf.getvalue())


def _table(trials: list, rows: list[dict[str, Any]], monitor: str) -> str:
    """The trials as a text table, best first by ``monitor``."""
    keys = [k for k, _ in trials[0].values]
    shown = [m for m in _metrics(rows, monitor) if m == monitor or m.startswith("test_")]
    header = ["#", *keys, "status", *shown, "epochs", "seconds"]
    body = []
    for rank, i in enumerate(_ranked(rows, monitor), 1):
        r = rows[i]
        body.append([str(rank), *(v for _, v in trials[i].values), r["status"],
                     *(_fmt(r["summary"].get(m), 4) for m in shown), str(r["epochs"]),
                     f"{r['seconds']:.2f}"])
    widths = [max(len(row[c]) for row in [header, *body]) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *body]]
    notes = []
    for status in ("failed", "busy", "interrupted"):
        which = [f"  {r['trial']}: {r['error']}" for r in rows
                 if r["error"] and r["status"] == status]
        notes += [f"{status}:", *which] if which else []
    return "\n".join([f"sorted by {monitor}:", *lines, *notes])


def plot_sweep(path: Path, trials: list, rows: list[dict[str, Any]], monitor: str,
               title: str) -> Any:
    """The trials' validation curves overlaid (the training loss where there is no
    validation data), the best trials labelled; matplotlib's Agg backend.

    The loss panel has a log axis when the trials' losses span more than 100
    times (`bprop.plots.wide_range`, the rule of each run's loss_curve.png).

    Parameters
    ----------
    path : Path
        The PNG to write (atomically), in the sweep's directory.
    trials : list of Trial
        The sweep's trials, in order.
    rows : list of dict
        Their results (`run_trial`), in the same order.
    monitor : str
        The summary key that ranks them (the 8 best are labelled).
    title : str
        The base config's name.

    Returns
    -------
    matplotlib.figure.Figure
        The figure written (closed).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plots import wide_range
    from .rundir import read_history

    histories = [read_history(Path(path).parent / r["trial"] / "history.csv") for r in rows]
    has = {k: any(not math.isnan(h.get(k, math.nan)) for hist in histories for h in hist)
           for k in ("val_loss", "val_accuracy")}
    loss_key = "val_loss" if has["val_loss"] else "loss"
    panels = [loss_key] + (["val_accuracy"] if has["val_accuracy"] else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels) + 2, 3.8), dpi=100,
                             squeeze=False)
    labelled = set(_ranked(rows, monitor)[:8])  # a legend of more lines reads as noise
    for i, (hist, r) in enumerate(zip(histories, rows, strict=True)):
        if not hist:
            continue
        label = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in trials[i].values)
        style = {"ls": "--" if r["error"] else "-", "lw": 1.2,
                 "label": label if i in labelled else None,
                 "color": None if i in labelled else "0.75"}
        for ax, key in zip(axes[0], panels, strict=True):
            ax.plot([h["epoch"] for h in hist], [h.get(key, math.nan) for h in hist], **style)
    for ax, key in zip(axes[0], panels, strict=True):
        what = "training loss" if key == "loss" else key.replace("val_", "validation ")
        ax.set(xlabel="epoch", ylabel=what, title=f"{title}: {what}")
        ax.grid(alpha=0.3)
    # one diverged trial (a loss of 1e6) would flatten every other curve: the run's own
    # loss plot's rule (bprop.plots.wide_range) puts the losses on a log axis then
    if wide_range(h.get(loss_key, math.nan) for hist in histories for h in hist):
        axes[0, 0].set_yscale("log")
    if axes[0, -1].get_legend_handles_labels()[0]:
        axes[0, -1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    from ..modelfile import atomic_write

    atomic_write(path, lambda f: fig.savefig(f, format="png"))
    plt.close(fig)
    return fig
