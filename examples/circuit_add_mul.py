"""The first circuit of every backprop lecture: f(x, y, z) = (x + y) z at (-2, 5, -4).

Run: ``python examples/circuit_add_mul.py [--dot PATH]``

Forward: q = x + y = 3, f = q z = -12. Backward, one gate at a time, each
input's gradient is its *local* gradient times the *upstream* gradient:

    df/dz = q                   =  3
    df/dq = z                   = -4
    df/dx = dq/dx * df/dq = 1 * -4 = -4     (the add gate passes it on unchanged)
    df/dy = dq/dy * df/dq = 1 * -4 = -4
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bprop.graph import Value, draw


def by_hand(x: float, y: float, z: float) -> dict[str, float]:
    """Forward and backward pass written out, gate by gate."""
    q = x + y  # add gate
    f = q * z  # multiply gate
    df = 1.0  # df/df: the seed of the backward pass
    dq = z * df  # multiply gate: local gradient of q is the *other* input, z
    dz = q * df
    dx = 1.0 * dq  # add gate: local gradient 1 for both inputs
    dy = 1.0 * dq
    return {"q": q, "f": f, "dx": dx, "dy": dy, "dz": dz, "dq": dq}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dot", help="write the annotated graph to PATH.dot (and .svg)")
    args = parser.parse_args(argv)

    hand = by_hand(-2.0, 5.0, -4.0)
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    f.backward()

    print("f(x, y, z) = (x + y) * z   at x = -2, y = 5, z = -4\n")
    print(f"forward:  q = x + y = {hand['q']:g}    f = q * z = {hand['f']:g}\n")
    print("backward: gradient = local gradient x upstream gradient")
    print("  df/df = 1")
    print(f"  df/dq = z                   = {hand['dq']:g}")
    print(f"  df/dz = q                   = {hand['dz']:g}")
    print(f"  df/dx = dq/dx * df/dq = 1 * {hand['dq']:g} = {hand['dx']:g}")
    print(f"  df/dy = dq/dy * df/dq = 1 * {hand['dq']:g} = {hand['dy']:g}\n")
    print(f"reverse mode (bprop.graph.Value): df/dx = {x.grad:g}, df/dy = {y.grad:g}, "
          f"df/dz = {z.grad:g}")
    agree = (x.grad, y.grad, z.grad, f.data) == (hand["dx"], hand["dy"], hand["dz"], hand["f"])
    print("by hand and reverse mode agree:", agree)
    if args.dot:
        draw(f, args.dot)
        print(f"graph written to {Path(args.dot).with_suffix('.dot')}")
    return {**hand, "agree": agree}


if __name__ == "__main__":
    main()
