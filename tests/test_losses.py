"""Every loss: a value test against numpy, a gradient check, weights and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bprop.gradcheck import numerical_gradient
from bprop.losses import PoissonDeviance, SigmoidCrossEntropy, SoftmaxNLL, SquaredError


def _nll_ref(z, t):
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(len(t)), t])


def _bce_ref(z, t):
    s = 1 / (1 + np.exp(-z))
    return (-(t * np.log(s) + (1 - t) * np.log(1 - s))).sum(axis=1)


# (id, loss, make_target(rng, n, k), per-sample reference)
def _poisson_ref(z, t):
    mu = np.exp(z)
    t_log_t = np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0)), 0.0)
    return (t_log_t - t * z - t + mu).sum(axis=1)


LOSSES = [
    ("SoftmaxNLL", SoftmaxNLL, lambda r, n, k: r.integers(0, k, n), _nll_ref),
    (
        "SquaredError",
        SquaredError,
        lambda r, n, k: r.normal(size=(n, k)),
        lambda z, t: 0.5 * ((z - t) ** 2).sum(axis=1),
    ),
    (
        "SigmoidCrossEntropy",
        SigmoidCrossEntropy,
        lambda r, n, k: r.integers(0, 2, (n, k)).astype(float),
        _bce_ref,
    ),
    (
        "PoissonDeviance",
        PoissonDeviance,
        lambda r, n, k: r.poisson(2.0, (n, k)).astype(float),
        _poisson_ref,
    ),
]
IDS = [c[0] for c in LOSSES]


@pytest.mark.parametrize("name,cls,make_t,ref", LOSSES, ids=IDS)
@pytest.mark.parametrize("shape", [(1, 2), (5, 3), (8, 1)], ids=str)
def test_value_and_gradient(name, cls, make_t, ref, shape, rng):
    z = rng.normal(size=shape)
    t = make_t(rng, *shape)
    loss = cls()
    assert loss.forward(z, t) == pytest.approx(ref(z, t).mean(), rel=1e-12)
    analytic = loss.backward()
    numeric = numerical_gradient(lambda a: cls().forward(a, t), z.copy())
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name,cls,make_t,ref", LOSSES, ids=IDS)
def test_sample_weights_give_weighted_mean(name, cls, make_t, ref, rng):
    z = rng.normal(size=(6, 3))
    t = make_t(rng, 6, 3)
    w = rng.uniform(0.1, 2.0, size=6)
    loss = cls()
    assert loss.forward(z, t, w) == pytest.approx((w * ref(z, t)).sum() / w.sum(), rel=1e-12)
    numeric = numerical_gradient(lambda a: cls().forward(a, t, w), z.copy())
    np.testing.assert_allclose(loss.backward(), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name,cls,make_t,ref", LOSSES, ids=IDS)
def test_stable_at_huge_scores(name, cls, make_t, ref, rng):
    z = np.array([[1e4, -1e4], [-1e4, 1e4]])
    t = make_t(rng, 2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = cls().forward(z, t) if name in ("SoftmaxNLL", "SigmoidCrossEntropy") else 0.0
    assert np.isfinite(value)


@pytest.mark.parametrize("name,cls,make_t,ref", LOSSES, ids=IDS)
def test_float32_stays_float32(name, cls, make_t, ref, rng):
    z = rng.normal(size=(4, 3)).astype(np.float32)
    loss = cls()
    loss.forward(z, make_t(rng, 4, 3))
    assert loss.backward().dtype == np.float32


def test_squared_error_reads_1d_target_as_column():
    loss = SquaredError()
    assert loss.forward(np.array([[1.0], [3.0]]), np.array([0.0, 1.0])) == pytest.approx(1.25)
    np.testing.assert_allclose(loss.backward(), [[0.5], [1.0]])


def test_softmax_nll_backward_formula(rng):
    z = rng.normal(size=(4, 3))
    t = np.array([0, 2, 1, 2])
    loss = SoftmaxNLL()
    loss.forward(z, t)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(loss.backward(), (p - np.eye(3)[t]) / 4)
    assert loss.accuracy(z, t) == np.mean(z.argmax(axis=1) == t)


def test_bad_inputs():
    with pytest.raises(ValueError, match="out of range"):
        SoftmaxNLL().forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="out of range"):
        SoftmaxNLL().forward(np.zeros((2, 3)), np.array([-1, 0]))
    with pytest.raises(ValueError, match="label 0.5 is not an integer"):
        SoftmaxNLL().forward(np.zeros((2, 3)), np.array([0.5, 1]))
    with pytest.raises(ValueError, match="labels must have shape \\(2,\\)"):
        SoftmaxNLL().forward(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="does not match pred shape"):
        SquaredError().forward(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="lie in \\[0, 1\\]"):
        SigmoidCrossEntropy().forward(np.zeros((2, 1)), np.array([0, 2]))
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        SquaredError().forward(np.zeros((2, 1)), np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match="pred must have shape"):
        SquaredError().forward(np.zeros(2), np.zeros(2))
    for cls in (SoftmaxNLL, SquaredError, SigmoidCrossEntropy):
        with pytest.raises(RuntimeError, match="before forward"):
            cls().backward()


@pytest.mark.parametrize("name,cls,make_t,ref", LOSSES, ids=IDS)
def test_backward_ignores_later_changes_to_the_callers_pred(name, cls, make_t, ref, rng):
    z = rng.normal(size=(5, 3))
    t = make_t(rng, 5, 3)
    loss = cls()
    loss.forward(z, t)
    expected = cls()
    expected.forward(z.copy(), t)
    z += 10.0  # the caller reuses its array before backward (as an in-place layer would)
    np.testing.assert_array_equal(loss.backward(), expected.backward())
