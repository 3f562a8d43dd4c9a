"""micrograd's moons demo on bprop.graph: an MLP of scalar `Value`s learns two half-moons.

Run: ``python examples/moons_micrograd.py [--samples N] [--steps K] [--seed S]``

The model and the loss are micrograd's (Karpathy, 2020): ``MLP(2, [8, 8, 1])``
with ReLU hidden layers gives a score per point; the labels are y = +-1 and
the loss is the SVM max-margin loss plus a little L2::

    loss = mean_i relu(1 - y_i score_i) + 1e-4 * sum_p p**2

Each step is the PyTorch rhythm: ``zero_grad()``, ``backward()`` (leaf
gradients accumulate, so they must be zeroed first), then SGD with a
learning rate falling from 1.0 to 0.1. Everything is one scalar at a time,
so the data set is small (micrograd uses 100 points and 100 steps; this
default runs in seconds).
"""

from __future__ import annotations

import argparse
import gc

import numpy as np
from sklearn.datasets import make_moons

from bprop.graph import Value
from bprop.graph.nn import MLP


def loss_and_accuracy(model: MLP, X: np.ndarray, y: np.ndarray, alpha: float = 1e-4):
    """The max-margin loss with L2, and the fraction of points on the right side."""
    scores = [model([Value(float(a)), Value(float(b))]) for a, b in X]
    margins = [(1 + -float(yi) * score).relu() for yi, score in zip(y, scores, strict=True)]
    data_loss = sum(margins) * (1.0 / len(margins))
    reg_loss = alpha * sum(p * p for p in model.parameters())
    accuracy = np.mean([(yi > 0) == (s.data > 0) for yi, s in zip(y, scores, strict=True)])
    return data_loss + reg_loss, float(accuracy)


def train(samples: int = 40, steps: int = 30, seed: int = 1) -> dict[str, float]:
    """Train on ``samples`` moons for ``steps`` full-batch steps; return the final numbers."""
    X, y = make_moons(n_samples=samples, noise=0.1, random_state=seed)
    y = 2 * y - 1  # labels -1 and +1 for the max-margin loss
    model = MLP(2, [8, 8, 1], rng=seed)
    # Every gate's closure refers to its output node, a reference cycle: Python's
    # cycle collector would rescan the growing graph many times per step. One
    # collection per step, after the graph is dropped, is enough.
    gc.disable()
    try:
        for k in range(steps):
            loss, accuracy = loss_and_accuracy(model, X, y)
            model.zero_grad()
            loss.backward()
            lr = 1.0 - 0.9 * k / steps
            for p in model.parameters():
                p.data -= lr * p.grad
            if k % 10 == 0 or k == steps - 1:
                print(f"step {k:3d}  loss {loss.data:.4f}  accuracy {accuracy:.0%}")
            del loss
            gc.collect()
    finally:
        gc.enable()
    loss, accuracy = loss_and_accuracy(model, X, y)
    print(f"final: loss {loss.data:.4f}, training accuracy {accuracy:.0%} "
          f"({len(model.parameters())} parameters, {samples} points)")
    return {"loss": loss.data, "accuracy": accuracy}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    return train(args.samples, args.steps, args.seed)


if __name__ == "__main__":
    main()
