"""bprop.graph: Value (reverse mode), Dual (forward mode) and draw."""

import math
import re
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


def test_leaf_gradients_accumulate_across_backward_calls_as_in_pytorch():
    # T4: PyTorch (retain_graph=True) and micrograd give 6 then 12.
    x = Value(3.0)
    y = x * x
    y.backward()
    assert x.grad == 6.0
    y.backward()
    assert x.grad == 12.0
    # A per-sample loop: l1 = 3w, l2 = 5w, backward on each -> 8, as PyTorch.
    w = Value(2.0)
    l1, l2 = 3 * w, 5 * w
    l1.backward()
    l2.backward()
    assert w.grad == 8.0
    # A shared inner node is not counted twice: h = 2w feeds both losses.
    w = Value(1.0)
    h = w * 2
    (h * 3).backward()
    (h * 5).backward()
    assert w.grad == 16.0
    y.backward(zero_grad=True)
    assert x.grad == 6.0


def test_ten_thousand_node_chain_does_not_recurse():
    limit = sys.getrecursionlimit()
    x = Value(1.0)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001**10_000)
    assert sys.getrecursionlimit() == limit


def test_max_gate_routes_gradient_to_larger_input_and_splits_a_tie():
    a, b = Value(1.0), Value(3.0)
    m = a.max(b)
    m.backward()
    assert (m.data, a.grad, b.grad) == (3.0, 0.0, 1.0)
    a, b = Value(2.0), Value(2.0)
    a.max(b).backward()
    assert (a.grad, b.grad) == (0.5, 0.5)  # torch.maximum's tie rule
    assert Dual(2.0, 1.0).max(Dual(2.0, 5.0)).deriv == 3.0


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


# -- T4: PyTorch's values where the maths is defined, a clear error where not --------
# Each row: (expression of x and y, x, y, value, dx, dy), the numbers torch gives
# (torch.tensor(x, requires_grad=True) ** ... then .backward()).
TORCH = [
    ("x ** 0", 0.0, None, 1.0, 0.0, None),
    ("x ** 0.5", 0.0, None, 0.0, math.inf, None),
    ("x ** 2", 0.0, None, 0.0, 0.0, None),
    ("x ** 3", -2.0, None, -8.0, 12.0, None),
    ("x ** -2", -2.0, None, 0.25, 0.25, None),
    ("x ** y", -2.0, -3.0, -0.125, -0.1875, math.nan),
    ("x ** y", 0.0, 2.0, 0.0, 0.0, 0.0),
    ("x ** y", 2.0, 3.0, 8.0, 12.0, 8.0 * math.log(2.0)),
    ("2.0 ** x", 3.0, None, 8.0, 8.0 * math.log(2.0), None),
    ("0.0 ** x", 2.0, None, 0.0, 0.0, None),
    ("x / y", 3.0, -2.0, -1.5, -0.5, -0.75),
    ("1.0 / x", 4.0, None, 0.25, -1.0 / 16, None),
    ("x.exp()", 1000.0, None, math.inf, math.inf, None),
]


@pytest.mark.parametrize("expr,x,y,value,dx,dy", TORCH, ids=[f"{r[0]}@{r[1]}" for r in TORCH])
def test_values_and_gradients_are_pytorchs(expr, x, y, value, dx, dy):
    vx = Value(x)
    vy = Value(y) if y is not None else None
    out = eval(expr, {"x": vx, "y": vy})
    out.backward()
    for got, want in ((out.data, value), (vx.grad, dx), (vy.grad if vy else None, dy)):
        if want is None:
            continue
        if math.isnan(want):
            assert math.isnan(got)
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=0.0)
    # Dual: the same value, and the derivative along x.
    dual = eval(expr, {"x": Dual(x, 1.0), "y": Dual(y) if y is not None else None})
    assert dual.value == pytest.approx(value, rel=1e-12, abs=0.0)
    assert dual.deriv == pytest.approx(dx, rel=1e-12, abs=0.0)


UNDEFINED = [
    ("Value(-8.0) ** (1 / 3)", ValueError, "a fractional power of a negative number"),
    ("Value(-8.0) ** Value(0.5)", ValueError, "a fractional power of a negative number"),
    ("(-8.0) ** Value(0.5)", ValueError, "a fractional power of a negative number"),
    ("Value(3.0) / Value(0.0)", ZeroDivisionError, "division by zero: 3 / 0"),
    ("Value(3.0) / 0", ZeroDivisionError, "division by zero: 3 / 0"),
    ("2 / Value(0.0)", ZeroDivisionError, "division by zero: 2 / 0"),
    ("Value(0.0) ** -1", ZeroDivisionError, "a negative power of 0 divides by zero"),
    ("Value(0.0).log()", ValueError, "log(0): the logarithm is defined for x > 0 only"),
    ("Value(-1.0).log()", ValueError, "log(-1)"),
    ("Dual(-8.0) ** (1 / 3)", ValueError, "a fractional power of a negative number"),
    ("Dual(3.0) / Dual(0.0)", ZeroDivisionError, "division by zero: 3 / 0"),
    ("Dual(0.0).log()", ValueError, "log(0)"),
]


@pytest.mark.parametrize("expr,error,words", UNDEFINED, ids=[u[0] for u in UNDEFINED])
def test_undefined_maths_says_what_the_student_did(expr, error, words):
    with pytest.raises(error, match=re.escape(words)):
        eval(expr, {"Value": Value, "Dual": Dual})


# micrograd's nn.py (github.com/karpathy/micrograd, MIT licence), verbatim but for
# black's line breaks: it must run unchanged on bprop's Value.
MICROGRAD_NN = """
import random
from micrograd.engine import Value

class Module:

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0

    def parameters(self):
        return []

class Neuron(Module):

    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1,1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi*xi for wi,xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"

class Layer(Module):

    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"

class MLP(Module):

    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i+1], nonlin=i!=len(nouts)-1) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
"""


def test_bprop_nn_is_micrograds_nn(monkeypatch):
    import random
    import types

    from bprop.graph import nn, value

    package = types.ModuleType("micrograd")
    package.engine = value
    monkeypatch.setitem(sys.modules, "micrograd", package)
    monkeypatch.setitem(sys.modules, "micrograd.engine", value)
    theirs: dict = {}
    random.seed(0)
    exec(compile(MICROGRAD_NN, "micrograd/nn.py", "exec"), theirs)
    ref = theirs["MLP"](3, [4, 4, 1])
    ours = nn.MLP(3, [4, 4, 1], rng=5)
    assert repr(ours) == repr(ref)
    assert len(ours.parameters()) == len(ref.parameters()) == 41
    for p, q in zip(ours.parameters(), ref.parameters(), strict=True):
        p.data = q.data
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0]]
    for model in (ours, ref):
        model.zero_grad()
        loss = sum((model(x) - t) ** 2 for x, t in zip(xs, [1.0, -1.0, -1.0], strict=True))
        loss.backward()
    for p, q in zip(ours.parameters(), ref.parameters(), strict=True):
        assert p.grad == q.grad
    assert any(p.grad != 0 for p in ours.parameters())
    # zero_grad resets; a second backward without it accumulates (PyTorch's rule).
    first = [p.grad for p in ours.parameters()]
    loss = sum((ours(x) - t) ** 2 for x, t in zip(xs, [1.0, -1.0, -1.0], strict=True))
    loss.backward()
    assert [p.grad for p in ours.parameters()] == pytest.approx([2 * g for g in first])
    ours.zero_grad()
    assert all(p.grad == 0 for p in ours.parameters())


def test_nn_modules_are_seeded_and_check_their_inputs():
    from bprop.graph.nn import MLP, Layer, Neuron

    a, b = Neuron(3, rng=7), Neuron(3, rng=7)
    assert [w.data for w in a.w] == [w.data for w in b.w] and a.b.data == 0.0
    assert repr(Neuron(2, nonlin=False)) == "LinearNeuron(2)"
    assert len(Layer(3, 2, rng=np.random.default_rng(0)).parameters()) == 8
    out = MLP(2, [3, 2], rng=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 2
    with pytest.raises(ValueError, match="takes 3 inputs, got 2"):
        a([1.0, 2.0])
    with pytest.raises(ValueError, match="nouts must list at least one"):
        MLP(2, [])


@pytest.mark.parametrize("args", [("Neuron", 2.5), ("Layer", 2, 1.5), ("Neuron", 0)])
def test_nn_sizes_must_be_integers(args):
    import bprop.graph.nn as nn

    with pytest.raises(ValueError, match="must be an integer >= 1"):  # 2.5 is not 2
        getattr(nn, args[0])(*args[1:])


def test_overflowing_local_derivative_times_zero_is_zero_not_nan():
    assert Dual(800.0).exp().deriv == 0.0  # a constant: d/dx is 0, not inf * 0
    assert math.isinf(Dual(800.0, 1.0).exp().deriv)
    x, w = Value(800.0), Value(0.0)
    (x.exp() * w).backward()  # d/dx = w * e^x = 0 exactly
    assert x.grad == 0.0
