"""The gradient checker: passes right backwards, fails wrong ones (both directions)."""

from __future__ import annotations

import numpy as np
import pytest

from bprop.gradcheck import check_gradients, numerical_gradient
from bprop.layers import Layer, Linear, ReLU, Sequential, Sigmoid
from bprop.losses import SoftmaxNLL, SquaredError


def test_numerical_gradient_of_known_function():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = numerical_gradient(lambda a: float(np.sum(np.sin(a) * a)), x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-8)
    np.testing.assert_array_equal(x, [[1.0, -2.0], [0.5, 3.0]])  # restored


class BadSigmoid(Sigmoid):
    """Forgets the y*(1-y) factor: the classic mistake."""

    def backward(self, dy):
        return dy


class TransposedLinear(Linear):
    def backward(self, dy):
        super().backward(dy)
        self.weight.grad[...] = (self._x.T @ dy) * 1.5  # wrong scale
        return dy @ self.weight.value.T


class NoBiasGrad(Linear):
    def backward(self, dy):
        dx = super().backward(dy)
        self.bias.grad[...] = 0.0
        return dx


@pytest.mark.parametrize(
    "model,bad_row",
    [
        (Sequential(Linear(3, 4, rng=0), BadSigmoid(), Linear(4, 2, rng=1)), "[0] Linear.weight"),
        (Sequential(TransposedLinear(3, 2, rng=0)), "[0] TransposedLinear.weight"),
        (Sequential(NoBiasGrad(3, 2, rng=0)), "[0] NoBiasGrad.bias"),
    ],
    ids=["missing-sigmoid-factor", "wrong-weight-grad", "zero-bias-grad"],
)
def test_checker_fails_on_wrong_backward(model, bad_row, rng):
    report = check_gradients(
        model, SquaredError(), rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    )
    assert not report.ok
    assert report.max_rel_error > 1e-3
    failing = [r.name for r in report.rows if r.max_rel_error > report.tol]
    assert bad_row in failing
    assert "FAILED" in str(report) and "NO" in str(report)


def test_checker_passes_and_prints_table(rng):
    net = Sequential(Linear(4, 5, rng=0), ReLU(), Linear(5, 3, rng=1))
    report = check_gradients(net, SoftmaxNLL(), rng.normal(size=(6, 4)), rng.integers(0, 3, 6))
    text = str(report)
    assert report.ok and "PASSED" in text
    for name in ("input", "[0] Linear.weight", "[0] Linear.bias", "[2] Linear.weight"):
        assert name in text


def test_checker_runs_float64_and_restores_float32(rng):
    net = Sequential(Linear(3, 2, dtype=np.float32, rng=0), Sigmoid())
    before = net[0].weight.value.copy()
    report = check_gradients(net, SquaredError(), rng.normal(size=(4, 3)), rng.normal(size=(4, 2)))
    assert report.ok, str(report)
    assert net[0].weight.value.dtype == np.float32
    np.testing.assert_array_equal(net[0].weight.value, before)


def test_relu_kinks_are_skipped_not_failed():
    x = np.array([[0.0, 1e-8, -1.0, 2.0]])
    report = check_gradients(ReLU(), SquaredError(), x, -np.ones((1, 4)))
    assert report.ok
    assert report.rows[0].skipped == 2


def test_checker_rejects_misshaped_gradient(rng):
    class Broken(Layer):
        def forward(self, x):
            return x * 2

        def backward(self, dy):
            return dy[:, :1]

    with pytest.raises(ValueError, match="gradient of input has shape"):
        check_gradients(Broken(), SquaredError(), rng.normal(size=(3, 2)), np.zeros((3, 2)))
