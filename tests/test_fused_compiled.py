"""The compiled kernels (`bprop.fused.compiled`, numba) equal their numpy formulas.

Each kernel runs on seeded random data (with zeros, negative zeros and NaNs
where the formula has a branch) in float64 and float32 and is compared with
the numpy expression it replaces; whole training runs compare the fused
engine with and without the kernels against the reference trainer.
"""

from __future__ import annotations

import numpy as np
import pytest

from bprop.fused import FusedStep, compiled, kernels
from bprop.layers import Linear, ReLU, Sequential, Tanh
from bprop.losses import SoftmaxNLL
from bprop.optim import SGD, Adam
from bprop.training import Trainer

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.fixture
def fast(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setenv("BPROP_NUMBA", "1")
    kernels_ = compiled.load()
    assert kernels_ is not None and compiled.available()
    return kernels_


def test_the_kernels_are_opt_in(fast, monkeypatch):
    # numba and LLVM cost ~80 MB resident: only BPROP_NUMBA=1 loads them
    monkeypatch.delenv("BPROP_NUMBA", raising=False)
    assert compiled.load(10**6) is None and not compiled.available()
    monkeypatch.setenv("BPROP_NUMBA", "1")
    assert compiled.load(10) is fast and compiled.available()
    monkeypatch.setenv("BPROP_NUMBA", "0")
    assert compiled.load(10**6) is None and not compiled.available()


def _x(dtype, shape=(13, 9), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype(dtype)
    x.reshape(-1)[:3] = [0.0, -0.0, np.nan]
    return x


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_forward_and_backward(fast, dtype):
    x = _x(dtype)
    y = np.empty_like(x)
    fast.relu_forward(x, y)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    inplace = x.copy()
    fast.relu_forward(inplace, inplace)
    np.testing.assert_array_equal(inplace, np.maximum(x, 0))
    g = _x(dtype, seed=1)
    want = g * (y > 0)
    fast.relu_backward(y, g)
    np.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_with_the_bias(fast, dtype):
    xw, b = _x(dtype), np.random.default_rng(2).normal(size=9).astype(dtype)
    y = xw.copy()
    fast.relu_bias_forward(y, b)
    np.testing.assert_array_equal(y, np.maximum(xw + b, 0))
    g = _x(dtype, seed=3)
    g[np.isnan(g)] = 1.0
    masked = g * (y > 0)
    out = np.full(9, np.nan, dtype=dtype)  # beta = 0: never read, as in BLAS
    fast.relu_backward_colsum(y, g.copy(), 2.0, 0.0, out)
    np.testing.assert_allclose(out, 2.0 * masked.sum(axis=0), rtol=TOL[dtype])
    before = np.random.default_rng(4).normal(size=9).astype(dtype)
    out = before.copy()
    fast.relu_backward_colsum(y, g, -0.5, 0.9, out)
    np.testing.assert_array_equal(g, masked)
    np.testing.assert_allclose(out, -0.5 * masked.sum(axis=0) + 0.9 * before,
                               rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_nll_equals_the_numpy_kernel(fast, dtype, weighted, monkeypatch):
    rng = np.random.default_rng(5)
    m, k = 11, 4
    z = (10 * rng.normal(size=(m, k))).astype(dtype)
    t = rng.integers(0, k, m)
    w = None
    if weighted:
        w = rng.random(m).astype(dtype)
        w /= w.sum()
    compiled_loss = kernels.FusedSoftmaxNLL(16, k, dtype)
    compiled_loss.use(fast)
    numpy_loss = kernels.FusedSoftmaxNLL(16, k, dtype)
    assert numpy_loss.fast is None
    dz, want_dz = np.empty_like(z), np.empty_like(z)
    loss = compiled_loss(z, t, w, dz)
    want = numpy_loss(z, t, w, want_dz)
    assert loss == pytest.approx(want, rel=TOL[dtype])
    np.testing.assert_allclose(dz, want_dz, rtol=TOL[dtype], atol=TOL[dtype] / m)


def _train(dtype, opt, weighted=False):
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(203, 7)), rng.integers(0, 3, 203), rng.random(203)
    net = Sequential(Linear(7, 16, dtype=dtype, rng=1), ReLU(), Linear(16, 8, dtype=dtype, rng=2),
                     ReLU(), Tanh(), Linear(8, 3, dtype=dtype, rng=3))
    optimizer = {
        "sgd": lambda ps: SGD(ps, lr=0.05, weight_decay=0.01),
        "momentum": lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
        "nesterov": lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
        "adam": lambda ps: Adam(ps, lr=0.01),
    }[opt](net.parameters())
    for p in net.parameters():  # the biases decayed too: the compiled bias update must scale them
        p.decay = True
    trainer = Trainer(net, SoftmaxNLL(), optimizer, batch_size=32, rng=0, engine="auto")
    trainer.fit(X, y, 3, sample_weight=w if weighted else None)
    return trainer


def _same(a, b, dtype):
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        np.testing.assert_allclose(q.value, p.value, rtol=TOL[dtype],
                                   atol=TOL[dtype] * np.abs(p.value).max())
    for r, s in zip(a.history.records, b.history.records, strict=True):
        np.testing.assert_allclose(s["loss"], r["loss"], rtol=10 * TOL[dtype])


@pytest.mark.parametrize("opt, weighted", [("sgd", False), ("momentum", False),
                                           ("momentum", True), ("nesterov", True),
                                           ("adam", False)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_training_with_and_without_the_kernels_equals_the_reference(fast, dtype, opt, weighted,
                                                                    monkeypatch):
    monkeypatch.setenv("BPROP_NUMBA", "1")
    with_kernels = _train(dtype, opt, weighted)
    monkeypatch.setenv("BPROP_NUMBA", "0")
    without = _train(dtype, opt, weighted)
    assert with_kernels.engine_used == without.engine_used == "fused"
    monkeypatch.setattr(Trainer, "_fused_reason", lambda self, X: "reference on purpose")
    reference = _train(dtype, opt, weighted)
    assert reference.engine_used == "reference"
    _same(reference, with_kernels, dtype)
    _same(reference, without, dtype)


def test_the_step_folds_the_bias_only_with_the_kernels(fast, monkeypatch):
    monkeypatch.delenv("BPROP_NUMBA", raising=False)
    def plan():
        net = Sequential(Linear(5, 4, rng=0), ReLU(), Linear(4, 3, rng=1), Tanh(),
                         Linear(3, 2, rng=2))
        X, y = np.ones((8, 5)), np.zeros(8, dtype=int)
        step = FusedStep(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), X, y, 8)
        forward, backward = step._plan(8)
        return [extra for *_, extra in forward]

    assert plan() == [True, None, True, None, True]  # not asked for: numpy's kernels
    monkeypatch.setenv("BPROP_NUMBA", "1")
    # the first Linear lends its bias to the ReLU; Tanh has no such kernel
    with_kernels = plan()
    assert with_kernels[0] is False and with_kernels[1] is not None
    assert with_kernels[2] is True and with_kernels[3] is None and with_kernels[4] is True
    monkeypatch.setenv("BPROP_NUMBA", "0")
    assert not compiled.available()
    assert plan() == [True, None, True, None, True]
