"""The gradient checker: passes right backwards, fails wrong ones, at every weight scale.

Both directions are tested on the setting of case T1 (standardized digits, 8
samples, hidden layers of 32 units with weights ``normal(0, std)`` and zero
biases, a final ``Linear(32, 10)``, SoftmaxNLL, float64): every built-in
layer passes at std 0.01, 0.05 and 1.0 in networks 1 to 4 hidden layers deep,
and a wrong backward fails at each of those scales with an error >= 0.1.
"""

from __future__ import annotations

import numpy as np
import pytest

from bprop.gradcheck import check_gradients, estimate_noise, numerical_gradient
from bprop.layers import Dropout, Layer, Linear, ReLU, Sequential, Sigmoid
from bprop.losses import SoftmaxNLL, SquaredError

SCALES = (0.01, 0.05, 1.0)
DEPTHS = (1, 2, 3, 4)
ENTRIES = 20  # per array: enough to see a wrong backward, fast enough for 120 networks


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    sd = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    return X[:8], y[:8]


def small_net(activation, depth: int, std: float, *, after_first=None, seed: int = 0):
    """Linear(64, 32) [after_first] act ... Linear(32, 10): weights normal(0, std), zero biases."""
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    n_in = 64
    for k in range(depth):
        layers.append(Linear(n_in, 32, init="normal", std=std, rng=rng))
        if k == 0 and after_first is not None:
            layers.append(after_first())
        layers.append(activation())
        n_in = 32
    layers.append(Linear(n_in, 10, init="normal", std=std, rng=rng))
    for lay in layers:
        if isinstance(lay, Linear):
            assert not lay.bias.value.any()
    return Sequential(*layers)


class Half(Layer):
    """Forward is the identity, backward halves: a factor-of-2 bug."""

    def forward(self, x):
        return x

    def backward(self, dy):
        return 0.5 * dy


class NoMaskReLU(ReLU):
    """Forgot the mask: passes dy through where x <= 0 too."""

    def backward(self, dy):
        return dy


class NoFactorSigmoid(Sigmoid):
    """Forgot the derivative factor y * (1 - y)."""

    def backward(self, dy):
        return dy


def _built_in_layers() -> dict:
    """Every registered layer but Linear and Sequential, built for 32 features."""
    import inspect

    from bprop.registry import lookup, names

    makers = {"Dropout": lambda: Dropout(0.3, rng=1)}
    for name in names("layer"):
        cls = lookup("layer", name)
        if name in ("Linear", "Sequential") or name in makers:
            continue
        required = [p for p in inspect.signature(cls).parameters.values()
                    if p.default is inspect.Parameter.empty
                    and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        makers[name] = (lambda cls=cls: cls(32)) if required else cls
    return makers


BUILT_IN = _built_in_layers()
assert {"ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Identity", "Softmax", "Dropout"} <= set(BUILT_IN)
WRONG = {
    "factor-2": dict(activation=ReLU, after_first=Half),
    "factor-2-sigmoid": dict(activation=Sigmoid, after_first=Half),
    "missing-mask": dict(activation=NoMaskReLU),
    "missing-derivative-factor": dict(activation=NoFactorSigmoid),
}


@pytest.mark.parametrize("std", SCALES)
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("name", BUILT_IN)
def test_correct_networks_pass_at_every_scale(name, depth, std, digits):
    X, y = digits
    report = check_gradients(small_net(BUILT_IN[name], depth, std), SoftmaxNLL(), X, y,
                             max_entries=ENTRIES)
    assert report.ok, f"seed 0, {name} depth {depth} std {std}\n{report}"
    assert all(r.checked > 0 for r in report.rows), str(report)


@pytest.mark.parametrize("std", SCALES)
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("name", WRONG)
def test_wrong_backward_fails_with_a_large_error_at_every_scale(name, depth, std, digits):
    X, y = digits
    report = check_gradients(small_net(depth=depth, std=std, **WRONG[name]), SoftmaxNLL(), X, y,
                             max_entries=ENTRIES)
    assert not report.ok, str(report)
    assert report.max_rel_error >= 0.1, str(report)
    assert "[0] Linear.weight" in [r.name for r in report.failing()]
    assert "FAILED" in str(report) and "NO" in str(report)


def test_the_t1_case_4_hidden_relu_layers_at_std_001(digits):
    """Old verdict: failed, blaming Linear.bias, 0 kinks. Now it passes, and says why."""
    X, y = digits
    report = check_gradients(small_net(ReLU, 4, 0.01), SoftmaxNLL(), X, y)
    assert report.ok, str(report)
    wrong = check_gradients(small_net(ReLU, 4, 0.01, after_first=Half), SoftmaxNLL(), X, y)
    first = next(r for r in wrong.rows if r.name == "[0] Linear.weight")
    # Half the true gradient: |a - n| / (|a| + |n|) = 1/3, at a scale of about 1e-7.
    assert first.error == pytest.approx(1 / 3, abs=0.02)
    assert first.analytic == pytest.approx(first.numeric / 2, rel=0.05)
    assert abs(first.numeric) < 1e-3 and first.noise < 1e-3 * abs(first.numeric)


def test_report_shows_error_worst_element_kinks_and_noise_per_array(digits):
    X, y = digits
    report = check_gradients(small_net(NoMaskReLU, 2, 0.05), SoftmaxNLL(), X, y, max_entries=30)
    row = report.rows[1]
    assert row.name == "[0] Linear.weight" and row.shape == (64, 32)
    assert row.worst_index is not None and len(row.worst_index) == 2
    assert np.isfinite(row.analytic) and np.isfinite(row.numeric)
    assert row.checked + row.kinks == 30
    assert 0 < row.noise < 1e-6
    text = str(report)
    header = text.splitlines()[0]
    assert "rel error" not in header  # 0.0e+00 there means "within the noise", not equal
    for column in ("err>noise", "worst at", "analytic", "numeric", "kinks", "noise"):
        assert column in header
    assert str(list(row.worst_index)) in text and f"{row.analytic:.3e}" in text
    assert text.splitlines()[-1].startswith("FAILED: largest relative error")


def test_numerical_gradient_of_known_function():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = numerical_gradient(lambda a: float(np.sum(np.sin(a) * a)), x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-8)
    np.testing.assert_array_equal(x, [[1.0, -2.0], [0.5, 3.0]])  # restored


def test_noise_estimate_finds_added_noise_and_restores_arrays():
    a = np.linspace(-1, 1, 7)
    before = a.copy()
    smooth = estimate_noise(lambda: float(np.sum(np.sin(a))), [a])
    assert smooth < 1e-14
    noisy_rng = np.random.default_rng(3)
    noisy = estimate_noise(lambda: float(np.sum(np.sin(a))) + 1e-9 * noisy_rng.normal(), [a])
    assert 2e-10 < noisy < 5e-9
    np.testing.assert_array_equal(a, before)


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
    assert report.max_rel_error >= 0.1
    assert bad_row in [r.name for r in report.failing()]
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


def test_kinks_are_found_relative_to_the_step_and_counted():
    # 0 and 1e-12 sit on ReLU's kink at every step down to 5e-9; 1e-6 is a kink
    # only for the first steps (1e-4, 1e-5), so a smaller step checks it.
    x = np.array([[0.0, 1e-12, 1e-6, -1.0, 2.0]])
    report = check_gradients(ReLU(), SquaredError(), x, -np.ones((1, 5)))
    assert report.ok, str(report)
    assert (report.rows[0].kinks, report.rows[0].checked) == (2, 3)
    assert report.kinks == 2


def test_a_kink_does_not_hide_a_wrong_gradient_elsewhere():
    x = np.array([[0.0, 1e-7, -1.0, 2.0, -3.0]])
    report = check_gradients(NoMaskReLU(), SquaredError(), x, -np.ones((1, 5)))
    assert not report.ok and report.rows[0].error == pytest.approx(1.0)


@pytest.mark.parametrize("max_entries", [0, -1, 2.5])
def test_checker_refuses_to_check_no_entries(max_entries, rng):
    # checking 0 entries of a wrong layer used to print PASSED
    net = Sequential(Linear(3, 4, rng=0), BadSigmoid())
    with pytest.raises(ValueError, match="max_entries must be an integer >= 1"):
        check_gradients(net, SquaredError(), rng.normal(size=(5, 3)), rng.normal(size=(5, 4)),
                        max_entries=max_entries)


def test_checker_rejects_misshaped_gradient(rng):
    class Broken(Layer):
        def forward(self, x):
            return x * 2

        def backward(self, dy):
            return dy[:, :1]

    with pytest.raises(ValueError, match="gradient of input has shape"):
        check_gradients(Broken(), SquaredError(), rng.normal(size=(3, 2)), np.zeros((3, 2)))


T1_CONFIG = """\
name: t1
seed: 0
data: {name: digits, test_size: 0.2, standardize: true}
model:
  - {type: Linear, out: 32, init: normal, std: 0.01}
  - ReLU
  - {type: Linear, out: 32, init: normal, std: 0.01}
  - ReLU
  - {type: Linear, out: 32, init: normal, std: 0.01}
  - ReLU
  - {type: Linear, out: 32, init: normal, std: 0.01}
  - ReLU
  - {type: Linear, out: 10, init: normal, std: 0.01}
loss: SoftmaxNLL
optimizer: {type: SGD, lr: 0.1}
train: {epochs: 1, batch_size: 32}
"""


def test_cli_gradcheck_gives_the_same_verdict_on_the_t1_config(tmp_path, capsys):
    from bprop.cli import main

    config = tmp_path / "t1.yaml"
    config.write_text(T1_CONFIG)
    assert main(["gradcheck", str(config), "--entries", "40"]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "gradients OK" in out and "noise" in out
    assert main(["gradcheck", str(config), "--entries", "0"]) == 2


@pytest.mark.parametrize("std", [1e-3, 1e-4])
def test_tiny_weights_give_cannot_verify_not_failed(std, digits):
    """Below the required range kinks sit inside the noise band: skipped, never FAILED."""
    X, y = digits
    for depth in (2, 3, 4):
        report = check_gradients(small_net(ReLU, depth, std), SoftmaxNLL(), X, y,
                                 max_entries=40)
        assert report.ok, f"depth {depth} std {std}\n{report}"
    assert report.kinks > 0  # what could not be verified is counted, not hidden


def test_cli_gradcheck_at_std_0001_is_not_a_failure(tmp_path, capsys):
    from bprop.cli import main

    config = tmp_path / "t1.yaml"
    config.write_text(T1_CONFIG)
    assert main(["gradcheck", str(config), "model.0.std=0.001", "--entries", "40"]) == 0, \
        capsys.readouterr().out


class DecayInBackward(Linear):
    """Adds the weight decay's gradient itself: counted twice under weight_decay=."""

    def __init__(self, *args, wd: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.wd = wd

    def backward(self, dy):
        dx = super().backward(dy)
        self.weight.grad = self.weight.grad + self.wd * self.weight.value
        return dx


@pytest.mark.parametrize("wd", [0.1, 1.0])
def test_weight_decay_checks_the_regularised_objective_both_ways(wd, rng):
    x, target = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    net = Sequential(Linear(3, 4, rng=0), Sigmoid(), Linear(4, 2, rng=1))
    right = check_gradients(net, SquaredError(), x, target, weight_decay=wd)
    assert right.ok, str(right)
    # A backward that adds lambda * W itself counts the decay twice: fails, large error.
    doubled = Sequential(DecayInBackward(3, 4, rng=0, wd=wd), Sigmoid(), Linear(4, 2, rng=1))
    wrong = check_gradients(doubled, SquaredError(), x, target, weight_decay=wd)
    assert not wrong.ok and wrong.max_rel_error >= 0.1, str(wrong)
    assert [r.name for r in wrong.failing()] == ["[0] DecayInBackward.weight"]
    # Without weight_decay its extra term is an error too.
    assert not check_gradients(doubled, SquaredError(), x, target).ok
    with pytest.raises(ValueError, match="weight_decay"):
        check_gradients(net, SquaredError(), x, target, weight_decay=-1.0)


def test_weight_decay_leaves_biases_alone(rng):
    x, target = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))

    class DecayedBias(Linear):
        def backward(self, dy):
            dx = super().backward(dy)
            self.bias.grad = self.bias.grad + 0.5 * self.bias.value
            return dx

    net = Sequential(DecayedBias(3, 2, rng=0))
    net[0].bias.value[...] = rng.normal(size=2)
    report = check_gradients(net, SquaredError(), x, target, weight_decay=0.5)
    assert [r.name for r in report.failing()] == ["[0] DecayedBias.bias"], str(report)
