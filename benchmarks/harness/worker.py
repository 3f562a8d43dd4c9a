"""Measure one contender in this process: epoch times, references, memory.

The parent (`benchmarks/run.py`) starts one process per measurement, so
every contender's memory is its own and the contenders can be interleaved.
"""

from __future__ import annotations

import importlib
import os
import resource
import sys
import time
from pathlib import Path

from .workload import Case, Reference, load_data

# name -> (module, class, modules to import before the data is loaded)
CONTENDERS = {
    "gemm-bound": ("numpy_loops", "GemmOnly", []),
    "numpy-textbook": ("numpy_loops", "TextbookNumpy", []),
    "numpy-careful": ("numpy_loops", "CarefulNumpy", []),
    "bprop": ("peers", "BpropTrainer", ["bprop.train", "bprop.layers", "bprop.optim"]),
    "bprop-reference": ("peers", "BpropReference", ["bprop.train", "bprop.layers", "bprop.optim"]),
    "bprop-baseline": ("peers", "BpropBaseline", []),
    "bprop-mlp": ("peers", "BpropMLP", ["bprop.estimators"]),
    "sklearn": ("peers", "SklearnMLP", ["sklearn.neural_network"]),
    "torch": ("peers", "Torch", ["torch"]),
}
SETTLE_S = 0.1  # let idle BLAS/OpenMP threads stop spinning between timed sections


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so it covers training only."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_ticks() -> tuple[int, int]:
    """(busy ticks of the whole machine, CPU ticks of this process and its threads)."""
    with open("/proc/stat") as f:
        user, nice, system, _, _, irq, softirq, steal = map(int, f.readline().split()[1:9])
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return user + nice + system + irq + softirq + steal, int(fields[11]) + int(fields[12])


class Section:
    """Times a block and measures how busy *other* processes kept the CPUs meanwhile.

    ``foreign_cores`` is the CPU time (including time the hypervisor stole)
    not spent by this process, in cores: 0 on a quiet machine, about 1 when
    another process kept one core busy. Two-thread BLAS code slows down
    several-fold then, so such samples are set aside by the report.
    """

    def __init__(self) -> None:
        self.ticks, self.start = cpu_ticks(), time.perf_counter()

    def __enter__(self) -> Section:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.seconds = time.perf_counter() - self.start
        (busy0, own0), (busy1, own1) = self.ticks, cpu_ticks()
        hz = os.sysconf("SC_CLK_TCK")
        self.foreign_cores = max(0, (busy1 - busy0) - (own1 - own0)) / hz / self.seconds


def quiet_cores(seconds: float = 0.5) -> float:
    """How many cores other processes keep busy, measured over ``seconds``."""
    with Section() as section:
        time.sleep(seconds)
    return section.foreign_cores


def preload(cases: list[Case]) -> None:
    """Import what the contenders need before the data is loaded (imports are baseline RSS)."""
    for case in cases:
        if case.bprop_path:
            from .peers import load_baseline

            load_baseline(case.bprop_path)
        for module in CONTENDERS[case.contender][2]:
            importlib.import_module(module)


def measure(case: Case) -> dict:
    module, cls_name, _ = CONTENDERS[case.contender]
    preload([case])
    from threadpoolctl import threadpool_info, threadpool_limits

    threads = case.threads or os.cpu_count()
    os.environ["BPROP_BENCH_THREADS"] = str(threads)  # for torch.set_num_threads
    limits = threadpool_limits(threads)
    X, y = load_data(case.data_dir, case.dtype)
    reference = Reference(X, case.batch_size)
    rss_loaded, peak_reset = rss_mb(), reset_peak_rss()
    cls = getattr(importlib.import_module(f"{__package__}.{module}"), cls_name)
    contender = cls(X, y, case.batch_size)
    result = {"case": case.as_dict(), "rss_loaded_mb": rss_loaded, "peak_reset": peak_reset}
    result["bprop_files"] = [sys.modules[m].__file__ for m in ("bprop", "bprop_baseline")
                             if m in sys.modules]
    result["blas"] = [
        {k: info.get(k) for k in ("internal_api", "num_threads", "version", "architecture")}
        for info in threadpool_info()
    ]
    epoch_s, ref_s, losses, foreign = [], [], [], {"epoch": [], "ref": []}

    def timed_reference() -> None:
        time.sleep(SETTLE_S)
        with Section() as section:
            reference.time()
        ref_s.append(section.seconds)
        foreign["ref"].append(section.foreign_cores)
        time.sleep(SETTLE_S)

    if case.mode == "fit":
        timed_reference()
        with Section() as section:
            contender.fit(1 + case.epochs)
        epoch_s.append(section.seconds)
        foreign["epoch"].append(section.foreign_cores)
        timed_reference()
    else:
        timed_reference()
        current = Section()

        def after_epoch(loss: float) -> None:
            nonlocal current
            current.stop()
            epoch_s.append(current.seconds)
            foreign["epoch"].append(current.foreign_cores)
            losses.append(float(loss))
            timed_reference()
            current = Section()

        contender.train(1 + case.epochs, after_epoch)
    limits.restore_original_limits()
    result.update(
        epoch_s=epoch_s, ref_s=ref_s, losses=losses, foreign_cores=foreign,
        peak_rss_mb=peak_rss_mb(), rss_end_mb=rss_mb(),
    )
    return result


def lockstep(cases: list[Case]) -> dict:
    """Train several contenders in one process, taking turns epoch by epoch.

    The host's slow and fast phases last seconds to minutes, and they slow
    element-wise code more than matrix products, so no reference timing cancels
    them fully. Here every contender trains one epoch in turn (each in its own
    thread, one running at a time), so each *round* sees all contenders under
    nearly the same conditions, and ratios are taken round by round.
    Memory is not measured here (the processes of `measure` do that).
    """
    import threading

    names = [c.contender for c in cases]
    preload(cases)
    from threadpoolctl import threadpool_limits

    first = cases[0]
    threads = first.threads or os.cpu_count()
    os.environ["BPROP_BENCH_THREADS"] = str(threads)
    limits = threadpool_limits(threads)
    X, y = load_data(first.data_dir, first.dtype)
    n = len(cases)
    turns = [threading.Event() for _ in cases]
    times: dict[str, list] = {name: [] for name in names}
    busy: dict[str, list] = {name: [] for name in names}
    losses: dict[str, list] = {name: [] for name in names}
    errors: dict[str, str] = {}
    alive = [True] * n

    def pass_turn(i: int) -> None:
        """Wake the next contender still training (a finished or failed one is skipped)."""
        for k in range(1, n + 1):
            if alive[(i + k) % n]:
                turns[(i + k) % n].set()
                return

    def contender_thread(i: int) -> None:
        name = names[i]
        section = None

        def wait_turn() -> None:
            nonlocal section
            turns[i].wait()
            turns[i].clear()
            time.sleep(SETTLE_S)  # let the previous contender's idle threads stop spinning
            section = Section()

        def after_epoch(loss: float) -> None:
            section.stop()
            times[name].append(section.seconds)
            busy[name].append(section.foreign_cores)
            losses[name].append(float(loss))
            pass_turn(i)
            wait_turn()

        wait_turn()
        try:
            module, cls_name, _ = CONTENDERS[name]
            cls = getattr(importlib.import_module(f"{__package__}.{module}"), cls_name)
            cls(X, y, cases[i].batch_size).train(1 + cases[i].epochs, after_epoch)
        except Exception as err:  # reported; the others go on
            errors[name] = f"{type(err).__name__}: {err}"
        finally:
            alive[i] = False
            pass_turn(i)

    workers = [threading.Thread(target=contender_thread, args=(i,)) for i in range(n)]
    for w in workers:
        w.start()
    turns[0].set()
    for w in workers:
        w.join()
    limits.restore_original_limits()
    return {"lockstep": True, "case": first.as_dict(), "contenders": names,
            "epoch_s": times, "foreign_cores": busy, "losses": losses, "errors": errors}
