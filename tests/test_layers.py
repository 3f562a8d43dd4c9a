"""Every layer: a value test against a hand-written numpy formula and a gradient check."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bprop import Parameter, check_gradients
from bprop.layers import (
    Dropout,
    Identity,
    Layer,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from bprop.losses import SquaredError


def _linear_ref(layer, x):
    return x @ layer.weight.value + layer.bias.value


def _softmax_ref(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# (id, factory(n_in) -> layer, reference(layer, x) -> y)
LAYERS = [
    ("Linear", lambda d: Linear(d, 3, rng=0), _linear_ref),
    ("Linear-he", lambda d: Linear(d, 2, init="he_normal", rng=1), _linear_ref),
    ("Sigmoid", lambda d: Sigmoid(), lambda _, x: 1 / (1 + np.exp(-x))),
    ("Tanh", lambda d: Tanh(), lambda _, x: np.tanh(x)),
    ("ReLU", lambda d: ReLU(), lambda _, x: np.where(x > 0, x, 0.0)),
    ("LeakyReLU", lambda d: LeakyReLU(0.1), lambda _, x: np.where(x > 0, x, 0.1 * x)),
    ("Identity", lambda d: Identity(), lambda _, x: x),
    ("Softmax", lambda d: Softmax(), lambda _, x: _softmax_ref(x)),
    ("Dropout-eval", lambda d: Dropout(0.5, rng=0).eval(), lambda _, x: x),
    (
        "Sequential",
        lambda d: Sequential(Linear(d, 4, rng=0), Tanh(), Linear(4, 2, rng=1)),
        lambda s, x: _linear_ref(s[2], np.tanh(_linear_ref(s[0], x))),
    ),
]
IDS = [case[0] for case in LAYERS]
SHAPES = [(1, 3), (4, 5), (7, 2)]


@pytest.mark.parametrize("name,make,ref", LAYERS, ids=IDS)
def test_forward_matches_numpy_formula(name, make, ref, rng):
    x = rng.normal(size=(6, 4))
    layer = make(4)
    np.testing.assert_allclose(layer.forward(x), ref(layer, x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,make,ref", LAYERS, ids=IDS)
def test_gradients_match_finite_differences(name, make, ref, shape, rng):
    layer = make(shape[1])
    x = rng.normal(size=shape)
    out_dim = layer.forward(x).shape[1]
    target = rng.normal(size=(shape[0], out_dim))
    report = check_gradients(layer, SquaredError(), x, target)
    assert report.ok, f"seed 0, shape {shape}\n{report}"
    assert report.rows[0].checked > 0


def test_dropout_training_mode_is_gradient_checked(rng):
    layer = Sequential(Linear(5, 6, rng=0), Dropout(0.4, rng=3), Linear(6, 2, rng=1))
    x = rng.normal(size=(8, 5))
    report = check_gradients(layer, SquaredError(), x, rng.normal(size=(8, 2)))
    assert report.ok, str(report)


def test_dropout_scales_kept_units_and_eval_is_identity(rng):
    x = np.ones((2000, 10))
    drop = Dropout(0.3, rng=0)
    y = drop.forward(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_array_equal(drop.backward(np.ones_like(x)), y)
    y_eval = drop.eval().forward(x)
    np.testing.assert_array_equal(y_eval, x)
    assert not np.shares_memory(y_eval, x)  # a fresh array, as every layer's output


def test_train_eval_switch_reaches_nested_layers():
    net = Sequential(Linear(2, 2), Sequential(Dropout(0.5), ReLU()))
    net.eval()
    assert not net[1][0].training
    net.train()
    assert net[1][0].training


@pytest.mark.parametrize("layer", [Sigmoid(), Softmax(), Tanh()], ids=repr)
def test_no_overflow_at_large_inputs(layer):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))


def test_sigmoid_saturates_exactly():
    y = Sigmoid().forward(np.array([[1e4, -1e4]]))
    np.testing.assert_array_equal(y, [[1.0, 0.0]])


@pytest.mark.parametrize(
    "init",
    [
        "glorot_uniform",
        "glorot_normal",
        "he_normal",
        "he_uniform",
        "lecun_normal",
        "lecun_uniform",
        "normal",
        "zeros",
    ],
)
def test_initialisers_have_expected_scale(init):
    W = Linear(400, 300, init=init, std=0.05, rng=0).weight.value
    expected = {
        "glorot_uniform": np.sqrt(2 / 700),
        "glorot_normal": np.sqrt(2 / 700),
        "he_normal": np.sqrt(2 / 400),
        "he_uniform": np.sqrt(2 / 400),
        "lecun_normal": np.sqrt(1 / 400),
        "lecun_uniform": np.sqrt(1 / 400),
        "normal": 0.05,
        "zeros": 0.0,
    }[init]
    assert W.std() == pytest.approx(expected, rel=0.03, abs=1e-12)


def test_linear_seed_reproducible_and_bias_not_decayed():
    a, b = Linear(3, 2, rng=7), Linear(3, 2, rng=7)
    np.testing.assert_array_equal(a.weight.value, b.weight.value)
    assert a.weight.decay and not a.bias.decay
    assert [p.name for p in a.parameters()] == ["weight", "bias"]


def test_float32_end_to_end(rng):
    net = Sequential(Linear(4, 5, dtype=np.float32, rng=0), ReLU(), Linear(5, 3, dtype="float32"))
    x = rng.normal(size=(6, 4)).astype(np.float32)
    y = net.forward(x)
    dx = net.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in net.parameters())


def test_backward_sets_not_accumulates(rng):
    layer = Linear(3, 2, rng=0)
    x, dy = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    for _ in range(2):
        layer.forward(x)
        layer.backward(dy)
    np.testing.assert_allclose(layer.weight.grad, x.T @ dy)


def test_backward_params_skips_input_gradient(rng):
    net = Sequential(Linear(3, 4, rng=0), ReLU(), Linear(4, 2, rng=1))
    x, dy = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    net.forward(x)
    dx = net.backward(dy)
    full = [p.grad.copy() for p in net.parameters()]
    net.forward(x)
    assert net.backward(dy, input_grad=False) is None
    for g, p in zip(full, net.parameters(), strict=True):
        np.testing.assert_array_equal(g, p.grad)
    assert dx.shape == x.shape


@pytest.mark.parametrize("name,make,ref", LAYERS, ids=IDS)
def test_backward_before_forward_is_a_clear_error(name, make, ref):
    with pytest.raises(RuntimeError, match="before forward"):
        make(3).backward(np.ones((2, 3)))


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="shape \\(batch, features\\)"):
        ReLU().forward(np.ones(3))
    with pytest.raises(ValueError, match="numeric"):
        Tanh().forward(np.array([["a"]]))
    with pytest.raises(ValueError, match="n_out must be an integer >= 1"):
        Linear(3, 0)
    with pytest.raises(ValueError, match="unknown init"):
        Linear(3, 2, init="glorot")
    with pytest.raises(ValueError, match="float32 or float64"):
        Linear(3, 2, dtype=np.int32)
    with pytest.raises(ValueError, match="in \\[0, 1\\)"):
        Dropout(1.0)
    with pytest.raises(ValueError, match="item 1 must be a bprop Layer"):
        Sequential(Linear(2, 2), "ReLU")


def test_sequential_names_the_failing_layer(rng):
    net = Sequential(Linear(3, 4, rng=0), ReLU(), Linear(5, 2, rng=1))
    with pytest.raises(ValueError, match="expects x with 5 features") as info:
        net.forward(rng.normal(size=(2, 3)))
    notes = "".join(getattr(info.value, "__notes__", []))
    assert "In layer 2 of Sequential: Linear(n_in=5, n_out=2" in notes


def test_user_layer_needs_only_forward_and_backward(rng):
    class Scale(Layer):
        def __init__(self):
            self.a = Parameter(np.array([2.0]), "a", decay=False)

        def forward(self, x):
            self._x = x
            return self.a.value * x

        def backward(self, dy):
            self.a.grad[...] = np.sum(dy * self._x)
            return self.a.value * dy

    layer = Scale()
    assert layer.parameters() == [layer.a]
    report = check_gradients(layer, SquaredError(), rng.normal(size=(3, 2)), np.zeros((3, 2)))
    assert report.ok, str(report)


# -- the reference contract: fresh outputs, gradients set by every backward --

FRESH = [
    lambda: Linear(4, 3, rng=0), ReLU, Sigmoid, Tanh, Identity, lambda: LeakyReLU(0.1),
    lambda: Dropout(0.5, rng=0), lambda: Dropout(0.5, rng=0).eval(), Softmax,
    lambda: Sequential(Linear(4, 4, rng=0), ReLU()),
]


@pytest.mark.parametrize("make", FRESH)
def test_outputs_and_input_gradients_are_fresh_arrays(make, rng):
    layer = make()
    x = rng.normal(size=(5, 4))
    x_before = x.copy()
    y = layer.forward(x)
    assert not np.shares_memory(y, x)
    assert layer.forward(x) is not y  # a new array every call
    dy = rng.normal(size=y.shape)
    dx = layer.backward(dy)
    assert not np.shares_memory(dx, dy)
    np.testing.assert_array_equal(x, x_before)  # the input is never written


def test_linear_grads_hold_the_formulas_after_every_backward(rng):
    layer = Linear(4, 3, rng=0)
    grads = (layer.weight.grad, layer.bias.grad)
    for _ in range(2):
        x, dy = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
        layer.forward(x)
        dx = layer.backward(dy)
        np.testing.assert_allclose(layer.weight.grad, x.T @ dy, rtol=1e-14)
        np.testing.assert_allclose(layer.bias.grad, dy.sum(axis=0), rtol=1e-14)
        np.testing.assert_allclose(dx, dy @ layer.weight.value.T, rtol=1e-14)
    assert layer.weight.grad is grads[0] and layer.bias.grad is grads[1]  # set, not replaced


def test_no_module_level_caches():
    import bprop.layers.base as base
    import bprop.losses.softmax_nll as softmax_nll

    assert not hasattr(base, "filled") and not hasattr(softmax_nll, "row_indices")


def test_the_layers_import_only_the_maths(bprop_imports):
    # Sequential.summary used to import bprop.summary, a tool above the layers
    maths = {"parameter", "init", "gradcheck", "registry", "validation", "metrics", "state"}
    for path in sorted((bprop_imports.root / "layers").glob("*.py")):
        own = {"layers"} | {p.stem for p in path.parent.glob("*.py")}
        above = bprop_imports(path) - maths - own
        assert not above, f"{path.name} imports bprop.{sorted(above)}"
