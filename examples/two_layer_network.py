"""A two-layer sigmoid network with squared error, backpropagated layer by layer.

Run: ``python examples/two_layer_network.py [--steps 10000]``

The classic worked example (M. Mazur, "A Step by Step Backpropagation
Example"): inputs i1 = 0.05, i2 = 0.10, targets 0.01, 0.99, weights
w1..w8 = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55, biases b1 = 0.35,
b2 = 0.60, learning rate 0.5, biases kept fixed. With ``y = x @ W + b``::

    W1 = [[w1, w3],     h = sigma(x @ W1 + b1)      E = 1/2 sum_k (o_k - t_k)^2
          [w2, w4]]     o = sigma(h @ W2 + b2)

Backward, layer by layer (delta = dE/dnet, the gradient at a layer's input
to the sigmoid)::

    delta_o = (o - t) * o (1 - o)          dW2 = h.T @ delta_o
    delta_h = (delta_o @ W2.T) * h (1 - h) dW1 = x.T @ delta_h

The same numbers come out of `bprop.layers` (Linear, Sigmoid) with
`bprop.losses.SquaredError`, and one SGD step gives the updated weights.
"""

from __future__ import annotations

import argparse

import numpy as np

from bprop.layers import Linear, Sequential, Sigmoid
from bprop.losses import SquaredError
from bprop.optim import SGD

X = np.array([[0.05, 0.10]])
T = np.array([[0.01, 0.99]])
W1 = np.array([[0.15, 0.25], [0.20, 0.30]])  # [[w1, w3], [w2, w4]]
W2 = np.array([[0.40, 0.50], [0.45, 0.55]])  # [[w5, w7], [w6, w8]]
B1, B2, LR = 0.35, 0.60, 0.5


def by_hand() -> dict[str, np.ndarray]:
    """Forward and backward in plain numpy, one line per quantity."""
    net_h = X @ W1 + B1
    h = 1 / (1 + np.exp(-net_h))
    net_o = h @ W2 + B2
    o = 1 / (1 + np.exp(-net_o))
    E = 0.5 * np.sum((o - T) ** 2)
    delta_o = (o - T) * o * (1 - o)
    dW2 = h.T @ delta_o
    delta_h = (delta_o @ W2.T) * h * (1 - h)
    dW1 = X.T @ delta_h
    return {"net_h": net_h, "h": h, "net_o": net_o, "o": o, "E": E, "delta_o": delta_o,
            "dW2": dW2, "delta_h": delta_h, "dW1": dW1}


def build() -> tuple[Sequential, list[Linear]]:
    first, second = Linear(2, 2), Linear(2, 2)
    first.weight.value[...], first.bias.value[...] = W1, B1
    second.weight.value[...], second.bias.value[...] = W2, B2
    return Sequential(first, Sigmoid(), second, Sigmoid()), [first, second]


def by_layers(model: Sequential) -> tuple[float, list[np.ndarray]]:
    """Forward, then backward one layer at a time, keeping every layer's input gradient."""
    loss = SquaredError()
    E = loss.forward(model.forward(X), T)
    grads = [loss.backward()]  # dE/do
    for layer in reversed(model.layers):
        grads.append(layer.backward(grads[-1]))
    # grads: dE/do, delta_o (= dE/dnet_o), dE/dh, delta_h (= dE/dnet_h), dE/dx
    return E, grads


def numbered(first: np.ndarray, second: np.ndarray) -> list[float]:
    """w1..w8 (or their gradients) in the example's numbering, from the two matrices."""
    (w1, w3), (w2, w4) = first
    (w5, w7), (w6, w8) = second
    return [float(w) for w in (w1, w2, w3, w4, w5, w6, w7, w8)]


def _line(names: list[str], values: list[float], prefix: str = "") -> str:
    return "  " + "  ".join(f"{prefix}{n} = {v:.9f}" for n, v in zip(names, values, strict=True))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="SGD steps to run in all")
    args = parser.parse_args(argv)
    np.set_printoptions(precision=9, suppress=True)

    hand = by_hand()
    model, linears = build()
    E, grads = by_layers(model)
    print("forward")
    print(f"  net_h = {hand['net_h'][0]}   out_h = {hand['h'][0]}")
    print(f"  net_o = {hand['net_o'][0]}   out_o = {hand['o'][0]}")
    print(f"  E_total = {hand['E']:.9f}   (bprop SquaredError: {E:.9f})\n")
    print("backward, layer by layer          by hand                    bprop layers")
    print(f"  delta_o = dE/dnet_o   {hand['delta_o'][0]}   {grads[1][0]}")
    print(f"  dE/dh = delta_o W2.T  {(hand['delta_o'] @ W2.T)[0]}   {grads[2][0]}")
    print(f"  delta_h = dE/dnet_h   {hand['delta_h'][0]}   {grads[3][0]}")
    names = ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"]
    grad_w = numbered(linears[0].weight.grad, linears[1].weight.grad)
    print(_line(names[4:], grad_w[4:], "dE/d"))
    print(_line(names[:4], grad_w[:4], "dE/d"))

    # The example keeps the biases fixed: only the weights go to the optimizer.
    opt = SGD([lin.weight for lin in linears], lr=LR)
    opt.step()
    new = numbered(linears[0].weight.value, linears[1].weight.value)
    loss = SquaredError()
    E1 = loss.forward(model.forward(X), T)
    print(f"\nafter one SGD step (lr = {LR}):")
    print(_line(names[4:], new[4:]))
    print(_line(names[:4], new[:4]))
    print(f"  E_total = {E1:.9f}")
    for _ in range(args.steps - 1):
        loss.forward(model.forward(X), T)
        model.backward(loss.backward())
        opt.step()
    out = model.forward(X)
    E_final = loss.forward(out, T)
    print(f"after {args.steps} steps: E_total = {E_final:.4e}, outputs = {out[0]} "
          f"(targets {T[0]})")
    agree = bool(np.allclose(hand["delta_o"], grads[1]) and np.allclose(hand["delta_h"], grads[3])
                 and np.isclose(hand["E"], E))
    print("by hand and bprop layers agree:", agree)
    return {"E": E, "E_after_one_step": E1, "weights_after_one_step": new,
            "dE_dw": grad_w, "E_final": E_final, "outputs_final": out[0], "agree": agree}


if __name__ == "__main__":
    main()
