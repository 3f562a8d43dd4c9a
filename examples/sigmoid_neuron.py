"""The sigmoid neuron circuit: f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))).

Run: ``python examples/sigmoid_neuron.py [--dot PATH]``

At w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3 the neuron outputs 0.73. The
circuit is cut into primitive gates (*, +, *-1, exp, +1, 1/x); walking it
backwards, every gate multiplies the upstream gradient by its local
gradient. Grouping the last four gates into one sigmoid gate gives the same
answer in one step, because d sigma/dz = (1 - sigma) sigma = 0.20.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from bprop.graph import Value, draw

INPUTS = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}


def staged(w0: float, x0: float, w1: float, x1: float, w2: float) -> tuple[dict, list]:
    """Forward pass gate by gate, then backward pass gate by gate.

    Returns the gradients and the rows of the gate table:
    (gate, output, local gradient, upstream gradient, gradient passed down).
    """
    a0, a1 = w0 * x0, w1 * x1
    s = a0 + a1
    z = s + w2
    n = -z
    e = math.exp(n)
    d = 1.0 + e
    f = 1.0 / d

    rows = []
    df = 1.0
    dd = (-1.0 / d**2) * df  # 1/x gate: local gradient -1/x^2
    rows.append(("1/x", f, -1.0 / d**2, df, dd))
    de = 1.0 * dd  # +1 gate: local gradient 1
    rows.append(("+1", d, 1.0, dd, de))
    dn = math.exp(n) * de  # exp gate: local gradient exp(x)
    rows.append(("exp", e, math.exp(n), de, dn))
    dz = -1.0 * dn  # *-1 gate: local gradient -1
    rows.append(("*-1", n, -1.0, dn, dz))
    ds, dw2 = dz, dz  # add gate: passes the gradient to both inputs
    rows.append(("+ w2", z, 1.0, dz, dz))
    da0, da1 = ds, ds
    rows.append(("+", s, 1.0, ds, ds))
    dw0, dx0 = x0 * da0, w0 * da0  # multiply gate: local gradient is the other input
    dw1, dx1 = x1 * da1, w1 * da1
    rows.append(("w0*x0", a0, f"{x0:g}, {w0:g}", da0, f"{dw0:.2f}, {dx0:.2f}"))
    rows.append(("w1*x1", a1, f"{x1:g}, {w1:g}", da1, f"{dw1:.2f}, {dx1:.2f}"))
    grads = {"f": f, "w0": dw0, "x0": dx0, "w1": dw1, "x1": dx1, "w2": dw2}
    return grads, rows


def reverse_mode(primitive: bool = True) -> tuple[Value, dict[str, Value]]:
    """The same circuit as `Value` nodes; ``primitive=False`` uses one sigmoid gate."""
    leaves = {name: Value(x, label=name) for name, x in INPUTS.items()}
    z = leaves["w0"] * leaves["x0"] + leaves["w1"] * leaves["x1"] + leaves["w2"]
    f = 1 / (1 + (-z).exp()) if primitive else z.sigmoid()
    f.label = "f"
    f.backward()
    return f, leaves


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dot", help="write the annotated graph to PATH.dot (and .svg)")
    args = parser.parse_args(argv)

    grads, rows = staged(**INPUTS)
    print("f = 1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))   at", ", ".join(
        f"{k} = {v:g}" for k, v in INPUTS.items()))
    print(f"forward: f = {grads['f']:.2f}\n")
    print("backward, from the output: gradient passed down = local x upstream")
    print(f"  {'gate':<7}{'output':>8}{'local':>12}{'upstream':>10}{'passed down':>16}")
    for gate, out, local, up, down in rows:
        local = local if isinstance(local, str) else f"{local:.2f}"
        down = down if isinstance(down, str) else f"{down:.2f}"
        print(f"  {gate:<7}{out:>8.2f}{local:>12}{up:>10.2f}{down:>16}")

    f, leaves = reverse_mode(primitive=True)
    f_sig, leaves_sig = reverse_mode(primitive=False)
    print("\ngradients        by hand   Value (gates)   Value (sigmoid gate)")
    for name in INPUTS:
        print(f"  df/d{name:<4}{grads[name]:>15.4f}{leaves[name].grad:>16.4f}"
              f"{leaves_sig[name].grad:>23.4f}")
    local_sigmoid = (1 - grads["f"]) * grads["f"]
    print(f"\nsigmoid gate shortcut: (1 - f) f = {local_sigmoid:.4f} = df/dw2")
    agree = all(
        math.isclose(grads[k], leaves[k].grad) and math.isclose(grads[k], leaves_sig[k].grad)
        for k in INPUTS
    )
    print("all three agree:", agree)
    if args.dot:
        draw(f, args.dot)
        print(f"graph written to {Path(args.dot).with_suffix('.dot')}")
    return {**{f"d{k}": v for k, v in grads.items() if k != "f"}, "f": grads["f"],
            "local_sigmoid": local_sigmoid, "agree": agree}


if __name__ == "__main__":
    main()
