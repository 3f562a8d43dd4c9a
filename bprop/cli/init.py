"""``bprop init NAME [--data DATASET|FILE] [--target COLUMN] [--force]``: a starter config.

Writes ``NAME.yaml``: every section of a config, commented, with a network
whose output fits the data (one score per class, or one output per target),
so that ``bprop train NAME.yaml`` runs as written. The file is checked by the
config loader before it is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..config.fields import ConfigError

TEMPLATE = """\
# {file}: a starter config written by `bprop init`.
#   train it:        bprop train {file}
#   change a value:  bprop train {file} optimizer.lr=0.003 train.epochs=50
#   see the model:   bprop summary {file}
#   what exists:     bprop list layers | losses | optimizers | schedules | datasets

{name_line}
seed: 0                     # one seed for the data, the split, the weights and the shuffling

data:
{data_line}
{data_keys}  test_size: 0.2            # held out for the final test metrics (summary.json)
  val_size: 0.1             # watched during training: val_loss{val_metric}
  standardize: true         # each feature to mean 0, std 1 (fitted on the training part only)

model:                      # the layer stack, in order; input sizes are inferred
  - {{type: Linear, out: 64}} # a hidden layer of 64 units
  - ReLU                    # its nonlinearity; or Tanh, Sigmoid, LeakyReLU, ...
  - {{type: Dropout, p: 0.1}} # drops 10% of the units while training; off at evaluation
{out_line}

{loss_line}

optimizer:
  type: Adam                # adaptive steps; or {{type: SGD, lr: 0.1, momentum: 0.9}}
  lr: 0.01
  weight_decay: 1.0e-4      # L2 penalty 0.5*wd*||W||^2 on the weights (biases are not decayed)

schedule: Constant          # or {{type: StepDecay, step_size: 10, gamma: 0.5}}, Cosine, ...

train:
  epochs: 30
  batch_size: 32
  dtype: float32            # float64 for exact gradient checks (bprop gradcheck)
  early_stopping: false     # true: stop when `monitor` has not improved for `patience` epochs
  monitor: val_loss
  patience: 10
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "init", help="write a commented starter config",
        description="Write NAME.yaml, a commented config for DATASET (a data set name, see "
                    "'bprop list datasets', or a .csv/.npz file) with a network whose output "
                    "fits the data. It trains as written: bprop train NAME.yaml.")
    p.add_argument("name", metavar="NAME", help="the config's name; writes NAME.yaml")
    p.add_argument("--data", default="digits", metavar="DATASET|FILE",
                   help="a data set name or a .csv/.npz file (default: digits)")
    p.add_argument("--target", metavar="COLUMN",
                   help="the target column of a csv file (name or index; default: the last)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(run=run)


def _data_config(spec: str, target: str | None) -> dict[str, Any]:
    from ..config.datasets import SETS

    suffix = Path(spec).suffix.lower()
    if suffix in (".csv", ".npz"):
        cfg: dict[str, Any] = {"name": suffix[1:], "path": spec}
        if suffix == ".csv" and target is not None:
            cfg["target"] = int(target) if target.lstrip("-").isdigit() else target
        return cfg
    if spec in ("csv", "npz"):
        raise ConfigError("--data", f"give the {spec} file itself: --data FILE.{spec}")
    if target is not None:
        raise ConfigError("--target", "is for a csv file (--data FILE.csv)")
    if spec not in SETS:
        from ..config.fields import did_you_mean

        raise ConfigError("--data", f"unknown data set {spec!r}{did_you_mean(spec, SETS)}; "
                                    f"allowed: {', '.join(SETS)}, or a .csv/.npz file")
    return {"name": spec}


def _shape_of_task(dcfg: dict[str, Any]) -> tuple[str, int]:
    """The task and the network's output width for the data set."""
    import numpy as np

    from ..config import data

    checked = data.check_config(dcfg, path="--data")
    raw = data.load(checked, seed=0)
    task = data.guess_task(raw)
    if task == "classification":
        return task, len(np.unique(raw.y))
    return task, 1 if raw.y.ndim == 1 else int(np.shape(raw.y)[1])


def render(name: str, file: str, dcfg: dict[str, Any], task: str, n_out: int) -> str:
    """The config text for a data section ``dcfg`` of a ``task`` with ``n_out`` outputs."""
    from ..config.datasets import SETS
    from .listing import DATA_NOTES, _first_line

    spec = SETS[dcfg["name"]]
    note = _first_line(spec.loader.__doc__) or DATA_NOTES.get(dcfg["name"], "")
    keys = ""
    for key, field in spec.params.items():
        value = dcfg.get(key, field.default)
        if value is ...:
            continue
        about = ("looked up beside this file, then in the working folder" if key == "path"
                 else field.describe())
        keys += _commented(f"  {key}: {_yaml(value)}", about) + "\n"
    classify = task == "classification"
    return TEMPLATE.format(
        file=file, data_keys=keys, val_metric=" and val_accuracy" if classify else "",
        name_line=_commented(f"name: {name}", f"runs go to runs/{name}-<date>-<time>"),
        data_line=_commented(f"  name: {dcfg['name']}", note),
        out_line=_commented(f"  - {{type: Linear, out: {n_out}}}",
                            f"the output: one score per class ({n_out} classes)" if classify
                            else f"the output: one value per target ({n_out})"),
        loss_line=_commented("loss: SoftmaxNLL", "softmax and cross-entropy of the scores, "
                                                 "in one stable step") if classify
        else _commented("loss: SquaredError", "0.5 * (prediction - target)^2, on "
                                              "standardized targets"))


def _yaml(value: Any) -> str:
    from ..config.loader import dump_flow

    return dump_flow(value)


def _commented(text: str, comment: str) -> str:
    return f"{text:<27} # {comment}" if comment else text


def run(args: argparse.Namespace) -> int:
    """Write the starter config and say how to train it."""
    from ..config.loader import check_name, load_config
    from ..modelfile import atomic_write

    stem = Path(args.name).name if args.name.strip() else ""
    if stem in ("", ".", "..") or args.name.endswith(("/", "\\")):
        raise ConfigError("NAME", f"must be a file name such as mynet (writes mynet.yaml), "
                                  f"optionally in a folder (configs/mynet); got {args.name!r}")
    try:
        check_name(Path(stem).stem if stem.lower().endswith((".yaml", ".yml")) else stem)
    except ConfigError as err:
        raise ConfigError("NAME", err.message) from None
    path = Path(args.name)
    if path.suffix.lower() not in (".yaml", ".yml"):
        path = path.with_name(path.name + ".yaml")
    if path.exists() and not args.force:
        raise ConfigError(str(path), "already exists; choose another NAME or add --force")
    if not path.parent.is_dir():
        raise ConfigError(str(path), f"no such folder: {str(path.parent)!r}")
    dcfg = _data_config(args.data, args.target)
    task, n_out = _shape_of_task(dcfg)
    text = render(path.stem, str(path), dcfg, task, n_out)
    atomic_write(path, text)
    try:
        load_config(str(path))  # what we wrote must load as written
    except ConfigError:
        path.unlink()
        raise
    print(f"wrote {path} ({dcfg['name']}: {task}, {n_out} "
          f"{'classes' if task == 'classification' else 'output(s)'}); train it with\n"
          f"  bprop train {path}")
    return 0
