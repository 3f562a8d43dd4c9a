"""bprop against its peers: seconds per epoch, ratios to the GEMM bound, memory.

Usage::

    make bench                                  # the full run (about 10 minutes)
    .venv/bin/python benchmarks/run.py --quick  # batch 128, float32 (about a minute)
    .venv/bin/python benchmarks/run.py --batch-sizes 32 --dtypes float64 --rounds 5
    .venv/bin/python benchmarks/run.py --baseline /tmp/old  # adds bprop from /tmp/old/bprop

Two kinds of measurement for every setting (batch size, dtype):

- Speed, in *lockstep*: one process trains every contender, one epoch each in
  turn, for ``--rounds`` rounds after a warm-up round. The host has slow and
  fast phases (seconds to minutes, up to 2x) that no process can see, so
  ratios are taken round by round, between epochs run seconds apart.
- Memory and first-epoch cost: every contender alone in its own process
  (imports and data loaded first), with a reference (a quarter epoch of the
  GEMM bound) timed before and after each epoch for normalized times.

Runs wait for other processes to go quiet, and sections during which other
processes kept the CPUs busy are left out. Results go to
``benchmarks/results/`` as markdown and JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from harness import report
from harness.workload import Case, ensure_data

HERE = Path(__file__).resolve().parent
ALL = ["gemm-bound", "bprop", "bprop-reference", "bprop-mlp", "numpy-careful", "numpy-textbook",
       "sklearn", "torch"]
FIT = ["bprop", "bprop-mlp", "sklearn"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="batch 128, float32, 2 rounds, one process each (about a minute)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 32, 512])
    p.add_argument("--dtypes", nargs="+", default=["float32", "float64"],
                   choices=["float32", "float64"])
    p.add_argument("--contenders", nargs="+", default=ALL, choices=ALL)
    p.add_argument("--rounds", nargs="+", default=["5"],
                   help="timed lockstep rounds: N for every batch size, B:N for batch B")
    p.add_argument("--reps", nargs="+", default=["1"],
                   help="single-contender processes (memory, first epoch) per contender: "
                   "N or B:N as for --rounds")
    p.add_argument("--epochs", type=int, default=1,
                   help="timed epochs per single-contender process, after a warm-up one")
    p.add_argument("--fit-batch-sizes", type=int, nargs="*", default=[],
                   help="settings where whole fit() calls are also timed, one process each")
    p.add_argument("--baseline", type=Path, default=None,
                   help="a folder holding another bprop/ package: adds it as contender "
                   "'bprop-baseline', to measure a change before and after")
    p.add_argument("--threads", type=int, default=0, help="BLAS/torch threads (0: all cores)")
    p.add_argument("--max-wait", type=float, default=60.0,
                   help="seconds to wait for other processes to go quiet before each run")
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--name", default=None, help="result file stem (default: bench or quick)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.batch_sizes, args.dtypes, args.rounds, args.reps = [128], ["float32"], ["2"], ["1"]
    args.rounds, args.reps = per_batch(args.rounds), per_batch(args.reps)
    args.name = args.name or ("quick" if args.quick else "bench")
    return args


def per_batch(tokens: list[str]) -> dict[int | None, int]:
    """``["4", "32:3"]`` -> ``{None: 4, 32: 3}`` (None: every other batch size)."""
    counts: dict[int | None, int] = {None: 1}
    for token in tokens:
        batch, _, n = token.rpartition(":")
        counts[int(batch) if batch else None] = int(n)
    return counts


def plan(args: argparse.Namespace, data_dir: Path) -> list[list[Case]]:
    """Jobs, in order: per setting one lockstep job (all contenders), then the
    single-contender processes, rotated from one repetition to the next."""
    jobs: list[list[Case]] = []
    for bs in args.batch_sizes:
        for dtype in args.dtypes:
            common = dict(batch_size=bs, dtype=dtype, threads=args.threads,
                          data_dir=str(data_dir))
            names = list(args.contenders)
            rounds = args.rounds.get(bs, args.rounds[None])
            lock = [Case(c, epochs=rounds, mode="lockstep", **common) for c in names]
            if args.baseline:
                lock.insert(2, Case("bprop-baseline", epochs=rounds, mode="lockstep",
                                    bprop_path=str(args.baseline), **common))
            jobs.append(lock)
            single = [Case(c, epochs=args.epochs, **common) for c in names]
            if bs in args.fit_batch_sizes:
                single += [Case(c, epochs=args.epochs, mode="fit", **common)
                           for c in FIT if c in names]
            for rep in range(args.reps.get(bs, args.reps[None])):
                k = rep % len(single)
                jobs += [[c] for c in single[k:] + single[:k]]
    return jobs


def wait_for_quiet(max_wait: float) -> float:
    """Wait until other processes use less than FOREIGN_MAX cores; returns the seconds waited."""
    from harness.worker import quiet_cores

    start = time.perf_counter()
    while quiet_cores() > report.FOREIGN_MAX and time.perf_counter() - start < max_wait:
        time.sleep(2.0)
    return time.perf_counter() - start


def run_job(cases: list[Case]) -> dict:
    spec = json.dumps([c.as_dict() for c in cases])
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", spec]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"case": cases[0].as_dict(), "error": f"exit {proc.returncode}: {tail}",
            "lockstep": cases[0].mode == "lockstep"}


def worker(spec: str) -> None:
    from harness.worker import lockstep, measure

    cases = [Case(**c) for c in json.loads(spec)]
    try:
        result = lockstep(cases) if cases[0].mode == "lockstep" else measure(cases[0])
    except Exception as err:  # reported in the table, never hides the others
        result = {"case": cases[0].as_dict(), "error": f"{type(err).__name__}: {err}",
                  "lockstep": cases[0].mode == "lockstep"}
    print("RESULT " + json.dumps(result), flush=True)


def counts_text(counts: dict[int | None, int], batch_sizes: list[int]) -> str:
    return ", ".join(f"{counts.get(b, counts[None])} at batch {b}" for b in batch_sizes)


def machine() -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                if ln.startswith("model name")), platform.processor())
    mem = next((int(ln.split()[1]) // 1024 for ln in open("/proc/meminfo")
                if ln.startswith("MemTotal")), 0)
    versions = {}
    for pkg in ("numpy", "scipy", "scikit-learn", "torch", "threadpoolctl", "bprop"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mb": mem,
            "python": platform.python_version(), "os": platform.platform(), "versions": versions}


def write(args: argparse.Namespace, results: list[dict], info: dict) -> Path:
    settings = report.summarize(results)
    args.out.mkdir(parents=True, exist_ok=True)
    blas = next((r["blas"] for r in results if "blas" in r), [])
    q = report.quietness(results)
    payload = {"machine": info, "quietness": q, "blas": blas, "settings": settings,
               "raw": results}
    (args.out / f"{args.name}.json").write_text(json.dumps(payload, indent=1))
    v = info["versions"]
    md = [
        f"# bprop benchmark ({args.name})", "",
        f"Measured {info['finished']} on {info['cpu']}, {info['cores']} cores, "
        f"{info['memory_mb'] // 1024} GiB; Python {info['python']}, numpy {v['numpy']}, "
        f"scipy {v['scipy']}, scikit-learn {v['scikit-learn']}, torch {v['torch']}; "
        f"{args.threads or info['cores']} threads; load average before/after "
        f"{info['load_before']:.2f}/{info['load_after']:.2f}; {info['seconds']:.0f} s in all "
        f"({info['waited']:.0f} s waiting for other processes to go quiet).", "",
        f"Quietness: other processes kept {q['median_foreign_cores']:.2f} cores busy "
        f"(median over the timed sections; at most {q['max_foreign_cores']:.2f}); "
        f"{q['disturbed']} of {q['sections']} timed sections had more than "
        f"{report.FOREIGN_MAX} cores busy elsewhere and are left out.", "",
        f"MLP 784-256-128-10, ReLU, softmax cross-entropy, SGD lr 0.01, momentum 0.9, "
        f"weight decay 1e-4, 60000 x 784 samples reshuffled each epoch. Lockstep rounds "
        f"after a warm-up round: {counts_text(args.rounds, args.batch_sizes)}. "
        f"Single-contender processes: {counts_text(args.reps, args.batch_sizes)}, "
        f"{args.epochs} timed epoch(s) each after a warm-up epoch.",
        "", "## Summary", "",
        "Seconds per epoch and ratios from the lockstep rounds (medians; the ratio to the "
        "GEMM bound with its range over rounds); memory from single-contender processes.", "",
        report.summary_table(settings), "## Details", "",
        "Columns: seconds per epoch and ratio to the GEMM bound in the lockstep rounds "
        "(median [min–max]); bprop ÷ it, per round; the warm-up (first) epoch; the ratio "
        "to the GEMM bound measured alone, each process normalized by its reference; the "
        "peak RSS while training over the RSS after imports and data; the last training "
        "loss (scikit-learn's and bprop MLPClassifier's include the L2 term).", "",
    ] + [report.markdown_setting(s) for s in settings]
    path = args.out / f"{args.name}.md"
    path.write_text("\n".join(md))
    return path


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        return worker(args.worker)
    start, info = time.time(), machine()
    info["load_before"] = os.getloadavg()[0]
    jobs = plan(args, ensure_data())
    results, waited = [], 0.0
    for done, cases in enumerate(jobs, 1):
        waited += wait_for_quiet(args.max_wait)
        r = run_job(cases)
        results.append(r)
        case = cases[0]
        if "error" in r:
            what = r["error"]
        elif r.get("lockstep"):
            what = "; ".join(f"{k} {' '.join(f'{t:.2f}' for t in v)}"
                             for k, v in r["epoch_s"].items())
        else:
            what = " ".join(f"{t:.2f}" for t in r["epoch_s"])
        print(f"[{done}/{len(jobs)}] b{case.batch_size} {case.dtype} "
              f"{'lockstep' if r.get('lockstep') else case.contender + ' (' + case.mode + ')'}: "
              f"{what}", file=sys.stderr, flush=True)
    info.update(load_after=os.getloadavg()[0], seconds=time.time() - start, waited=waited,
                finished=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    print(f"wrote {write(args, results, info)}", file=sys.stderr)


if __name__ == "__main__":
    main()
