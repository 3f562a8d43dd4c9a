"""bprop against its peers: seconds per epoch, ratios to the GEMM bound, memory.

Usage::

    make bench                                  # the full run (~10 minutes)
    .venv/bin/python benchmarks/run.py --quick  # batch 128, float32, one repetition
    .venv/bin/python benchmarks/run.py --batch-sizes 32 --dtypes float64 --reps 3

Every measurement runs in its own process (so memory figures are each
contender's own) and the contenders are interleaved, in a rotating order,
repetition after repetition. Each process times a warm-up epoch, then
``--epochs`` epochs, with a reference (a quarter epoch of the GEMM bound)
timed before and after every epoch; ratios use times divided by the
neighbouring references, which cancels most of the host's slow and fast
phases. Results go to ``benchmarks/results/`` as markdown and JSON.
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
ALL = ["gemm-bound", "bprop", "bprop-mlp", "numpy-careful", "numpy-textbook", "sklearn", "torch"]
FIT = ["bprop", "bprop-mlp", "sklearn"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="batch 128, float32, 1 repetition, 1 timed epoch (about a minute)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 32, 512])
    p.add_argument("--dtypes", nargs="+", default=["float32", "float64"],
                   choices=["float32", "float64"])
    p.add_argument("--contenders", nargs="+", default=ALL, choices=ALL)
    p.add_argument("--reps", nargs="+", default=["2", "512:1"],
                   help="processes per contender: N for every batch size, B:N for batch B "
                   "(default: 2, and 1 at batch 512, whose epochs vary least)")
    p.add_argument("--fit-reps", type=int, default=1,
                   help="whole fit() calls per estimator where they are timed")
    p.add_argument("--epochs", type=int, default=2, help="timed epochs after the warm-up one")
    p.add_argument("--fit-batch-sizes", type=int, nargs="*", default=[128],
                   help="settings where whole fit() calls are timed too")
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
        args.batch_sizes, args.dtypes, args.reps, args.epochs = [128], ["float32"], ["1"], 1
    args.reps = parse_reps(args.reps)
    args.name = args.name or ("quick" if args.quick else "bench")
    return args


def parse_reps(tokens: list[str]) -> dict[int | None, int]:
    """``["2", "512:1"]`` -> ``{None: 2, 512: 1}`` (None: every other batch size)."""
    reps: dict[int | None, int] = {None: 2}
    for token in tokens:
        batch, _, n = token.rpartition(":")
        reps[int(batch) if batch else None] = int(n)
    return reps


def plan(args: argparse.Namespace, data_dir: Path) -> list[list[Case]]:
    """Rounds of cases: each round is every contender once, in a rotated order."""
    rounds = []
    for bs in args.batch_sizes:
        for dtype in args.dtypes:
            common = dict(batch_size=bs, dtype=dtype, epochs=args.epochs,
                          threads=args.threads, data_dir=str(data_dir))
            cases = [Case(c, **common) for c in args.contenders]
            if args.baseline:
                cases.insert(2, Case("bprop-baseline", bprop_path=str(args.baseline), **common))
            fits = [Case(c, mode="fit", **common) for c in FIT if c in args.contenders]
            if bs not in args.fit_batch_sizes:
                fits = []
            reps = args.reps.get(bs, args.reps[None])
            for rep in range(max(reps, args.fit_reps if fits else 0)):
                these = (cases if rep < reps else []) + (fits if rep < args.fit_reps else [])
                k = rep % len(these)
                rounds.append(these[k:] + these[:k])
    return rounds


def wait_for_quiet(max_wait: float) -> float:
    """Wait until other processes use less than FOREIGN_MAX cores; returns the seconds waited."""
    from harness.worker import quiet_cores

    start = time.perf_counter()
    while quiet_cores() > report.FOREIGN_MAX and time.perf_counter() - start < max_wait:
        time.sleep(2.0)
    return time.perf_counter() - start


def run_case(case: Case) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(case.as_dict())]
    env = dict(os.environ)
    if case.bprop_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [case.bprop_path,
                                                          env.get("PYTHONPATH")]))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"case": case.as_dict(), "error": f"exit {proc.returncode}: {tail}"}


def worker(spec: str) -> None:
    from harness.worker import measure

    case = Case(**json.loads(spec))
    try:
        result = measure(case)
    except Exception as err:  # reported in the table, never hides the others
        result = {"case": case.as_dict(), "error": f"{type(err).__name__}: {err}"}
    print("RESULT " + json.dumps(result), flush=True)


def reps_text(args: argparse.Namespace) -> str:
    return ", ".join(f"{args.reps.get(b, args.reps[None])} at batch {b}" for b in args.batch_sizes)


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
        f"(median over timed epochs; at most {q.get('max_foreign_cores', 0):.2f}); "
        f"{q['disturbed']} of {q['epochs']} timed sections had more than "
        f"{report.FOREIGN_MAX} cores busy elsewhere and are left out of the medians.", "",
        f"MLP 784-256-128-10, ReLU, softmax cross-entropy, SGD lr 0.01, momentum 0.9, "
        f"weight decay 1e-4, 60000 x 784 samples reshuffled each epoch. Processes per "
        f"contender: {reps_text(args)}; {args.epochs} timed epoch(s) each after a warm-up "
        "epoch.",
        "", "## Summary (normalized seconds; ratios of normalized medians)", "",
        report.summary_table(settings), "## Details", "",
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
    rounds = plan(args, ensure_data())
    total, done, results, waited = sum(map(len, rounds)), 0, [], 0.0
    for cases in rounds:
        for case in cases:
            done += 1
            waited += wait_for_quiet(args.max_wait)
            r = run_case(case)
            results.append(r)
            what = r.get("error") or " ".join(f"{t:.2f}" for t in r["epoch_s"])
            print(f"[{done}/{total}] b{case.batch_size} {case.dtype} {case.contender} "
                  f"({case.mode}): {what}", file=sys.stderr, flush=True)
    info.update(load_after=os.getloadavg()[0], seconds=time.time() - start, waited=waited,
                finished=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    print(f"wrote {write(args, results, info)}", file=sys.stderr)


if __name__ == "__main__":
    main()
