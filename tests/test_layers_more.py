"""The curriculum's further layers: values by hand, gradient checks, modes, registry, PyTorch.

Every random draw comes from ``np.random.default_rng(0)`` (the ``rng`` fixture)
or a seed written in the test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bprop import check_gradients, modelfile
from bprop.config.entries import build_model, check_model
from bprop.layers import (
    ELU,
    GELU,
    BatchNorm,
    Flatten,
    LayerNorm,
    Linear,
    LogSoftmax,
    PReLU,
    Sequential,
    Softplus,
    Tanh,
)
from bprop.losses import SquaredError
from bprop.registry import lookup


def _norm_rows(x, eps=1e-5):
    mu = x.mean(axis=1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(axis=1, keepdims=True) + eps)


def _phi(x):
    return np.array([[0.5 * (1 + math.erf(v / math.sqrt(2))) for v in row] for row in x])


# (id, factory(n_in) -> layer, reference(layer, x) -> y), references written from the formulas
LAYERS = [
    ("ELU", lambda d: ELU(), lambda _, x: np.where(x > 0, x, np.exp(x) - 1)),
    ("ELU-0.5", lambda d: ELU(0.5), lambda _, x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
    ("GELU", lambda d: GELU(), lambda _, x: x * _phi(x)),
    ("Softplus", lambda d: Softplus(), lambda _, x: np.log(1 + np.exp(x))),
    ("PReLU", lambda d: PReLU(), lambda _, x: np.where(x > 0, x, 0.25 * x)),
    ("PReLU-0.1", lambda d: PReLU(0.1), lambda _, x: np.where(x > 0, x, 0.1 * x)),
    (
        "LogSoftmax",
        lambda d: LogSoftmax(),
        lambda _, x: np.log(np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)),
    ),
    ("LayerNorm", lambda d: LayerNorm(d), lambda _, x: _norm_rows(x)),
    ("BatchNorm", lambda d: BatchNorm(d), lambda _, x: _norm_rows(x.T).T),
    ("BatchNorm-eval", lambda d: BatchNorm(d).eval(), lambda _, x: x / np.sqrt(1 + 1e-5)),
    ("Flatten", lambda d: Flatten(), lambda _, x: x),
]
IDS = [case[0] for case in LAYERS]
SHAPES = [(2, 3), (5, 4), (8, 1)]


@pytest.mark.parametrize("name,make,ref", LAYERS, ids=IDS)
def test_forward_matches_numpy_formula(name, make, ref, rng):
    x = rng.normal(size=(6, 4))
    np.testing.assert_allclose(make(4).forward(x), ref(None, x), rtol=1e-12, atol=1e-12)


def _randomize(layer, rng):
    """Move gamma/beta/alpha away from their 1, 0, 0.25 start so that they matter."""
    for p in layer.parameters():
        p.value[...] = rng.normal(size=p.shape)
    return layer


@pytest.mark.parametrize("scale", [0.01, 1.0, 10.0])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,make,ref", LAYERS, ids=IDS)
def test_gradients_match_finite_differences(name, make, ref, shape, scale, rng):
    layer = _randomize(make(shape[1]), rng)
    x = scale * rng.normal(size=shape)
    # a Linear in front checks dx through its weight gradient too, at the same scale
    model = Sequential(Linear(shape[1], shape[1], rng=1), layer, Tanh())
    target = rng.normal(size=(shape[0], shape[1]))
    report = check_gradients(model, SquaredError(), x, target)
    assert report.ok, f"seed 0, shape {shape}, scale {scale}\n{report}"
    assert all(row.checked > 0 for row in report.rows)


def test_hand_computed_values():
    x = np.array([[-1.0, 0.0, 2.0]])
    # ELU: alpha (e^-1 - 1) = -0.6321...
    np.testing.assert_allclose(ELU().forward(x), [[-0.6321205588, 0.0, 2.0]], rtol=1e-9)
    # GELU(2) = 2 * Phi(2) = 2 * 0.97724987 ; GELU(-1) = -Phi(-1) = -0.15865525
    np.testing.assert_allclose(GELU().forward(x), [[-0.1586552539, 0.0, 1.9544997361]], rtol=1e-9)
    # Softplus: log(1 + e^-1), log 2, log(1 + e^2)
    np.testing.assert_allclose(
        Softplus().forward(x), [[0.3132616875, 0.6931471806, 2.1269280110]], rtol=1e-9
    )
    np.testing.assert_allclose(PReLU().forward(x), [[-0.25, 0.0, 2.0]])
    # log-softmax of (-1, 0, 2): subtract log(e^-1 + 1 + e^2) = 2.1698...
    lse = math.log(math.exp(-1) + 1 + math.exp(2))
    np.testing.assert_allclose(LogSoftmax().forward(x), [[-1 - lse, -lse, 2 - lse]], rtol=1e-12)
    # LayerNorm of (-1, 0, 2): mean 1/3, biased variance 14/9
    z = (x - 1 / 3) / math.sqrt(14 / 9 + 1e-5)
    np.testing.assert_allclose(LayerNorm(3).forward(x), z, rtol=1e-12)


def test_hand_computed_gradients():
    x = np.array([[-1.0, 2.0]])
    dy = np.array([[1.0, 1.0]])
    elu = ELU()
    elu.forward(x)
    np.testing.assert_allclose(elu.backward(dy), [[math.exp(-1), 1.0]], rtol=1e-12)
    prelu = PReLU(0.25)
    prelu.forward(x)
    np.testing.assert_allclose(prelu.backward(np.array([[3.0, 5.0]])), [[0.75, 5.0]])
    assert prelu.alpha.grad[0] == pytest.approx(-3.0)  # dy * x over the negative entries
    sp = Softplus()
    sp.forward(x)
    np.testing.assert_allclose(sp.backward(dy), [[1 / (1 + math.e), 1 / (1 + math.exp(-2))]])
    # LogSoftmax at equal scores (p = 1/4): dx = dy - p * sum(dy)
    ls = LogSoftmax()
    ls.forward(np.zeros((1, 4)))
    dx = ls.backward(np.array([[1.0, 0, 0, 0]]))
    np.testing.assert_allclose(dx, [[0.75, -0.25, -0.25, -0.25]])


def test_gradcheck_catches_batchnorm_without_the_statistics_terms(rng):
    class FrozenStatsBatchNorm(BatchNorm):
        def backward(self, dy):  # forgets that the batch mean and variance depend on x
            super().backward(dy)
            return dy * self.gamma.value * self._inv_std

    x = rng.normal(size=(6, 3))
    report = check_gradients(FrozenStatsBatchNorm(3), SquaredError(), x, rng.normal(size=(6, 3)))
    assert not report.ok


def test_batchnorm_training_by_hand():
    x = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]])
    bn = BatchNorm(2)
    bn.gamma.value[...] = [2.0, 1.0]
    bn.beta.value[...] = [0.5, 0.0]
    y = bn.forward(x)
    # column 0: mean 3, biased var 8/3
    np.testing.assert_allclose(y[:, 0], 2 * (x[:, 0] - 3) / math.sqrt(8 / 3 + 1e-5) + 0.5)
    # running stats: 0.9 * (0, 1) + 0.1 * (mean, unbiased var = 4 and 400)
    np.testing.assert_allclose(bn.running_mean, [0.3, 3.0])
    np.testing.assert_allclose(bn.running_var, [0.9 + 0.4, 0.9 + 40.0])
    # dbeta = column sums, dgamma = sum dy * x_hat; dx sums to zero per column
    dy = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]])
    dx = bn.backward(dy)
    np.testing.assert_allclose(bn.beta.grad, [1.0, 2.0])
    x_hat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(bn.gamma.grad, (dy * x_hat).sum(0))
    np.testing.assert_allclose(dx.sum(axis=0), 0.0, atol=1e-12)


def test_batchnorm_eval_uses_running_stats_and_does_not_update_them(rng):
    bn = BatchNorm(3, momentum=0.5)
    for _ in range(4):
        bn.forward(rng.normal(2.0, 3.0, size=(16, 3)))
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    bn.eval()
    x = rng.normal(size=(5, 3))
    y = bn.forward(x)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5))
    np.testing.assert_array_equal(bn.running_mean, mean)
    np.testing.assert_array_equal(bn.running_var, var)
    # a single sample works in eval mode, not in training mode
    bn.forward(x[:1])
    with pytest.raises(ValueError, match="at least 2 samples"):
        bn.train().forward(x[:1])


def test_batchnorm_and_layernorm_keep_float32(rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    for layer in (BatchNorm(3, dtype=np.float32), LayerNorm(3, dtype=np.float32),
                  GELU(), ELU(), Softplus(), PReLU(dtype=np.float32), LogSoftmax()):
        y = layer.forward(x)
        assert y.dtype == np.float32, layer
        assert layer.backward(np.ones_like(y)).dtype == np.float32, layer


def test_feature_count_and_argument_errors():
    with pytest.raises(ValueError, match="expects x with 3 features"):
        BatchNorm(3).forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm(3, momentum=1.5)
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        ELU(alpha=0)
    with pytest.raises(ValueError, match="init must be a finite number"):
        PReLU(init=float("nan"))
    with pytest.raises(RuntimeError, match="before forward"):
        LayerNorm(2).backward(np.zeros((1, 2)))


def test_flatten_images(rng):
    x = rng.normal(size=(5, 3, 4, 4))
    flat = Flatten()
    y = flat.forward(x)
    assert y.shape == (5, 48)
    np.testing.assert_array_equal(y[1, 16:32], x[1, 1].ravel())  # channel by channel
    dy = rng.normal(size=y.shape)
    np.testing.assert_array_equal(flat.backward(dy), dy.reshape(x.shape))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        flat.forward(np.zeros(3))
    with pytest.raises(ValueError, match="numeric"):
        flat.forward(np.array([["a", "b"]]))
    net = Sequential(Flatten(), Linear(48, 2, rng=0))
    report = check_gradients(net, SquaredError(), x, rng.normal(size=(5, 2)))
    assert report.ok and report.rows[0].shape == (5, 3, 4, 4), str(report)


def test_buffers_name_running_statistics():
    net = Sequential(Linear(2, 3, rng=0), BatchNorm(3), Tanh(), BatchNorm(3))
    buffers = net.buffers()
    assert list(buffers) == ["1.running_mean", "1.running_var", "3.running_mean", "3.running_var"]
    assert buffers["1.running_mean"] is net[1].running_mean
    assert Linear(2, 2).buffers() == {}
    assert [p.name for p in net[1].parameters()] == ["gamma", "beta"]
    assert not any(p.decay for p in net[1].parameters())


def test_model_file_keeps_running_statistics(tmp_path, rng):
    net = Sequential(Linear(3, 4, rng=0), BatchNorm(4), PReLU(0.1), LayerNorm(4))
    for _ in range(3):
        net.forward(rng.normal(size=(8, 3)))
    net.eval()
    x = rng.normal(size=(6, 3))
    expected = net.forward(x)
    modelfile.save(net, tmp_path / "m.npz")
    loaded = modelfile.load(tmp_path / "m.npz").eval()
    np.testing.assert_array_equal(loaded.forward(x), expected)
    np.testing.assert_array_equal(loaded[1].running_var, net[1].running_var)


def test_trainer_checkpoint_keeps_running_statistics(rng):
    from bprop.losses import SoftmaxNLL
    from bprop.optim import SGD
    from bprop.training import Trainer

    def make():
        net = Sequential(Linear(3, 4, rng=0), BatchNorm(4), Linear(4, 2, rng=1))
        return Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), rng=0, batch_size=8)

    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    a = make()
    a.fit(X, y, epochs=2)
    b = make()
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b.model[1].running_mean, a.model[1].running_mean)
    a.fit(X, y, epochs=3)
    b.fit(X, y, epochs=3)
    np.testing.assert_array_equal(b.predict_raw(X), a.predict_raw(X))


@pytest.mark.parametrize("name", ["BatchNorm", "LayerNorm", "ELU", "GELU", "Softplus", "PReLU",
                                  "LogSoftmax", "Flatten"])
def test_registered_and_usable_in_configs(name):
    assert lookup("layer", name).__name__ == name
    spec = check_model([{"type": "Linear", "out": 5}, name, {"type": "Linear", "out": 2}])
    net, out = build_model(spec, 3, dtype="float32", seed_seq=np.random.SeedSequence(0))
    assert out == 2 and net.forward(np.ones((4, 3), dtype=np.float32)).dtype == np.float32
    if name in ("BatchNorm", "LayerNorm"):
        assert net[1].n_in == 5  # inferred


def test_config_arguments_are_checked():
    from bprop.config.fields import ConfigError

    assert check_model([{"type": "BatchNorm", "momentum": 0.2}])[0]["momentum"] == 0.2
    with pytest.raises(ConfigError, match="momentum"):
        check_model([{"type": "BatchNorm", "momentum": 2.0}])
    with pytest.raises(ConfigError):
        check_model([{"type": "ELU", "beta": 1.0}])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimator_layers_by_name(rng):
    from bprop.estimators import MLPClassifier

    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = MLPClassifier(layers=[{"type": "Linear", "out": 8}, "BatchNorm", "GELU"],
                        max_iter=30, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.8
    assert [type(lay).__name__ for lay in clf.model_.layers] == ["Linear", "BatchNorm", "GELU",
                                                                  "Linear"]


# --- PyTorch, the same operations (only when torch is installed) -------------------------


def _torch_pair(name, d):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    pairs = {
        "ELU": (ELU(0.7), nn.ELU(0.7)),
        "GELU": (GELU(), nn.GELU()),
        "Softplus": (Softplus(), nn.Softplus()),
        "PReLU": (PReLU(0.3), nn.PReLU(init=0.3)),
        "LogSoftmax": (LogSoftmax(), nn.LogSoftmax(dim=1)),
        "LayerNorm": (LayerNorm(d), nn.LayerNorm(d)),
        "BatchNorm": (BatchNorm(d), nn.BatchNorm1d(d)),
        "Flatten": (Flatten(), nn.Flatten()),
    }
    ours, theirs = pairs[name]
    theirs.double()
    return torch, ours, theirs


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("name", ["ELU", "GELU", "Softplus", "PReLU", "LogSoftmax", "LayerNorm",
                                  "BatchNorm", "Flatten"])
def test_matches_pytorch(name, mode, rng):
    torch, ours, theirs = _torch_pair(name, 5)
    # several steps with changing parameters, in the given mode
    params_t = list(theirs.parameters())
    for _step in range(3):
        for p, q in zip(ours.parameters(), params_t, strict=True):
            p.value[...] = rng.normal(size=p.shape) + (1.0 if p.name == "gamma" else 0.0)
            with torch.no_grad():
                q.copy_(torch.from_numpy(p.value.copy()))
        ours.train(mode == "train")
        theirs.train(mode == "train")
        x = 2.0 * rng.normal(size=(7, 5))
        dy = rng.normal(size=(7, 5))
        xt = torch.tensor(x, requires_grad=True)
        yt = theirs(xt)
        yt.backward(torch.from_numpy(dy))
        y = ours.forward(x)
        dx = ours.backward(dy)
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
        for p, q in zip(ours.parameters(), params_t, strict=True):
            np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-9, atol=1e-12)
            q.grad = None
    if name == "BatchNorm":
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)


def test_flatten_matches_pytorch_on_images(rng):
    torch = pytest.importorskip("torch")
    x = rng.normal(size=(2, 3, 4, 5))
    np.testing.assert_array_equal(Flatten().forward(x),
                                  torch.nn.Flatten()(torch.from_numpy(x)).numpy())


def test_trainer_fits_image_arrays_through_flatten(rng):
    from bprop.losses import SoftmaxNLL
    from bprop.optim import SGD
    from bprop.training import Trainer

    X = rng.normal(size=(40, 1, 4, 4))
    y = (X[:, 0, 0, 0] > 0).astype(int)
    net = Sequential(Flatten(), Linear(16, 2, rng=0))
    trainer = Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.5), rng=0, batch_size=8)
    trainer.fit(X, y, epochs=20)
    assert trainer.evaluate(X, y)["accuracy"] > 0.9
    assert trainer.predict_raw(X).shape == (40, 2)
    # without Flatten, the first layer says what it expects
    plain = Sequential(Linear(16, 2, rng=0))
    with pytest.raises(ValueError, match=r"expects x of shape \(batch, features\)"):
        Trainer(plain, SoftmaxNLL(), SGD(plain.parameters())).fit(X, y, epochs=1)


def test_gradient_check_leaves_running_statistics_alone(rng):
    net = Sequential(Linear(3, 4, rng=0), BatchNorm(4))
    net.forward(rng.normal(size=(8, 3)))
    before = {k: v.copy() for k, v in net.buffers().items()}
    assert check_gradients(net, SquaredError(), rng.normal(size=(5, 3)),
                           rng.normal(size=(5, 4))).ok
    for k, v in net.buffers().items():
        np.testing.assert_array_equal(v, before[k])
