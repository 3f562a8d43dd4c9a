"""MulticlassHinge, NLL, AbsoluteError, Huber: values by hand, gradients, weights, PyTorch.

Random draws come from ``np.random.default_rng(0)`` (the ``rng`` fixture).
"""

from __future__ import annotations

import numpy as np
import pytest

from bprop import check_gradients
from bprop.config.entries import check_loss
from bprop.gradcheck import numerical_gradient
from bprop.layers import Linear, LogSoftmax, Sequential, Tanh
from bprop.losses import NLL, AbsoluteError, Huber, MulticlassHinge, SoftmaxNLL, SquaredError
from bprop.registry import lookup

LOSSES = [
    ("MulticlassHinge", MulticlassHinge),
    ("MulticlassHinge-2", lambda: MulticlassHinge(2.0)),
    ("NLL", NLL),
    ("AbsoluteError", AbsoluteError),
    ("Huber", Huber),
    ("Huber-0.3", lambda: Huber(0.3)),
]
IDS = [case[0] for case in LOSSES]


def _targets(name, rng, n, k):
    if name.startswith(("MulticlassHinge", "NLL")):
        return rng.integers(0, k, n)
    return rng.normal(size=(n, k))


def test_hinge_by_hand_cs231n():
    # cs231n's three images (cat, car, frog) and their scores: losses 2.9, 0, 12.9
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    labels = np.array([0, 1, 2])
    loss = MulticlassHinge()
    assert loss.forward(scores, labels) == pytest.approx((2.9 + 0 + 12.9) / 3)
    ds = loss.backward()
    # cat: only class 1 violates (5.1 - 3.2 + 1 > 0); frog: both others violate
    expected = np.array([[-1, 1, 0], [0, 0, 0], [1, 1, -2]]) / 3
    np.testing.assert_allclose(ds, expected)
    assert MulticlassHinge(margin=0.1).forward(scores[1:2], labels[1:2]) == 0.0


def test_nll_by_hand_and_with_logsoftmax_equals_softmax_nll(rng):
    logp = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
    loss = NLL()
    assert loss.forward(logp, np.array([1, 2])) == pytest.approx(-(np.log(0.25) + np.log(0.8)) / 2)
    np.testing.assert_allclose(loss.backward(), [[0, -0.5, 0], [0, 0, -0.5]])
    # LogSoftmax + NLL = SoftmaxNLL, value and gradient
    z, t = 3 * rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
    w = rng.uniform(0.1, 2.0, 6)
    ls = LogSoftmax()
    split = loss.forward(ls.forward(z), t, w)
    dz_split = ls.backward(loss.backward())
    fused = SoftmaxNLL()
    assert split == pytest.approx(fused.forward(z, t, w), rel=1e-12)
    np.testing.assert_allclose(dz_split, fused.backward(), rtol=1e-10, atol=1e-15)


def test_absolute_and_huber_by_hand():
    p, t = np.array([[0.5, -3.0], [2.0, 0.0]]), np.array([[0.0, 0.0], [0.0, 0.0]])
    ae = AbsoluteError()
    assert ae.forward(p, t) == pytest.approx((0.5 + 3.0 + 2.0) / 2)
    np.testing.assert_allclose(ae.backward(), [[0.5, -0.5], [0.5, 0.0]])
    hu = Huber(delta=1.0)
    # 0.125 (quadratic), 1 * (3 - 0.5) = 2.5, 1 * (2 - 0.5) = 1.5, 0
    assert hu.forward(p, t) == pytest.approx((0.125 + 2.5 + 1.5) / 2)
    np.testing.assert_allclose(hu.backward(), [[0.25, -0.5], [0.5, 0.0]])
    # below delta everywhere, Huber is SquaredError
    small = 0.1 * p
    assert Huber(delta=5.0).forward(small, t) == pytest.approx(SquaredError().forward(small, t))


@pytest.mark.parametrize("name,make", LOSSES, ids=IDS)
def test_gradient_check_through_a_network(name, make, rng):
    k = 3
    layers = [Linear(4, 5, rng=0), Tanh(), Linear(5, k, rng=1)]
    if name == "NLL":
        layers.append(LogSoftmax())
    x = rng.normal(size=(7, 4))
    report = check_gradients(Sequential(*layers), make(), x, _targets(name, rng, 7, k))
    assert report.ok, f"seed 0\n{report}"
    assert report.rows[0].checked > 0


@pytest.mark.parametrize("name,make", LOSSES, ids=IDS)
def test_sample_weight_is_a_weighted_mean_with_its_gradient(name, make, rng):
    loss = make()
    pred, t = 2 * rng.normal(size=(5, 3)), _targets(name, rng, 5, 3)
    if name == "NLL":
        pred = LogSoftmax().forward(pred)
    w = np.array([1.0, 0.0, 2.0, 0.5, 3.0])
    per_sample = [loss.forward(pred[i:i + 1], t[i:i + 1]) for i in range(5)]
    weighted = loss.forward(pred, t, w)
    assert weighted == pytest.approx(np.dot(w, per_sample) / w.sum(), rel=1e-12)
    dpred = loss.backward()
    numeric = numerical_gradient(lambda p: loss.forward(p, t, w), pred.copy())
    np.testing.assert_allclose(dpred, numeric, rtol=1e-6, atol=1e-8)
    # integer weights act as repetitions
    rep = np.repeat(np.arange(5), [1, 0, 2, 1, 2])
    assert loss.forward(pred, t, [1, 0, 2, 1, 2]) == pytest.approx(loss.forward(pred[rep], t[rep]))
    with pytest.raises(ValueError, match="sample_weight"):
        loss.forward(pred, t, np.ones(4))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="label 3 is out of range"):
        MulticlassHinge().forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="labels must have shape"):
        NLL().forward(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="does not match"):
        Huber().forward(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="delta must be a finite number > 0"):
        Huber(delta=0)
    with pytest.raises(ValueError, match="margin"):
        MulticlassHinge(margin=-1)
    with pytest.raises(RuntimeError, match="before forward"):
        AbsoluteError().backward()


def test_registered_and_usable_in_configs():
    for name in ("MulticlassHinge", "NLL", "AbsoluteError", "Huber"):
        assert lookup("loss", name).__name__ == name
        spec = check_loss(name)
        assert (spec if isinstance(spec, str) else spec["type"]) == name
    assert check_loss({"type": "Huber", "delta": 2.0}) == {"type": "Huber", "delta": 2.0}
    assert lookup("loss", "MulticlassHinge").is_classifier
    assert lookup("loss", "NLL").is_classifier
    assert not lookup("loss", "Huber").is_classifier


def test_accuracy_and_predict_of_classification_losses():
    scores = np.array([[0.1, 2.0], [3.0, -1.0]])
    for loss in (MulticlassHinge(), NLL()):
        assert loss.accuracy(scores, np.array([1, 1])) == 0.5
        np.testing.assert_array_equal(loss.predict(scores), [1, 0])


# --- PyTorch (only when installed) ------------------------------------------------------


@pytest.mark.parametrize("name", ["MulticlassHinge", "NLL", "AbsoluteError", "Huber"])
def test_matches_pytorch(name, rng):
    torch = pytest.importorskip("torch")
    k = 4
    pred = 2 * rng.normal(size=(6, k))
    t = _targets(name, rng, 6, k)
    ours, theirs, scale = {
        # PyTorch divides by K (hinge) or averages over all N*K entries (L1, Huber)
        "MulticlassHinge": (MulticlassHinge(1.5), torch.nn.MultiMarginLoss(margin=1.5), k),
        "NLL": (NLL(), torch.nn.NLLLoss(), 1),
        "AbsoluteError": (AbsoluteError(), torch.nn.L1Loss(), k),
        "Huber": (Huber(0.7), torch.nn.HuberLoss(delta=0.7), k),
    }[name]
    pt = torch.tensor(pred, requires_grad=True)
    tt = torch.from_numpy(t)
    value = theirs(pt, tt)
    value.backward()
    assert ours.forward(pred, t) == pytest.approx(scale * value.item(), rel=1e-12)
    np.testing.assert_allclose(ours.backward(), scale * pt.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name,make", LOSSES, ids=IDS)
def test_float32_gradients_stay_float32(name, make, rng):
    pred = rng.normal(size=(4, 3)).astype(np.float32)
    t = _targets(name, rng, 4, 3)
    loss = make()
    assert np.isfinite(loss.forward(pred, t, np.ones(4)))
    assert loss.backward().dtype == np.float32
