"""RMSProp, AdaGrad, AdamW and gradient clipping: exact arithmetic, configs, training, PyTorch.

Random draws come from ``np.random.default_rng(0)`` (the ``rng`` fixture) or a
seed written in the test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bprop import Parameter
from bprop.config.entries import check_optimizer
from bprop.layers import Linear, ReLU, Sequential
from bprop.losses import SoftmaxNLL
from bprop.optim import SGD, AdaGrad, Adam, AdamW, RMSProp, clip_gradients, global_norm
from bprop.registry import lookup
from bprop.training import Trainer

NEW = [RMSProp, AdaGrad, AdamW]
ALL = [SGD, Adam, *NEW]


def _param(value, grad, decay=True):
    p = Parameter(np.array(value, dtype=float), "w", decay=decay)
    p.grad[...] = grad
    return p


def test_rmsprop_by_hand():
    p = _param([1.0, -2.0], [0.5, -1.0])
    opt = RMSProp([p], lr=0.1, alpha=0.9, eps=0.0 + 1e-8)
    opt.step()
    # v = 0.1 g^2, step = lr g / sqrt(0.1 g^2) = lr sign(g) / sqrt(0.1)
    np.testing.assert_allclose(p.value, [1.0 - 0.1 / math.sqrt(0.1), -2.0 + 0.1 / math.sqrt(0.1)],
                               rtol=1e-7)
    p.grad[...] = [0.5, 0.0]
    before = p.value.copy()
    opt.step()
    v = 0.9 * 0.1 * 0.25 + 0.1 * 0.25  # second step on the first entry
    np.testing.assert_allclose(p.value[0], before[0] - 0.1 * 0.5 / (math.sqrt(v) + 1e-8))
    assert p.value[1] == before[1]  # zero gradient: no step
    np.testing.assert_allclose(opt.square_avg[0], [v, 0.9 * 0.1])


def test_rmsprop_momentum_and_weight_decay_by_hand():
    w, b = _param([2.0], [1.0]), _param([2.0], [1.0], decay=False)
    opt = RMSProp([w, b], lr=0.01, alpha=0.5, momentum=0.9, weight_decay=0.5)
    opt.step()
    gw = 1.0 + 0.5 * 2.0  # decayed gradient for w only
    np.testing.assert_allclose(w.value, 2.0 - 0.01 * gw / (math.sqrt(0.5 * gw * gw) + 1e-8))
    np.testing.assert_allclose(b.value, 2.0 - 0.01 * 1.0 / (math.sqrt(0.5) + 1e-8))
    buf = opt.momentum_buffer[1].copy()
    opt.step()  # b's buffer: 0.9 * buf + g / (sqrt(v) + eps), v = 0.5 * 0.5 + 0.5
    np.testing.assert_allclose(opt.momentum_buffer[1], 0.9 * buf + 1 / (math.sqrt(0.75) + 1e-8))


def test_adagrad_by_hand():
    p = _param([1.0], [2.0])
    opt = AdaGrad([p], lr=0.5)
    opt.step()
    np.testing.assert_allclose(p.value, [1.0 - 0.5 * 2 / (2 + 1e-10)])
    p.grad[...] = 1.0
    opt.step()  # s = 4 + 1
    np.testing.assert_allclose(p.value, [0.5 - 0.5 / math.sqrt(5)])
    np.testing.assert_allclose(opt.sum_sq[0], [5.0])


def test_adamw_by_hand_decouples_the_decay():
    w, b = _param([1.0], [0.2]), _param([1.0], [0.2], decay=False)
    opt = AdamW([w, b], lr=0.1, weight_decay=0.5)
    opt.step()
    # first step: m_hat = g, v_hat = g^2, so the Adam step is lr * g / (|g| + eps)
    adam_step = 0.1 * 0.2 / (0.2 + 1e-8)
    np.testing.assert_allclose(w.value, [1.0 * (1 - 0.1 * 0.5) - adam_step])
    np.testing.assert_allclose(b.value, [1.0 - adam_step])
    # the decay never enters the moments
    np.testing.assert_allclose(opt.m[0], [0.1 * 0.2])
    np.testing.assert_allclose(opt.v[0], [0.001 * 0.04])
    w.grad[...] = 0.0
    value = w.value.copy()
    opt.step()  # m = 0.9 * 0.02, v = 0.999 * 4e-5; bias corrections for t = 2
    m_hat, v_hat = 0.9 * 0.02 / (1 - 0.9**2), 0.999 * 4e-5 / (1 - 0.999**2)
    expected = value * 0.95 - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8)
    np.testing.assert_allclose(w.value, expected)


def test_clip_gradients_by_hand():
    a, b = _param([0.0, 0.0], [3.0, 0.0]), _param([0.0], [4.0])
    assert global_norm([a, b]) == 5.0
    assert clip_gradients([a, b], clip_norm=1.0) == 5.0
    np.testing.assert_allclose(np.concatenate([a.grad, b.grad]), [0.6, 0.0, 0.8], rtol=1e-6)
    # under the bound: untouched; a zero gradient stays zero
    clip_gradients([a, b], clip_norm=10.0)
    np.testing.assert_allclose(np.concatenate([a.grad, b.grad]), [0.6, 0.0, 0.8], rtol=1e-6)
    z = _param([1.0], [0.0])
    clip_gradients([z], clip_norm=1.0)
    assert z.grad[0] == 0.0
    c = _param([0.0, 0.0, 0.0], [-5.0, 0.2, 3.0])
    clip_gradients([c], clip_value=0.5)
    np.testing.assert_array_equal(c.grad, [-0.5, 0.2, 0.5])


def test_clipping_comes_before_weight_decay_and_momentum():
    # SGD lr 1: W -= clip(g) + wd * W. The decay term is not clipped.
    w = _param([10.0], [100.0])
    SGD([w], lr=1.0, weight_decay=0.1, clip_norm=2.0).step()
    np.testing.assert_allclose(w.value, [10.0 - 2.0 * 100 / (100 + 1e-6) - 1.0])
    w = _param([10.0], [100.0])
    SGD([w], lr=1.0, momentum=0.9, weight_decay=0.1, clip_value=0.5).step()
    np.testing.assert_allclose(w.value, [10.0 - 0.5 - 1.0])


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_optimizer_clips(cls, rng):
    grads = 1e3 * rng.normal(size=(3, 4))
    clipped_steps = []
    for kwargs in ({"clip_norm": 0.5}, {"clip_value": 0.01}):
        p = _param(np.zeros(4), grads[0])
        opt = cls([p], lr=0.1, **kwargs)
        opt.step()
        norm = np.linalg.norm(p.grad)
        if "clip_norm" in kwargs:
            assert norm == pytest.approx(0.5, rel=1e-6)
        else:
            assert np.abs(p.grad).max() == 0.01
        clipped_steps.append(p.value.copy())
    # and the setting matters: the unclipped SGD step is huge
    p = _param(np.zeros(4), grads[0])
    cls([p], lr=0.1).step()
    if cls is SGD:
        assert np.abs(p.value).max() > 100 * np.abs(clipped_steps[0]).max()


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.__name__)
def test_state_dict_resumes_exactly(cls, rng):
    grads = rng.normal(size=(6, 2, 3))
    a = Parameter(np.ones((2, 3)), "w")
    opt_a = cls([a], lr=0.05, weight_decay=0.1)
    for g in grads[:3]:
        a.grad[...] = g
        opt_a.step()
    b = Parameter(a.value.copy(), "w")
    opt_b = cls([b], lr=0.05, weight_decay=0.1)
    opt_b.load_state_dict(opt_a.state_dict())
    for g in grads[3:]:
        a.grad[...] = g
        b.grad[...] = g
        opt_a.step()
        opt_b.step()
    np.testing.assert_array_equal(a.value, b.value)


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.__name__)
def test_float32_stays_float32(cls):
    p = Parameter(np.ones(3, dtype=np.float32), "w")
    p.grad[...] = 0.5
    opt = cls([p], lr=0.1, weight_decay=0.1, clip_norm=0.1)
    opt.step()
    assert p.value.dtype == np.float32 and p.grad.dtype == np.float32
    assert all(s.dtype == np.float32 for bufs in opt._buffers().values() for s in bufs)


def test_argument_errors():
    p = [Parameter(np.zeros(1))]
    with pytest.raises(ValueError, match="clip_norm must be a finite number > 0"):
        SGD(p, clip_norm=0.0)
    with pytest.raises(ValueError, match="clip_value must be a finite number > 0"):
        AdamW(p, clip_value=-1)
    with pytest.raises(ValueError, match="alpha must be a number in"):
        RMSProp(p, alpha=1.0)
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        AdaGrad(p, eps=0)
    with pytest.raises(ValueError, match="weight_decay"):
        AdamW(p, weight_decay=-0.1)


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.__name__)
def test_trains_a_network(cls, rng):
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = Sequential(Linear(2, 16, rng=0), ReLU(), Linear(16, 2, rng=1))
    trainer = Trainer(net, SoftmaxNLL(), cls(net.parameters(), lr=0.02, clip_norm=5.0), rng=0)
    history = trainer.fit(X, y, epochs=30)
    assert history.records[-1]["loss"] < 0.6 * history.records[0]["loss"]
    assert trainer.evaluate(X, y)["accuracy"] > 0.85


def test_configs_read_the_signatures():
    for name in ("RMSProp", "AdaGrad", "AdamW"):
        assert lookup("optimizer", name).__name__ == name
    assert check_optimizer({"type": "RMSProp", "lr": 0.01}) == {
        "type": "RMSProp", "lr": 0.01, "alpha": 0.99, "eps": 1e-8, "momentum": 0.0,
        "weight_decay": 0.0, "clip_norm": None, "clip_value": None}
    assert check_optimizer({"type": "SGD", "clip_norm": 1.0})["clip_norm"] == 1.0
    from bprop.config.fields import ConfigError

    with pytest.raises(ConfigError, match="optimizer.clip_value"):
        check_optimizer({"type": "Adam", "clip_value": 0})


def test_bprop_train_with_rmsprop(tmp_path):
    from bprop.cli import main

    (tmp_path / "c.yaml").write_text(
        "data: {name: xor, n_samples: 200}\n"
        "model: [{type: Linear, out: 8}, Tanh, {type: Linear, out: 2}]\n"
        "optimizer: {type: RMSProp, lr: 0.01}\n"
        "train: {epochs: 20}\n")
    assert main(["train", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "run"),
                 "--quiet"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["test_accuracy"] > 0.8
    assert main(["train", "--resume", str(tmp_path / "run"), "train.epochs=22", "--quiet"]) == 0


# --- PyTorch (only when installed) ------------------------------------------------------


def _torch_optimizer(torch, name, params_decay, params_other, **kw):
    groups = [{"params": params_decay}, {"params": params_other, "weight_decay": 0.0}]
    wd = kw.pop("weight_decay")
    if name == "RMSProp":
        return torch.optim.RMSprop(groups, weight_decay=wd, **kw)
    if name == "AdaGrad":
        return torch.optim.Adagrad(groups, weight_decay=wd, **kw)
    b1, b2 = kw.pop("beta1"), kw.pop("beta2")
    return torch.optim.AdamW(groups, weight_decay=wd, betas=(b1, b2), **kw)


CASES = [
    ("RMSProp", {"lr": 0.01, "alpha": 0.9, "eps": 1e-8, "momentum": 0.0, "weight_decay": 0.1}),
    ("RMSProp", {"lr": 0.01, "alpha": 0.99, "eps": 1e-6, "momentum": 0.8, "weight_decay": 0.0}),
    ("AdaGrad", {"lr": 0.1, "eps": 1e-10, "weight_decay": 0.05}),
    ("AdamW", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-8, "weight_decay": 0.3}),
]


@pytest.mark.parametrize("clip", [None, "norm", "value"])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_pytorch_over_several_steps(name, kw, clip, rng):
    torch = pytest.importorskip("torch")
    W = Parameter(rng.normal(size=(3, 4)), "weight", decay=True)
    b = Parameter(rng.normal(size=4), "bias", decay=False)
    tW, tb = (torch.tensor(p.value.copy(), requires_grad=True) for p in (W, b))
    clip_kw = {"norm": {"clip_norm": 0.7}, "value": {"clip_value": 0.3}, None: {}}[clip]
    ours = lookup("optimizer", name)([W, b], **kw, **clip_kw)
    theirs = _torch_optimizer(torch, name, [tW], [tb], **dict(kw))
    for _ in range(6):
        gW, gb = 2 * rng.normal(size=(3, 4)), 2 * rng.normal(size=4)
        W.grad[...], b.grad[...] = gW, gb
        tW.grad, tb.grad = torch.from_numpy(gW.copy()), torch.from_numpy(gb.copy())
        if clip == "norm":
            torch.nn.utils.clip_grad_norm_([tW, tb], 0.7)
        elif clip == "value":
            torch.nn.utils.clip_grad_value_([tW, tb], 0.3)
        ours.step()
        theirs.step()
        np.testing.assert_allclose(W.value, tW.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(b.value, tb.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.__name__)
def test_deepcopy_keeps_model_and_optimizer_linked(cls, rng):
    import copy

    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    net = Sequential(Linear(3, 5, rng=0), ReLU(), Linear(5, 2, rng=1))
    a = Trainer(net, SoftmaxNLL(), cls(net.parameters(), lr=0.01), rng=0)
    a.fit(X, y, epochs=1)
    b = copy.deepcopy(a)
    a.fit(X, y, epochs=3)
    b.fit(X, y, epochs=3)
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)
    assert b.model.parameters()[0].value is not a.model.parameters()[0].value


def test_bprop_train_a_curriculum_config(tmp_path):
    """BatchNorm, GELU, LogSoftmax + NLL, AdamW with clipping: train, resume, eval."""
    from bprop.cli import main

    (tmp_path / "c.yaml").write_text(
        "data: {name: moons, n_samples: 300, noise: 0.2}\n"
        "model: [{type: Linear, out: 16}, BatchNorm, GELU, {type: Linear, out: 16},\n"
        "        LayerNorm, {type: PReLU, init: 0.1}, {type: Linear, out: 2}, LogSoftmax]\n"
        "loss: NLL\n"
        "optimizer: {type: AdamW, lr: 0.01, clip_norm: 1.0}\n"
        "train: {epochs: 15, batch_size: 32}\n")
    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "c.yaml"), "--out", str(run), "--quiet"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["test_accuracy"] > 0.8
    assert main(["eval", str(run)]) == 0
    from bprop import modelfile

    model = modelfile.load(run / "model.npz")
    assert model[1].running_var.std() > 0  # the trained running statistics came back
