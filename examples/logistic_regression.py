"""The gradient of logistic regression, four ways.

Run: ``python examples/logistic_regression.py``

Model and loss, for one example x with label t in {0, 1}::

    z = w . x + b,    p = sigma(z),    L = -[t log p + (1 - t) log(1 - p)]

Chain rule: dL/dp = (p - t) / (p (1 - p)) and dp/dz = p (1 - p), so the
sigmoid's derivative cancels and

    dL/dz = p - t,    dL/dw = (p - t) x,    dL/db = p - t.

For a batch, the loss is the mean and dL/dW = X.T (p - t) / N. The script
computes the gradient by this formula, by the scalar graph (`Value`), by the
layers (`Linear` + `SigmoidCrossEntropy`) and by finite differences.
"""

from __future__ import annotations

import argparse

import numpy as np

from bprop.gradcheck import numerical_gradient
from bprop.graph import Value
from bprop.layers import Linear
from bprop.losses import SigmoidCrossEntropy

X_ONE, T_ONE = np.array([1.0, -2.0, 3.0]), 1.0
W, B = np.array([0.5, -0.25, 0.1]), 0.2


def by_hand(x: np.ndarray, t: float, w: np.ndarray, b: float) -> dict:
    z = float(w @ x + b)
    p = 1.0 / (1.0 + np.exp(-z))
    loss = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    return {"z": z, "p": p, "loss": loss, "dz": p - t, "dw": (p - t) * x, "db": p - t}


def by_graph(x: np.ndarray, t: float, w: np.ndarray, b: float) -> tuple[np.ndarray, float]:
    ws, bv = [Value(v) for v in w], Value(b)
    z = sum((wi * xi for wi, xi in zip(ws, x, strict=True)), bv)
    p = z.sigmoid()
    loss = -(t * p.log() + (1 - t) * (1 - p).log())
    loss.backward()
    return np.array([wi.grad for wi in ws]), bv.grad


def by_layers(X: np.ndarray, t: np.ndarray, w: np.ndarray, b: float):
    layer = Linear(len(w), 1)
    layer.weight.value[:, 0], layer.bias.value[0] = w, b
    loss = SigmoidCrossEntropy()
    value = loss.forward(layer.forward(X), t)
    layer.backward(loss.backward())
    return value, layer.weight.grad[:, 0].copy(), float(layer.bias.grad[0])


def by_finite_differences(X: np.ndarray, t: np.ndarray, w: np.ndarray, b: float):
    loss = SigmoidCrossEntropy()
    params = np.append(w, b)

    def f(theta: np.ndarray) -> float:
        return loss.forward((X @ theta[:-1] + theta[-1])[:, None], t)

    grad = numerical_gradient(f, params)
    return grad[:-1], float(grad[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    np.set_printoptions(precision=6, suppress=True)

    hand = by_hand(X_ONE, T_ONE, W, B)
    print("p = sigma(w . x + b),  L = -[t log p + (1 - t) log(1 - p)]")
    print(f"x = {X_ONE}, t = {T_ONE:g}, w = {W}, b = {B:g}\n")
    print(f"forward:  z = {hand['z']:.6f}   p = {hand['p']:.6f}   L = {hand['loss']:.6f}")
    print(f"backward: dL/dz = p - t = {hand['dz']:.6f}  (sigma' cancels against the log's)")
    print(f"          dL/dw = (p - t) x = {hand['dw']}")
    print(f"          dL/db = p - t     = {hand['db']:.6f}\n")

    one = X_ONE[None, :], np.array([T_ONE])
    rows = {
        "by hand": (hand["dw"], hand["db"]),
        "Value graph": by_graph(X_ONE, T_ONE, W, B),
        "bprop layers": by_layers(*one, W, B)[1:],
        "finite differences": by_finite_differences(*one, W, B),
    }
    print(f"  {'method':<20}{'dL/dw':>36}{'dL/db':>12}")
    for name, (dw, db) in rows.items():
        print(f"  {name:<20}{np.array2string(dw):>36}{db:>12.6f}")

    rng = np.random.default_rng(0)
    X, t = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8).astype(float)
    p = 1.0 / (1.0 + np.exp(-(X @ W + B)))
    dw_formula = X.T @ (p - t) / len(X)
    _, dw_layers, db_layers = by_layers(X, t, W, B)
    print(f"\nbatch of N = {len(X)} (seed 0): dL/dW = X.T (p - t) / N")
    print(f"  formula      {dw_formula}   db = {np.mean(p - t):.6f}")
    print(f"  bprop layers {dw_layers}   db = {db_layers:.6f}")
    agree = all(np.allclose(dw, hand["dw"], atol=1e-8) and np.isclose(db, hand["db"], atol=1e-8)
                for dw, db in rows.values()) and np.allclose(dw_formula, dw_layers)
    print("all methods agree:", agree)
    return {**hand, "agree": bool(agree), "dw_batch": dw_formula}


if __name__ == "__main__":
    main()
