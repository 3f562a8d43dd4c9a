"""The cost of a gradient as the input dimension n grows: finite differences,
forward mode and reverse mode compared.

Run: ``python examples/differentiation_cost.py [--max-dim 256] [--plot PATH]``

For f: R^n -> R whose evaluation costs O(n) operations,

- central finite differences evaluate f twice per input: 2n evaluations,
  O(n^2) work, and an answer accurate to only ~1e-10;
- forward mode (`Dual`) pushes one tangent per pass: n passes, O(n^2);
- reverse mode (`Value`) does one forward and one backward pass: O(n),
  about a constant (here ~4-10) times one evaluation, whatever n is.

That constant-factor gradient is why neural networks, with millions of
inputs (parameters) and one output (the loss), are trained by backpropagation.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from bprop.graph import Dual, forward_gradient, gradient


def f(*x):
    """A smooth test function of n inputs whose cost grows linearly with n."""
    n = len(x)
    total = 0.0
    for i in range(n):
        total = total + x[i].sin() * x[(i + 1) % n] + 0.5 * x[i] * x[i]
    return total


def _f_float(xs: list[float]) -> float:
    # The plain-float version for finite differences (Dual with zero tangent).
    return f(*(Dual(x) for x in xs)).value


def finite_differences(xs: list[float], eps: float = 1e-5) -> list[float]:
    grad = []
    for i in range(len(xs)):
        plus, minus = list(xs), list(xs)
        plus[i] += eps
        minus[i] -= eps
        grad.append((_f_float(plus) - _f_float(minus)) / (2 * eps))
    return grad


METHODS: dict[str, Callable[[list[float]], list[float]]] = {
    "finite differences": finite_differences,
    "forward mode": lambda xs: forward_gradient(f, xs)[1],
    "reverse mode": lambda xs: gradient(f, xs)[1],
}
EVALUATIONS = {  # passes over f needed for one gradient
    "finite differences": lambda n: 2 * n,
    "forward mode": lambda n: n,
    "reverse mode": lambda n: 2,  # one forward, one backward
}


def _best_time(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def compare(dims: list[int], repeats: int = 3) -> list[dict]:
    """Time each method at each dimension; check they agree with reverse mode."""
    rows = []
    for n in dims:
        xs = [0.1 * (i % 7) - 0.3 for i in range(n)]
        exact = gradient(f, xs)[1]
        row = {"n": n, "f": _best_time(lambda xs=xs: _f_float(xs), repeats)}
        for name, method in METHODS.items():
            row[name] = _best_time(lambda m=method, xs=xs: m(xs), repeats)
            row[name + " error"] = max(abs(a - b) for a, b in zip(method(xs), exact, strict=True))
            row[name + " evaluations"] = EVALUATIONS[name](n)
        rows.append(row)
    return rows


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    dims = [r["n"] for r in rows]
    for name in METHODS:
        ax.loglog(dims, [r[name] / r["f"] for r in rows], "o-", label=name)
    ax.set_xlabel("input dimension n")
    ax.set_ylabel("time for the gradient / time for f")
    ax.set_title("Cost of a gradient: reverse mode stays flat")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-dim", type=int, default=256, help="largest n (powers of 2)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many timings")
    parser.add_argument("--plot", default="differentiation_cost.png", help="PNG path")
    parser.add_argument("--no-plot", action="store_true", help="do not draw the plot")
    args = parser.parse_args(argv)

    dims = [2**k for k in range(args.max_dim.bit_length()) if 2**k <= args.max_dim]
    rows = compare(dims, args.repeats)
    print("time for one gradient, in multiples of the time for one evaluation of f")
    print(f"  {'n':>5}{'finite diff.':>14}{'forward':>10}{'reverse':>10}"
          f"   {'evaluations (FD / fwd / rev)':>30}   max |FD - reverse|")
    for r in rows:
        ev = "/".join(str(r[m + " evaluations"]) for m in METHODS)
        print(f"  {r['n']:>5}{r['finite differences'] / r['f']:>14.1f}"
              f"{r['forward mode'] / r['f']:>10.1f}{r['reverse mode'] / r['f']:>10.1f}"
              f"   {ev:>30}   {r['finite differences error']:.1e}")
    if not args.no_plot:
        plot(rows, args.plot)
        print(f"plot written to {args.plot}")
    return rows


if __name__ == "__main__":
    main()
