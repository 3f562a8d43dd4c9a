"""``bprop export RUN_DIR [-o model.onnx] [--dtype float32|float64]``: a run as ONNX."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..config.fields import ConfigError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export", help="export a trained run to ONNX (with its preprocessing)",
        description="Write RUN_DIR's model as an ONNX file that takes raw feature rows: the "
                    "run's standardization, the network and the output function are in the "
                    "graph. A classifier has the outputs 'label' and 'probabilities', a "
                    "regression model 'prediction' (in the target's units). Needs the onnx "
                    "package (pip install 'bprop[onnx]').")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("-o", "--output", metavar="FILE.onnx",
                   help="where to write (default: RUN_DIR/model.onnx)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="type of the inputs, weights and outputs (default: float32)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Export the run's model and print where it went."""
    from .rundir import load_run

    cfg, model, prep = load_run(args.run_dir)
    try:
        import onnx

        from ..export import to_onnx
    except ImportError:
        raise ConfigError("export", "needs the onnx package: pip install 'bprop[onnx]'") from None
    loss = cfg["loss"] if isinstance(cfg["loss"], str) else cfg["loss"]["type"]
    # A Poisson model's network outputs the log of the rate; the rate is its exp.
    out_activation = "exp" if loss == "PoissonDeviance" else None
    try:
        m = to_onnx(model, len(prep.x_mean), preprocessing=prep, out_activation=out_activation,
                    dtype=args.dtype, name=cfg["name"])
    except ValueError as err:
        raise ConfigError(args.run_dir, f"cannot export: {err}") from None
    path = Path(args.output) if args.output else Path(args.run_dir) / "model.onnx"
    try:
        onnx.save(m, str(path))
    except OSError as err:
        raise ConfigError(str(path), f"cannot write: {err}") from None
    outputs = ", ".join(o.name for o in m.graph.output)
    print(f"wrote {path}: input X ({args.dtype}, N x {len(prep.x_mean)}), outputs {outputs}")
    return 0
