"""Turn worker results into medians, normalized ratios, target checks and markdown.

Normalization: each epoch time is divided by the mean of the two reference
timings around it (a quarter epoch of the GEMM bound, same process, same
batch size and dtype). Ratios between contenders are ratios of the medians of
those normalized times; "normalized s" multiplies them back by the median
reference of the whole setting, a seconds figure with the host's phases
mostly removed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from statistics import median

LABELS = {
    "gemm-bound": "GEMM bound (products only)",
    "numpy-textbook": "numpy, textbook loop",
    "numpy-careful": "numpy, careful loop",
    "bprop": "**bprop Trainer**",
    "bprop-mlp": "**bprop MLPClassifier**",
    "sklearn": "scikit-learn MLPClassifier",
    "torch": "PyTorch CPU",
}
TARGETS = {128: 1.25, 32: 1.8}  # bprop Trainer as a multiple of the GEMM bound
FIT_TARGET, MEMORY_TARGET_MB = 1.05, 30.0


def summarize_epochs(runs: list[dict]) -> dict:
    first, first_n, times, norm, losses = [], [], [], [], []
    for r in runs:
        t, ref = r["epoch_s"], r["ref_s"]
        local = [(ref[i] + ref[i + 1]) / 2 for i in range(len(t))]
        first.append(t[0])
        first_n.append(t[0] / local[0])
        times += t[1:]
        norm += [ti / ri for ti, ri in zip(t[1:], local[1:], strict=True)]
        losses.append(r["losses"][-1] if r["losses"] else math.nan)
    return {
        "runs": len(runs), "epochs": len(times),
        "median_s": median(times), "min_s": min(times), "max_s": max(times),
        "median_norm": median(norm), "min_norm": min(norm), "max_norm": max(norm),
        "first_s": median(first), "first_norm": median(first_n),
        "final_loss": median(losses),
        **memory(runs),
    }


def summarize_fit(runs: list[dict]) -> dict:
    per_epoch = [r["epoch_s"][0] / (1 + r["case"]["epochs"]) for r in runs]
    norm = [p / (sum(r["ref_s"]) / len(r["ref_s"])) for p, r in zip(per_epoch, runs, strict=True)]
    return {
        "runs": len(runs), "epochs_per_fit": 1 + runs[0]["case"]["epochs"],
        "median_s": median(per_epoch), "min_s": min(per_epoch), "max_s": max(per_epoch),
        "median_norm": median(norm), "min_norm": min(norm), "max_norm": max(norm),
        **memory(runs),
    }


def memory(runs: list[dict]) -> dict:
    return {
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
        by: dict[tuple, list[dict]] = defaultdict(list)
        for r in ok:
            by[(r["case"]["mode"], r["case"]["contender"])].append(r)
        epochs = {c: summarize_epochs(v) for (m, c), v in by.items() if m == "epochs"}
        fits = {c: summarize_fit(v) for (m, c), v in by.items() if m == "fit"}
        ref = median(x for r in ok for x in r["ref_s"]) if ok else math.nan
        for s in list(epochs.values()) + list(fits.values()):
            s["normalized_s"] = s["median_norm"] * ref
        add_ratios(epochs, fits)
        settings.append({
            "batch_size": bs, "dtype": dtype, "reference_s": ref,
            "epochs": epochs, "fit": fits, "checks": checks(bs, epochs, fits),
            "errors": [f'{r["case"]["contender"]}: {r["error"]}' for r in rs if "error" in r],
        })
    return settings


def add_ratios(epochs: dict, fits: dict) -> None:
    gemm = epochs.get("gemm-bound", {}).get("median_norm")
    mine = epochs.get("bprop", {}).get("median_norm")
    for s in epochs.values():
        s["x_gemm"] = s["median_norm"] / gemm if gemm else math.nan
        s["bprop_over"] = mine / s["median_norm"] if mine else math.nan
    trainer_fit = fits.get("bprop", {}).get("median_norm")
    for s in fits.values():
        s["over_trainer_fit"] = s["median_norm"] / trainer_fit if trainer_fit else math.nan


def checks(bs: int, epochs: dict, fits: dict) -> list[dict]:
    out = []
    mine = epochs.get("bprop")
    if mine and bs in TARGETS:
        out.append(check(f"bprop Trainer <= {TARGETS[bs]}x GEMM bound", mine["x_gemm"],
                         TARGETS[bs]))
    if "bprop-mlp" in fits and "bprop" in fits:
        out.append(check(f"MLPClassifier.fit <= {FIT_TARGET}x Trainer.fit",
                         fits["bprop-mlp"]["over_trainer_fit"], FIT_TARGET))
    for name in ("bprop", "bprop-mlp"):
        if name in epochs:
            out.append(check(f"{name}: peak RSS - data-loaded RSS <= {MEMORY_TARGET_MB:.0f} MB",
                             epochs[name]["peak_over_loaded_mb"], MEMORY_TARGET_MB, "MB"))
    return out


def check(name: str, value: float, limit: float, unit: str = "x") -> dict:
    return {"target": name, "value": value, "limit": limit, "unit": unit,
            "met": bool(value <= limit)}


def fmt(x: float, digits: int = 2) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def markdown_setting(s: dict) -> str:
    lines = [
        f"#### batch {s['batch_size']}, {s['dtype']} "
        f"(reference: a quarter epoch of the GEMM bound, median {s['reference_s']:.3f} s)",
        "",
        "| contender | s/epoch median [min–max] | normalized s/epoch | × GEMM bound "
        "| bprop ÷ it | first epoch s | peak RSS over loaded, MB | final loss |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c, e in s["epochs"].items():
        lines.append(
            f"| {LABELS.get(c, c)} | {fmt(e['median_s'])} [{fmt(e['min_s'])}–{fmt(e['max_s'])}] "
            f"| {fmt(e['normalized_s'])} | {fmt(e['x_gemm'])} | {fmt(e['bprop_over'])} "
            f"| {fmt(e['first_s'])} | {fmt(e['peak_over_loaded_mb'], 1)} "
            f"| {fmt(e['final_loss'], 3)} |"
        )
    if s["fit"]:
        lines += ["", "| whole `fit()` call | s/epoch median [min–max] | normalized s/epoch "
                  "| ÷ Trainer.fit | peak RSS over loaded, MB |", "|---|---|---|---|---|"]
        for c, f in s["fit"].items():
            lines.append(
                f"| {LABELS.get(c, c)} ({f['epochs_per_fit']} epochs) "
                f"| {fmt(f['median_s'])} [{fmt(f['min_s'])}–{fmt(f['max_s'])}] "
                f"| {fmt(f['normalized_s'])} | {fmt(f['over_trainer_fit'])} "
                f"| {fmt(f['peak_over_loaded_mb'], 1)} |"
            )
    for c in s["checks"]:
        mark = "met" if c["met"] else "**missed**"
        lines.append(f"- {c['target']}: {fmt(c['value'])} {c['unit']} — {mark}")
    lines += [f"- error: {e}" for e in s["errors"]]
    return "\n".join(lines) + "\n"


def summary_table(settings: list[dict]) -> str:
    lines = [
        "| batch | dtype | GEMM bound s/epoch | bprop s/epoch | bprop × GEMM bound "
        "| bprop ÷ scikit-learn | bprop ÷ PyTorch | bprop ÷ careful numpy "
        "| bprop peak RSS over loaded, MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in settings:
        e = s["epochs"]
        b, gemm = e.get("bprop", {}), e.get("gemm-bound", {})
        lines.append(
            f"| {s['batch_size']} | {s['dtype']} | {fmt(gemm.get('normalized_s'))} "
            f"| {fmt(b.get('normalized_s'))} | {fmt(b.get('x_gemm'))} "
            f"| {fmt(e.get('sklearn', {}).get('bprop_over'))} "
            f"| {fmt(e.get('torch', {}).get('bprop_over'))} "
            f"| {fmt(e.get('numpy-careful', {}).get('bprop_over'))} "
            f"| {fmt(b.get('peak_over_loaded_mb'), 1)} |"
        )
    return "\n".join(lines) + "\n"
