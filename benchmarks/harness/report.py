"""Turn worker results into medians, paired ratios, target checks and markdown.

Speed comes from the lockstep run of each setting (`worker.lockstep`): in
every round each contender trains one epoch, seconds apart from the others,
so the ratio of two contenders is taken round by round and then the median
over rounds is reported, with its range. The first round is a warm-up and
is reported separately. Rounds during which other processes kept the CPUs
busy (more than `FOREIGN_MAX` cores) are left out.

Memory and the normalized single-process times come from one process per
contender (`worker.measure`): the RSS after importing and loading the data,
the peak RSS while training, and epoch times divided by a reference timed
next to them (a quarter epoch of the GEMM bound).
"""

from __future__ import annotations

import math
from collections import defaultdict
from statistics import median

LABELS = {
    "gemm-bound": "GEMM bound (products only)",
    "numpy-textbook": "numpy, textbook loop",
    "numpy-careful": "numpy, careful loop",
    "bprop": "**bprop Trainer (fused)**",
    "bprop-reference": "bprop Trainer (reference)",
    "bprop-mlp": "**bprop MLPClassifier**",
    "bprop-baseline": "bprop Trainer, baseline (--baseline)",
    "sklearn": "scikit-learn MLPClassifier",
    "torch": "PyTorch CPU",
}
TARGETS = {128: 1.25, 32: 1.6}  # bprop Trainer (fused) as a multiple of the GEMM bound
FIT_TARGET, MEMORY_TARGET_MB = 1.05, 30.0
#: other processes busier than this (in cores) during a timed section disturb it
FOREIGN_MAX = 0.25


def spread(values: list[float]) -> dict:
    return {"median": median(values), "min": min(values), "max": max(values)}


def lockstep_stats(r: dict) -> dict:
    """Per contender: seconds, ratio to the GEMM bound and bprop ÷ it, round by round."""
    names, t, busy = r["contenders"], r["epoch_s"], r["foreign_cores"]
    n_rounds = min(len(t[c]) for c in names)
    timed = [j for j in range(1, n_rounds)
             if max(busy[c][j] for c in names) <= FOREIGN_MAX] or list(range(1, n_rounds))
    out = {"rounds": n_rounds - 1, "disturbed": n_rounds - 1 - len(timed), "by": {}}
    for c in names:
        s = {"seconds": spread([t[c][j] for j in timed]), "first_s": t[c][0],
             "total_s": sum(t[c]), "final_loss": r["losses"][c][-1]}
        if "gemm-bound" in t:
            s["x_gemm"] = spread([t[c][j] / t["gemm-bound"][j] for j in timed])
        if "bprop" in t:
            s["bprop_over"] = spread([t["bprop"][j] / t[c][j] for j in timed])
        out["by"][c] = s
    if "bprop-reference" in t and "numpy-textbook" in t:
        out["reference_over_textbook"] = spread(
            [t["bprop-reference"][j] / t["numpy-textbook"][j] for j in timed])
    if "bprop" in t and "bprop-mlp" in t:
        # a whole fit() = its first epoch (with fit's validation and set-up) + the rest;
        # medians keep one slow round from standing for every epoch
        def fit_s(c: str) -> float:
            return t[c][0] + len(timed) * median(t[c][j] for j in timed)

        out["mlp_over_trainer"] = {
            "epochs": median(t["bprop-mlp"][j] / t["bprop"][j] for j in timed),
            "whole_fit": fit_s("bprop-mlp") / fit_s("bprop"),
        }
    return out


def process_stats(runs: list[dict]) -> dict:
    """Memory, first epoch and reference-normalized times of single-contender processes."""
    first, norm = [], []
    for r in runs:
        t, ref, busy = r["epoch_s"], r["ref_s"], r["foreign_cores"]
        for i, ti in enumerate(t):
            local = (ref[i] + ref[i + 1]) / 2
            quiet = max(busy["epoch"][i], busy["ref"][i], busy["ref"][i + 1]) <= FOREIGN_MAX
            if i == 0:
                first.append(ti)
            elif quiet or len(t) == 1:
                norm.append(ti / local)
    return {
        "runs": len(runs),
        "first_s": median(first) if first else math.nan,
        "normalized": median(norm) if norm else math.nan,
        "rss_loaded_mb": median(r["rss_loaded_mb"] for r in runs),
        "peak_over_loaded_mb": max(r["peak_rss_mb"] - r["rss_loaded_mb"] for r in runs),
    }


def summarize(results: list[dict]) -> list[dict]:
    """One entry per (batch size, dtype) setting, in the order first seen."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in results:
        groups[(r["case"]["batch_size"], r["case"]["dtype"])].append(r)
    settings = []
    for (bs, dtype), rs in groups.items():
        ok = [r for r in rs if "error" not in r]
        lock = next((lockstep_stats(r) for r in ok if r.get("lockstep")), None)
        by: dict[tuple, list[dict]] = defaultdict(list)
        for r in ok:
            if not r.get("lockstep"):
                by[(r["case"]["mode"], r["case"]["contender"])].append(r)
        procs = {c: process_stats(v) for (m, c), v in by.items() if m == "epochs"}
        fits = {c: median(r["epoch_s"][0] for r in v) for (m, c), v in by.items() if m == "fit"}
        gemm = procs.get("gemm-bound", {}).get("normalized")
        for p in procs.values():
            p["x_gemm"] = p["normalized"] / gemm if gemm else math.nan
        errors = [f'{r["case"]["contender"]}: {r["error"]}' for r in rs if "error" in r]
        errors += [f"{c}: {e}" for r in ok if r.get("lockstep") for c, e in r["errors"].items()]
        settings.append({
            "batch_size": bs, "dtype": dtype, "lockstep": lock, "processes": procs,
            "fit_s": fits, "checks": checks(bs, lock, procs), "errors": errors,
        })
    return settings


def checks(bs: int, lock: dict | None, procs: dict) -> list[dict]:
    out = []
    if lock and "bprop" in lock["by"] and "x_gemm" in lock["by"]["bprop"] and bs in TARGETS:
        out.append(check(f"bprop Trainer <= {TARGETS[bs]}x GEMM bound",
                         lock["by"]["bprop"]["x_gemm"]["median"], TARGETS[bs]))
    if lock and "reference_over_textbook" in lock:
        out.append(check("bprop Trainer (reference) <= textbook numpy loop",
                         lock["reference_over_textbook"]["median"], 1.0))
    if lock and "mlp_over_trainer" in lock:
        ratio = lock["mlp_over_trainer"]
        out.append(check(f"MLPClassifier.fit epochs <= {FIT_TARGET}x Trainer epochs",
                         ratio["epochs"], FIT_TARGET))
        out.append(check(f"MLPClassifier.fit in all (warm-up epoch included) <= {FIT_TARGET}x "
                         "Trainer.fit", ratio["whole_fit"], FIT_TARGET))
    for name in ("bprop", "bprop-mlp"):
        if name in procs:
            out.append(check(f"{name}: peak RSS - data-loaded RSS <= {MEMORY_TARGET_MB:.0f} MB",
                             procs[name]["peak_over_loaded_mb"], MEMORY_TARGET_MB, "MB"))
    return out


def check(name: str, value: float, limit: float, unit: str = "x") -> dict:
    return {"target": name, "value": value, "limit": limit, "unit": unit,
            "met": bool(value <= limit)}


def fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def fmt_spread(s: dict | None, digits: int = 2) -> str:
    if not s:
        return "–"
    return f"{fmt(s['median'], digits)} [{fmt(s['min'], digits)}–{fmt(s['max'], digits)}]"


def markdown_setting(s: dict) -> str:
    lock, procs = s["lockstep"] or {"by": {}, "rounds": 0, "disturbed": 0}, s["processes"]
    lines = [
        f"#### batch {s['batch_size']}, {s['dtype']} ({lock['rounds']} lockstep rounds, "
        f"{lock['disturbed']} disturbed and left out)",
        "",
        "| contender | s/epoch median [min–max] | × GEMM bound median [min–max] "
        "| bprop ÷ it | warm-up epoch s | alone: × GEMM bound (normalized) "
        "| peak RSS over loaded, MB | final loss |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in list(dict.fromkeys(list(lock["by"]) + list(procs))):
        e, p = lock["by"].get(c, {}), procs.get(c, {})
        lines.append(
            f"| {LABELS.get(c, c)} | {fmt_spread(e.get('seconds'))} "
            f"| {fmt_spread(e.get('x_gemm'))} "
            f"| {fmt(e.get('bprop_over', {}).get('median'))} | {fmt(e.get('first_s'))} "
            f"| {fmt(p.get('x_gemm'))} | {fmt(p.get('peak_over_loaded_mb'), 1)} "
            f"| {fmt(e.get('final_loss'), 3)} |"
        )
    if s["fit_s"]:
        lines += ["", "Whole `fit()` calls, one process each: " + ", ".join(
            f"{LABELS.get(c, c)} {t:.2f} s" for c, t in s["fit_s"].items())]
    lines.append("")
    for c in s["checks"]:
        mark = "met" if c["met"] else "**missed**"
        lines.append(f"- {c['target']}: {fmt(c['value'])} {c['unit']} — {mark}")
    lines += [f"- error: {e}" for e in s["errors"]]
    return "\n".join(lines) + "\n"


def summary_table(settings: list[dict]) -> str:
    lines = [
        "| batch | dtype | GEMM bound s/epoch | bprop s/epoch | bprop × GEMM bound "
        "| bprop ÷ scikit-learn | bprop ÷ PyTorch | bprop ÷ careful numpy "
        "| MLPClassifier ÷ Trainer (epochs / whole fit) | bprop peak RSS over data, MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in settings:
        by = (s["lockstep"] or {}).get("by", {})
        b = by.get("bprop", {})
        mlp = (s["lockstep"] or {}).get("mlp_over_trainer", {})

        lines.append(
            f"| {s['batch_size']} | {s['dtype']} "
            f"| {fmt(by.get('gemm-bound', {}).get('seconds', {}).get('median'))} "
            f"| {fmt(b.get('seconds', {}).get('median'))} | {fmt_spread(b.get('x_gemm'))} "
            f"| {over(by, 'sklearn')} | {over(by, 'torch')} | {over(by, 'numpy-careful')} "
            f"| {fmt(mlp.get('epochs'))} / {fmt(mlp.get('whole_fit'))} "
            f"| {fmt(s['processes'].get('bprop', {}).get('peak_over_loaded_mb'), 1)} |"
        )
    return "\n".join(lines) + "\n"


def over(by: dict, name: str) -> str:
    """bprop ÷ ``name`` (median over rounds), formatted."""
    return fmt(by.get(name, {}).get("bprop_over", {}).get("median"))


def quietness(results: list[dict]) -> dict:
    """How busy other processes kept the machine during the timed sections."""
    busy = []
    for r in results:
        if "error" in r:
            continue
        f = r["foreign_cores"]
        busy += [x for v in f.values() for x in v] if r.get("lockstep") else f["epoch"]
    if not busy:
        return {"sections": 0, "disturbed": 0, "median_foreign_cores": math.nan,
                "max_foreign_cores": math.nan}
    busy.sort()
    return {"sections": len(busy), "disturbed": sum(f > FOREIGN_MAX for f in busy),
            "median_foreign_cores": median(busy), "max_foreign_cores": busy[-1]}
