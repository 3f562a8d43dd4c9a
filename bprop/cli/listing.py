"""``bprop list [layers|losses|optimizers|schedules|callbacks|datasets]``: what a config can name.

Everything comes from where it is defined: the registry (`bprop.registry`,
so classes a user registers are listed too), each class's constructor
signature (the config keys and their defaults, read as the config loader
reads them) and the first line of its docstring; data sets from
`bprop.config.datasets.SETS`.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from ..config.fields import ConfigError, did_you_mean

#: the command's kinds (plural, as typed) -> registry kinds
KINDS = {"layers": "layer", "losses": "loss", "optimizers": "optimizer",
         "schedules": "schedule", "callbacks": "callback", "datasets": None}

#: where each kind goes in a config
WHERE = {
    "layers": "model: a list of `- Name` or `- {type: Name, key: value}`",
    "losses": "loss: Name  or  {type: Name, key: value}",
    "optimizers": "optimizer: {type: Name, lr: ..., key: value}",
    "schedules": "schedule: Name  or  {type: Name, key: value}",
    "callbacks": "callbacks: a list of `- Name` or `- {type: Name, key: value}`; "
                 "train.early_stopping: true is the short way to EarlyStopping",
    "datasets": "data: {name: NAME, key: value}",
}

#: one line for the data sets whose loader has no docstring
DATA_NOTES = {
    "digits": "8x8 images of handwritten digits: 1797 samples, 64 features, 10 classes",
    "iris": "Fisher's iris flowers: 150 samples, 4 features, 3 classes",
    "wine": "wine cultivars: 178 samples, 13 features, 3 classes",
    "breast_cancer": "Wisconsin breast cancer: 569 samples, 30 features, 2 classes",
    "diabetes": "diabetes progression: 442 samples, 10 features, one target",
    "linnerud": "Linnerud exercise data: 20 samples, 3 features, 3 targets",
    "moons": "two interleaving half circles (scikit-learn's make_moons), 2 features",
    "circles": "a circle inside a larger circle (make_circles), 2 features",
    "blobs": "isotropic Gaussian blobs, one per class (make_blobs)",
    "classification": "a random n-class problem (make_classification)",
    "regression": "a random linear regression problem (make_regression)",
    "csv": "your own csv file: numeric feature columns and one target column",
    "npz": "your own .npz archive (np.savez) with a 2-D X and a y",
}


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "list", help="list the layers, losses, optimizers, schedules, callbacks and data sets",
        description="List every name a config can use, with its config keys, their defaults "
                    "and a one-line description. Classes registered with "
                    "bprop.registry.register are listed too.")
    p.add_argument("kind", nargs="?", metavar="KIND",
                   help=f"one of {', '.join(KINDS)} (default: all)")
    p.set_defaults(run=run)


def _first_line(doc: str | None) -> str:
    line = (doc or "").strip().split("\n\n")[0]
    return re.sub(r"\s+", " ", line.replace("``", "")).strip()


def _value(v: Any) -> str:
    if v is ...:
        return "required"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def _keys(fields: dict[str, Any], kind: str = "") -> list[str]:
    """``key: default  (what is allowed)`` for each field."""
    lines = []
    for k, f in fields.items():
        default = _value(f.default)
        if kind == "schedules" and k == "epochs" and f.default is ...:
            default = "train.epochs"  # the config loader fills it in (Cosine)
        lines.append(f"{k}: {default}  ({f.describe()})")
    return lines


def _entry(name: str, aliases: list[str], doc: str, keys: list[str], width: int) -> list[str]:
    shown = name + (f" (also {', '.join(aliases)})" if aliases else "")
    lines = [f"  {shown:<{width}}  {doc}".rstrip()]
    lines += [f"  {'':<{width}}    {k}" for k in keys]
    return lines


def registered(kind: str) -> list[str]:
    """The listing of one registry kind (plural name), one entry per class."""
    from ..config.entries import fields_of
    from ..registry import lookup, names

    rkind = KINDS[kind]
    by_class = {lookup(rkind, n): n for n in names(rkind)}
    aliases: dict[str, list[str]] = {}
    for alias in names(rkind, aliases=True)[len(by_class):]:
        aliases.setdefault(by_class[lookup(rkind, alias)], []).append(alias)
    shown = [n for n in names(rkind) if not _refused(rkind, lookup(rkind, n))]
    width = max((len(n) + (len(f" (also {', '.join(aliases[n])})") if n in aliases else 0)
                 for n in shown), default=0)
    lines = [f"{kind}  ({WHERE[kind]})"]
    for name in shown:
        cls = lookup(rkind, name)
        try:
            keys = _keys(fields_of(cls), kind)
        except (TypeError, ValueError):  # a signature the loader cannot read
            keys = []
        lines += _entry(name, aliases.get(name, []), _first_line(cls.__doc__), keys, width)
    return lines


def _refused(kind: str, cls: type) -> bool:
    """Whether a config refuses this class: a Sequential as a layer (the model list is
    the Sequential), so that the listing shows only what a config can use."""
    from ..layers.sequential import Sequential

    return kind == "layer" and issubclass(cls, Sequential)


def datasets() -> list[str]:
    """The listing of the data sets, with the keys every ``data`` section takes."""
    from ..config.data import COMMON
    from ..config.datasets import SETS

    width = max(map(len, SETS))
    lines = [f"datasets  ({WHERE['datasets']})",
             "  every data set also takes: " + ", ".join(
                 f"{k}: {_value(f.default)}" for k, f in COMMON.items() if k != "name")]
    for name, spec in SETS.items():
        doc = _first_line(spec.loader.__doc__) or DATA_NOTES.get(name, "")
        task = f"[{spec.task}] " if spec.task else "[task from the loss] "
        lines += _entry(name, [], task + doc, _keys(spec.params), width)
    return lines


def run(args: argparse.Namespace) -> int:
    """Print the listing of one kind, or of all."""
    kind = args.kind
    if kind is not None:
        kind = kind.lower()
        kind = kind if kind in KINDS else {v: k for k, v in KINDS.items() if v}.get(kind, kind)
        if kind == "dataset":
            kind = "datasets"
        if kind not in KINDS:
            raise ConfigError("list", f"unknown kind {args.kind!r}"
                                      f"{did_you_mean(args.kind, KINDS)}; allowed: "
                                      + ", ".join(KINDS))
    blocks = []
    for k in [kind] if kind else list(KINDS):
        blocks.append("\n".join(datasets() if k == "datasets" else registered(k)))
    print("\n\n".join(blocks))
    return 0
