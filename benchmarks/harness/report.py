"""Turn worker results into medians, normalized ratios, target checks and markdown.

Normalization: each epoch time is divided by the mean of the two reference
timings around it (a quarter epoch of the GEMM bound, same process, same
batch size and dtype). Samples during which other processes used the CPUs
are left out. Ratios between contenders are ratios of the medians of those
normalized times; "normalized s" multiplies them back by the median reference
of the setting, a seconds figure with the host's phases mostly removed.

The host also has slow and fast states that no process can see, and in the
slow one element-wise code slows down more than the matrix products, so the
reference does not cancel everything. Slow states only ever add time, so the
ratio of the best (fastest) epochs is reported beside the median ratio.
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
    "bprop-baseline": "bprop Trainer, baseline (--baseline)",
    "sklearn": "scikit-learn MLPClassifier",
    "torch": "PyTorch CPU",
}
TARGETS = {128: 1.25, 32: 1.8}  # bprop Trainer as a multiple of the GEMM bound
FIT_TARGET, MEMORY_TARGET_MB = 1.05, 30.0


#: other processes busier than this (in cores) during an epoch or its references
#: mark the sample as disturbed; the medians use undisturbed samples when there are any
FOREIGN_MAX = 0.25


def foreign(r: dict) -> dict:
    """Cores kept busy by other processes during each epoch and each reference."""
    return r.get("foreign_cores", {"epoch": [0.0] * len(r["epoch_s"]),
                                   "ref": [0.0] * len(r["ref_s"])})


def samples(r: dict) -> list[tuple[float, float, bool]]:
    """(seconds, mean of the two references around it, disturbed) per timed section."""
    t, ref, busy = r["epoch_s"], r["ref_s"], foreign(r)
    return [
        (t[i], (ref[i] + ref[i + 1]) / 2,
         max(busy["epoch"][i], busy["ref"][i], busy["ref"][i + 1]) > FOREIGN_MAX)
        for i in range(len(t))
    ]


def stats(values: list[tuple[float, float, bool]], per: int = 1) -> dict:
    """Medians and ranges of raw and normalized times over the undisturbed samples."""
    clean = [v for v in values if not v[2]] or values
    raw = [t / per for t, _, _ in clean]
    norm = [t / per / ref for t, ref, _ in clean]
    return {
        "samples": len(values), "disturbed": len(values) - len(clean),
        "median_s": median(raw), "min_s": min(raw), "max_s": max(raw),
        "median_norm": median(norm), "min_norm": min(norm), "max_norm": max(norm),
    }


def summarize_epochs(runs: list[dict]) -> dict:
    per_run = [samples(r) for r in runs]
    first = stats([s[0] for s in per_run])
    return {
        "runs": len(runs),
        **stats([x for s in per_run for x in s[1:]]),
        "first_s": first["median_s"], "first_norm": first["median_norm"],
        "final_loss": median(r["losses"][-1] if r["losses"] else math.nan for r in runs),
        **memory(runs),
    }


def summarize_fit(runs: list[dict]) -> dict:
    epochs = 1 + runs[0]["case"]["epochs"]
    return {
        "runs": len(runs), "epochs_per_fit": epochs,
        **stats([x for r in runs for x in samples(r)], per=epochs),
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
        refs = [(t, f) for r in ok for t, f in zip(r["ref_s"], foreign(r)["ref"], strict=True)]
        quiet = [t for t, f in refs if f <= FOREIGN_MAX] or [t for t, _ in refs]
        ref = median(quiet) if quiet else math.nan
        epochs = {c: summarize_epochs(v) for (m, c), v in by.items() if m == "epochs"}
        fits = {c: summarize_fit(v) for (m, c), v in by.items() if m == "fit"}
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
    gemm_best = epochs.get("gemm-bound", {}).get("min_s")
    for s in epochs.values():
        s["x_gemm"] = s["median_norm"] / gemm if gemm else math.nan
        s["x_gemm_best"] = s["min_s"] / gemm_best if gemm_best else math.nan
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
    if "bprop-mlp" in epochs and "bprop" in epochs:
        ratio = epochs["bprop-mlp"]["median_norm"] / epochs["bprop"]["median_norm"]
        out.append(check(f"MLPClassifier.fit epochs <= {FIT_TARGET}x Trainer epochs",
                         ratio, FIT_TARGET))
    if "bprop-mlp" in fits and "bprop" in fits:
        out.append(check(f"whole MLPClassifier.fit <= {FIT_TARGET}x whole Trainer.fit",
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
        "| × GEMM bound, best epochs | bprop ÷ it | first epoch s "
        "| peak RSS over loaded, MB | final loss | epochs (disturbed) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c, e in s["epochs"].items():
        lines.append(
            f"| {LABELS.get(c, c)} | {fmt(e['median_s'])} [{fmt(e['min_s'])}–{fmt(e['max_s'])}] "
            f"| {fmt(e['normalized_s'])} | {fmt(e['x_gemm'])} | {fmt(e['x_gemm_best'])} "
            f"| {fmt(e['bprop_over'])} | {fmt(e['first_s'])} "
            f"| {fmt(e['peak_over_loaded_mb'], 1)} | {fmt(e['final_loss'], 3)} "
            f"| {e['samples']} ({e['disturbed']}) |"
        )
    if s["fit"]:
        lines += ["", "| whole `fit()` call | s/epoch median [min–max] | normalized s/epoch "
                  "| ÷ Trainer.fit | peak RSS over loaded, MB | calls (disturbed) |",
                  "|---|---|---|---|---|---|"]
        for c, f in s["fit"].items():
            lines.append(
                f"| {LABELS.get(c, c)} ({f['epochs_per_fit']} epochs) "
                f"| {fmt(f['median_s'])} [{fmt(f['min_s'])}–{fmt(f['max_s'])}] "
                f"| {fmt(f['normalized_s'])} | {fmt(f['over_trainer_fit'])} "
                f"| {fmt(f['peak_over_loaded_mb'], 1)} "
                f"| {f['samples']} ({f['disturbed']}) |"
            )
    for c in s["checks"]:
        mark = "met" if c["met"] else "**missed**"
        lines.append(f"- {c['target']}: {fmt(c['value'])} {c['unit']} — {mark}")
    lines += [f"- error: {e}" for e in s["errors"]]
    return "\n".join(lines) + "\n"


def summary_table(settings: list[dict]) -> str:
    lines = [
        "| batch | dtype | GEMM bound s/epoch | bprop s/epoch | bprop × GEMM bound "
        "| (best epochs) | bprop ÷ scikit-learn | bprop ÷ PyTorch | bprop ÷ careful numpy "
        "| MLPClassifier ÷ Trainer | bprop peak RSS over loaded, MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in settings:
        e = s["epochs"]
        b, gemm = e.get("bprop", {}), e.get("gemm-bound", {})
        lines.append(
            f"| {s['batch_size']} | {s['dtype']} | {fmt(gemm.get('normalized_s'))} "
            f"| {fmt(b.get('normalized_s'))} | {fmt(b.get('x_gemm'))} "
            f"| {fmt(b.get('x_gemm_best'))} "
            f"| {fmt(e.get('sklearn', {}).get('bprop_over'))} "
            f"| {fmt(e.get('torch', {}).get('bprop_over'))} "
            f"| {fmt(e.get('numpy-careful', {}).get('bprop_over'))} "
            f"| {fmt(1 / e.get('bprop-mlp', {}).get('bprop_over', math.nan))} "
            f"| {fmt(b.get('peak_over_loaded_mb'), 1)} |"
        )
    return "\n".join(lines) + "\n"


def quietness(results: list[dict]) -> dict:
    """How busy other processes kept the machine during the timed epochs."""
    busy = sorted(f for r in results if "error" not in r for f in foreign(r)["epoch"])
    if not busy:
        return {"epochs": 0, "disturbed": 0, "median_foreign_cores": math.nan}
    return {"epochs": len(busy), "disturbed": sum(f > FOREIGN_MAX for f in busy),
            "median_foreign_cores": median(busy), "max_foreign_cores": busy[-1]}
