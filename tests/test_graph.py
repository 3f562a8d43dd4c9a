"""bprop.graph: Value (reverse mode), Dual (forward mode) and draw."""

import math
import shutil
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from bprop.graph import Dual, Value, derivative, draw, forward_gradient, gradient

# (name, function of one node, input): every gate and every mix of numbers
# and nodes on either side of an operator.
UNARY = [
    ("add", lambda v: v + 2.5, 0.7),
    ("radd", lambda v: 2.5 + v, 0.7),
    ("sub", lambda v: v - 2.5, 0.7),
    ("rsub", lambda v: 2.5 - v, 0.7),
    ("mul", lambda v: v * 3.0, 0.7),
    ("rmul", lambda v: 3.0 * v, 0.7),
    ("div", lambda v: v / 4.0, 0.7),
    ("rdiv", lambda v: 4.0 / v, 0.7),
    ("pow", lambda v: v**3, 0.7),
    ("pow_frac", lambda v: v**0.5, 0.7),
    ("rpow", lambda v: 2.0**v, 0.7),
    ("pow_node", lambda v: v**v, 0.7),
    ("neg", lambda v: -v, 0.7),
    ("exp", lambda v: v.exp(), 0.7),
    ("log", lambda v: v.log(), 0.7),
    ("sin", lambda v: v.sin(), 0.7),
    ("cos", lambda v: v.cos(), 0.7),
    ("tanh", lambda v: v.tanh(), 0.7),
    ("sigmoid", lambda v: v.sigmoid(), 0.7),
    ("relu_pos", lambda v: v.relu(), 0.7),
    ("relu_neg", lambda v: v.relu(), -0.7),
    ("abs_pos", lambda v: abs(v), 0.7),
    ("abs_neg", lambda v: v.abs(), -0.7),
    ("max_left", lambda v: v.max(0.2), 0.7),
    ("max_right", lambda v: v.max(0.9), 0.7),
    ("composite", lambda v: (v * v.sin() + 1).log() / (2 - v.tanh()), 0.7),
]


def _plain(f, x: float) -> float:
    """Evaluate ``f`` on a number through Dual with a zero tangent."""
    return f(Dual(x)).value


@pytest.mark.parametrize("name,f,x", UNARY, ids=[u[0] for u in UNARY])
def test_reverse_and_forward_match_finite_differences(name, f, x):
    eps = 1e-6
    numeric = (_plain(f, x + eps) - _plain(f, x - eps)) / (2 * eps)
    v = Value(x)
    out = f(v)
    out.backward()
    value, deriv = derivative(f, x)
    assert out.data == pytest.approx(value, rel=1e-12)
    assert v.grad == pytest.approx(numeric, rel=1e-6, abs=1e-8)
    assert deriv == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_lecture_circuit_add_then_multiply():
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    f = (x + y) * z
    f.backward()
    assert (f.data, x.grad, y.grad, z.grad) == (-12.0, -4.0, -4.0, 3.0)


def test_gradients_add_up_at_forks():
    x = Value(3.0)
    y = x * x + x  # x feeds three uses: 2x + 1
    y.backward()
    assert x.grad == 7.0
    a = Value(2.0)
    b = a.sin()
    c = b * 2 + b.exp()  # b is a fork; a gets both paths through it
    c.backward()
    assert a.grad == pytest.approx(math.cos(2.0) * (2 + math.exp(math.sin(2.0))))


def test_backward_twice_gives_same_answer_unless_asked_to_accumulate():
    x = Value(2.0)
    y = x * x
    y.backward()
    y.backward()
    assert x.grad == 4.0
    y.backward(zero_grad=False)
    assert x.grad == 8.0


def test_ten_thousand_node_chain_does_not_recurse():
    limit = sys.getrecursionlimit()
    x = Value(1.0)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001**10_000)
    assert sys.getrecursionlimit() == limit


def test_max_gate_routes_gradient_to_larger_input_and_first_on_tie():
    a, b = Value(1.0), Value(3.0)
    m = a.max(b)
    m.backward()
    assert (m.data, a.grad, b.grad) == (3.0, 0.0, 1.0)
    a, b = Value(2.0), Value(2.0)
    a.max(b).backward()
    assert (a.grad, b.grad) == (1.0, 0.0)
    assert Dual(2.0, 1.0).max(Dual(2.0, 5.0)).deriv == 1.0


def test_kinks_get_zero_gradient():
    for gate in (Value.relu, Value.abs):
        v = Value(0.0)
        gate(v).backward()
        assert v.grad == 0.0


def test_sigmoid_is_stable_for_large_inputs():
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0
    assert Dual(-1000.0, 1.0).sigmoid().deriv == 0.0


def test_forward_mode_needs_one_pass_per_input_and_agrees_with_reverse():
    def f(x, y, z):
        return (x * y).sin() + (z / y).exp() - x**2

    xs = [0.3, -1.2, 0.8]
    value_r, grad_r = gradient(f, xs)
    value_f, grad_f = forward_gradient(f, xs)
    assert value_r == pytest.approx(value_f)
    np.testing.assert_allclose(grad_r, grad_f, rtol=1e-12)


def test_repr_names_value_and_gradient():
    v = Value(0.5, label="w")
    assert repr(v) == "Value(w: data=0.5, grad=0)"
    assert repr(Dual(1.0, 2.0)) == "Dual(value=1, deriv=2)"


def test_draw_annotates_values_and_gradients(tmp_path):
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    f.backward()
    text = draw(f, tmp_path / "circuit")
    assert text.startswith("digraph G {")
    assert '[label="{x | data -2 | grad -4}", shape=record]' in text
    assert '[label="{q | data 3 | grad -4}", shape=record]' in text
    assert '[label="{f | data -12 | grad 1}", shape=record]' in text
    assert text.count('shape=oval') == 2  # the + and * gates
    assert (tmp_path / "circuit.dot").read_text() == text
    # Graphviz is optional: an SVG appears only where `dot` is installed.
    assert (tmp_path / "circuit.svg").exists() == (shutil.which("dot") is not None)


def test_draw_escapes_record_syntax_in_labels():
    v = Value(1.0, label="a|b{c}")
    assert r"a\|b\{c\}" in draw(v)


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz `dot` not installed (apt-get install graphviz); SVG untested")
def test_draw_renders_an_svg_with_every_label(tmp_path):
    x, w = Value(-2.0, label="x"), Value(3.0, label="w|b")  # record syntax, escaped in DOT
    f = (x * w).tanh()
    f.label = "f"
    f.backward()
    draw(f, tmp_path / "neuron")
    svg = ET.parse(tmp_path / "neuron.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    # Each record field is its own <text>; gates show their operation.
    assert {"x", "w|b", "f", "data -2", "data 3", "*", "tanh"} <= texts
    assert f"grad {f.grad:.4g}" in texts and f"grad {x.grad:.4g}" in texts


def test_value_mlp_matches_layer_stack():
    """A 3-4-2 tanh MLP of Values gives the layer stack's gradients (seed 0)."""
    layers = pytest.importorskip("bprop.layers")
    losses = pytest.importorskip("bprop.losses")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3))
    target = rng.normal(size=(5, 2))
    model = layers.Sequential(
        layers.Linear(3, 4, rng=rng), layers.Tanh(), layers.Linear(4, 2, rng=rng)
    )
    loss = losses.SquaredError()
    loss.forward(model.forward(x), target)
    model.backward(loss.backward())

    (W1, b1), (W2, b2) = [
        ([[Value(w) for w in row] for row in lin.weight.value], [Value(b) for b in lin.bias.value])
        for lin in (model.layers[0], model.layers[2])
    ]
    total = Value(0.0)
    for xn, tn in zip(x, target, strict=True):
        h = [sum((W1[i][j] * xn[i] for i in range(3)), b1[j]).tanh() for j in range(4)]
        y = [sum((W2[i][k] * h[i] for i in range(4)), b2[k]) for k in range(2)]
        total = total + sum(0.5 * (y[k] - tn[k]) ** 2 for k in range(2))
    mean = total / len(x)
    mean.backward()

    for lin, W, b in ((model.layers[0], W1, b1), (model.layers[2], W2, b2)):
        np.testing.assert_allclose(lin.weight.grad, [[w.grad for w in r] for r in W], rtol=1e-10)
        np.testing.assert_allclose(lin.bias.grad, [v.grad for v in b], rtol=1e-10)
