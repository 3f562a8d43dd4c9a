"""XOR: a single layer cannot learn it, one hidden layer can.

Run: ``python examples/xor.py [--seed 0]``

XOR's positive points (0, 1) and (1, 0) sit on one diagonal of the square
and the negative ones on the other: no straight line separates them
(Minsky and Papert, 1969), so every single-layer rule fails, however long
it trains. One hidden layer is enough: XOR(a, b) = AND(OR(a, b), NAND(a, b))
with threshold units, or a small network trained by backpropagation.
"""

from __future__ import annotations

import argparse

import numpy as np

from bprop.classic import Adaline, Perceptron
from bprop.layers import Linear, Sequential, Tanh
from bprop.losses import SigmoidCrossEntropy
from bprop.optim import SGD

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([0, 1, 1, 0])


def train_by_backprop(model: Sequential, epochs: int, lr: float) -> list[float]:
    """Full-batch gradient descent on the logistic loss; returns the loss curve."""
    loss, opt = SigmoidCrossEntropy(), SGD(model.parameters(), lr=lr, momentum=0.9)
    curve = []
    for _ in range(epochs):
        curve.append(loss.forward(model.forward(X), Y))
        model.backward(loss.backward())
        opt.step()
    return curve


def accuracy_of(model: Sequential) -> float:
    return float(np.mean((model.forward(X)[:, 0] > 0) == Y))


def threshold_network(x: np.ndarray) -> np.ndarray:
    """XOR by hand with step units: a hidden OR and NAND, then an AND."""
    step = lambda z: (z > 0).astype(int)  # noqa: E731 - a one-line unit, as on the slide
    hidden = step(x @ np.array([[1.0, -1.0], [1.0, -1.0]]) + np.array([-0.5, 1.5]))
    return step(hidden @ np.array([1.0, 1.0]) - 1.5)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    parser.add_argument("--epochs", type=int, default=500)
    args = parser.parse_args(argv)

    results = {}
    perceptron = Perceptron(max_epochs=1000, random_state=args.seed).fit(X, Y)
    results["perceptron"] = perceptron.score(X, Y)
    adaline = Adaline(lr=0.1, epochs=1000, batch=True).fit(X, Y)
    results["adaline (delta rule)"] = adaline.score(X, Y)
    single = Sequential(Linear(2, 1, rng=args.seed))
    single_curve = train_by_backprop(single, args.epochs, lr=0.5)
    results["one layer, backprop"] = accuracy_of(single)
    results["hidden layer, by hand"] = float(np.mean(threshold_network(X) == Y))
    mlp = Sequential(Linear(2, 4, rng=args.seed), Tanh(), Linear(4, 1, rng=args.seed + 1))
    mlp_curve = train_by_backprop(mlp, args.epochs, lr=0.5)
    results["hidden layer, backprop"] = accuracy_of(mlp)

    print("XOR truth table: (0,0)->0 (0,1)->1 (1,0)->1 (1,1)->0\n")
    print(f"  {'model':<26}{'accuracy':>9}   note")
    notes = {
        "perceptron": f"still {perceptron.errors_[-1]} mistakes in epoch {perceptron.n_iter_}",
        "adaline (delta rule)": "the least-squares fit is flat: outputs "
                                f"{np.round(adaline.decision_function(X), 3) + 0.0}",
        "one layer, backprop": f"loss stuck at {single_curve[-1]:.4f} (log 2 = 0.6931)",
        "hidden layer, by hand": "h1 = OR, h2 = NAND, y = AND(h1, h2)",
        "hidden layer, backprop": f"2-4-1 tanh net, loss {mlp_curve[0]:.4f} -> "
                                  f"{mlp_curve[-1]:.4f}",
    }
    for name, acc in results.items():
        print(f"  {name:<26}{acc:>9.2f}   {notes[name]}")
    print(f"\n(seed {args.seed}, {args.epochs} epochs of full-batch SGD, lr 0.5, momentum 0.9)")
    return {**results, "single_final_loss": single_curve[-1], "mlp_final_loss": mlp_curve[-1]}


if __name__ == "__main__":
    main()
