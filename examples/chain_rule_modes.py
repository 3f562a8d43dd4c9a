"""J = cos(sin(x^2) + 3x^2): by hand, reverse mode, forward mode, finite differences.

Run: ``python examples/chain_rule_modes.py [--x 1.0]``

By hand, the chain rule gives

    dJ/dx = -sin(sin(x^2) + 3x^2) * (cos(x^2) * 2x + 6x).

The evaluation trace names the intermediate values v1 = x^2, v2 = sin v1,
v3 = 3 v1, v4 = v2 + v3, J = cos v4. Forward mode carries each value's
derivative with respect to x along with it (the tangents v1', v2', ...);
reverse mode walks the trace backwards with the adjoints dJ/dv (written
v1_bar, ...). v1 feeds two gates, so its adjoint is the *sum* of two terms.
"""

from __future__ import annotations

import argparse
import math

from bprop.graph import Dual, Value


def J(x):
    """The function, for floats, `Value` and `Dual` alike."""
    if isinstance(x, float):
        return math.cos(math.sin(x * x) + 3 * x * x)
    return ((x * x).sin() + 3 * x * x).cos()


def by_hand(x: float) -> float:
    return -math.sin(math.sin(x**2) + 3 * x**2) * (math.cos(x**2) * 2 * x + 6 * x)


def traces(x: float) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """The forward-mode tangent trace and the reverse-mode adjoint trace."""
    v1 = x * x
    v2, v3 = math.sin(v1), 3 * v1
    v4 = v2 + v3
    # Forward mode: seed x' = 1 and push tangents in evaluation order.
    t1 = 2 * x * 1.0
    t2, t3 = math.cos(v1) * t1, 3 * t1
    t4 = t2 + t3
    tJ = -math.sin(v4) * t4
    forward = [("v1' = 2x", t1), ("v2' = cos(v1) v1'", t2), ("v3' = 3 v1'", t3),
               ("v4' = v2' + v3'", t4), ("J'  = -sin(v4) v4'", tJ)]
    # Reverse mode: seed J_bar = 1 and pull adjoints in reverse order.
    a4 = -math.sin(v4) * 1.0
    a2, a3 = a4, a4
    a1 = math.cos(v1) * a2 + 3 * a3  # fork: both uses of v1 contribute
    ax = 2 * x * a1
    reverse = [("v4_bar = -sin(v4)", a4), ("v2_bar = v4_bar", a2), ("v3_bar = v4_bar", a3),
               ("v1_bar = cos(v1) v2_bar + 3 v3_bar", a1), ("x_bar  = 2x v1_bar", ax)]
    return forward, reverse


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--x", type=float, default=1.0, help="where to differentiate")
    args = parser.parse_args(argv)
    x = args.x

    v = Value(x)
    out = J(v)
    out.backward()
    dual = J(Dual(x, 1.0))
    eps = 1e-5
    central = (J(x + eps) - J(x - eps)) / (2 * eps)
    results = {"by hand": by_hand(x), "reverse mode": v.grad, "forward mode": dual.deriv,
               "finite differences": central}

    print(f"J(x) = cos(sin(x^2) + 3x^2)   at x = {x:g}:  J = {J(x):.10f}\n")
    forward, reverse = traces(x)
    print("forward mode, tangents in evaluation order (seed x' = 1):")
    for name, value in forward:
        print(f"  {name:<36}{value:>+16.10f}")
    print("reverse mode, adjoints in reverse order (seed J_bar = 1):")
    for name, value in reverse:
        print(f"  {name:<36}{value:>+16.10f}")
    print(f"\n  {'method':<22}{'dJ/dx':>16}{'|difference from by hand|':>28}")
    for name, value in results.items():
        print(f"  {name:<22}{value:>+16.10f}{abs(value - results['by hand']):>28.2e}")
    print(f"  (central differences with eps = {eps:g})\n")

    print("central differences: truncation error ~ eps^2, rounding error ~ 1e-16 / eps")
    fd_errors = {}
    for k in range(1, 13, 2):
        h = 10.0**-k
        fd_errors[h] = abs((J(x + h) - J(x - h)) / (2 * h) - results["by hand"])
        print(f"  eps = 1e-{k:<3}  error = {fd_errors[h]:.2e}")
    return {**results, "J": J(x), "fd_errors": fd_errors}


if __name__ == "__main__":
    main()
