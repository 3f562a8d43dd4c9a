"""Optimizers and schedules: exact arithmetic on tiny parameters."""

from __future__ import annotations

import numpy as np
import pytest

from bprop import Parameter
from bprop.optim import SGD, Adam, Constant, Cosine, InverseScaling, ReduceOnPlateau, StepDecay


def _params():
    w = Parameter(np.array([1.0, -2.0]), "weight", decay=True)
    b = Parameter(np.array([0.5]), "bias", decay=False)
    w.grad[:] = [0.5, 0.25]
    b.grad[:] = [1.0]
    return w, b


def test_plain_sgd_step():
    w, b = _params()
    SGD([w, b], lr=0.1).step()
    np.testing.assert_array_equal(w.value, [1.0 - 0.1 * 0.5, -2.0 - 0.1 * 0.25])
    np.testing.assert_array_equal(b.value, [0.5 - 0.1 * 1.0])


def test_weight_decay_only_on_decayed_parameters():
    w, b = _params()
    SGD([w, b], lr=1.0, weight_decay=0.1).step()
    np.testing.assert_allclose(w.value, [1.0 - 0.5 - 0.1 * 1.0, -2.0 - 0.25 - 0.1 * -2.0])
    np.testing.assert_allclose(b.value, [0.5 - 1.0])


def test_momentum_two_steps():
    w, _ = _params()
    opt = SGD([w], lr=0.1, momentum=0.9)
    opt.step()  # v = g
    np.testing.assert_allclose(w.value, [1.0 - 0.05, -2.0 - 0.025])
    opt.step()  # v = 0.9 g + g
    np.testing.assert_allclose(
        w.value, [1.0 - 0.05 - 0.1 * 1.9 * 0.5, -2.0 - 0.025 - 0.1 * 1.9 * 0.25]
    )


def test_nesterov_step():
    w, _ = _params()
    opt = SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    opt.step()  # v = g; W -= lr (g + mu v) = lr * 1.9 g
    np.testing.assert_allclose(w.value, [1.0 - 0.1 * 1.9 * 0.5, -2.0 - 0.1 * 1.9 * 0.25])


def test_adam_first_steps_match_formula():
    w, _ = _params()
    opt = Adam([w], lr=0.01)
    g = w.grad.copy()
    opt.step()
    m, v = 0.1 * g, 0.001 * g * g
    lr_t = 0.01 * np.sqrt(1 - 0.999) / (1 - 0.9)
    expected = np.array([1.0, -2.0]) - lr_t * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(w.value, expected, rtol=1e-12)
    opt.step()
    m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
    lr_t = 0.01 * np.sqrt(1 - 0.999**2) / (1 - 0.9**2)
    np.testing.assert_allclose(w.value, expected - lr_t * m / (np.sqrt(v) + 1e-8), rtol=1e-12)


def test_float32_parameters_stay_float32():
    w = Parameter(np.ones(3, dtype=np.float32), "w")
    w.grad[:] = 0.5
    for opt in (SGD([w], lr=0.1, momentum=0.9, weight_decay=1e-3), Adam([w])):
        opt.step()
        assert w.value.dtype == np.float32


def test_state_dict_round_trip():
    w, b = _params()
    opt = SGD([w, b], lr=0.1, momentum=0.9)
    opt.step()
    state = opt.state_dict()
    w2, b2 = _params()
    opt2 = SGD([w2, b2], lr=0.5, momentum=0.9)
    opt2.load_state_dict(state)
    assert opt2.lr == 0.1 and opt2.t == 1
    np.testing.assert_array_equal(opt2.velocity[0], opt.velocity[0])


def _optimizer(lr):
    return SGD([_params()[0]], lr=lr)


@pytest.mark.parametrize(
    "schedule,expected",
    [
        (Constant(), [1.0, 1.0, 1.0, 1.0]),
        (InverseScaling(power_t=0.5), [1.0, 1 / np.sqrt(2), 1 / np.sqrt(3), 0.5]),
        (StepDecay(step_size=2, gamma=0.5), [1.0, 1.0, 0.5, 0.5]),
        (Cosine(epochs=2, min_lr=0.0), [1.0, 0.5, 0.0, 0.0]),
    ],
    ids=repr,
)
def test_epoch_schedules(schedule, expected):
    optimizer = _optimizer(lr=1.0)
    schedule.begin(optimizer)
    lrs = []
    for epoch in range(4):
        schedule.epoch_begin(optimizer, epoch)
        lrs.append(optimizer.lr)
    np.testing.assert_allclose(lrs, expected, atol=1e-15)


def test_reduce_on_plateau():
    optimizer = _optimizer(lr=1.0)
    sched = ReduceOnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.2)
    lrs = []
    for epoch, val in enumerate([1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]):
        sched.epoch_begin(optimizer, epoch)
        sched.epoch_end(optimizer, epoch, {"val_loss": val})
        lrs.append(optimizer.lr)
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"lr": 0}, "lr must be a finite number > 0"),
        ({"lr": -1}, "lr must be a finite number > 0"),
        ({"lr": float("nan")}, "lr must be a finite number > 0"),
        ({"momentum": 1.0}, "momentum must be a number in \\[0, 1\\)"),
        ({"momentum": -0.1}, "momentum must be a number in \\[0, 1\\)"),
        ({"weight_decay": -1}, "weight_decay must be a finite number >= 0"),
    ],
)
def test_sgd_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SGD(list(_params()), **{"lr": 0.1, **kwargs})


def test_optimizer_rejects_non_parameters():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="expects bprop Parameters"):
        SGD([np.zeros(2)], lr=0.1)


def _textbook_sgd_step(params, velocity, lr, mu, wd, nesterov):
    """The formulas of SGD's docstring, written the obvious way (with temporaries)."""
    for p, v in zip(params, velocity, strict=True):
        t = p.value.dtype.type
        g = p.grad + t(wd) * p.value if (wd and p.decay) else p.grad
        if mu == 0:
            p.value -= t(lr) * g
            continue
        v *= t(mu)
        v += g
        p.value -= t(lr) * (g + t(mu) * v) if nesterov else t(lr) * v


def _sgd_pair(dtype, shapes, seed=0):
    rng = np.random.default_rng(seed)
    a = [Parameter(rng.standard_normal(s).astype(dtype), decay=len(s) == 2) for s in shapes]
    b = [Parameter(p.value.copy(), decay=p.decay) for p in a]
    return rng, a, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mu, wd, nesterov", [(0, 0, False), (0, 0.01, False), (0.9, 0, False),
                                              (0.9, 0.01, False), (0.9, 0.01, True)])
def test_in_place_step_is_the_textbook_step_bit_for_bit(dtype, mu, wd, nesterov):
    rng, fast, slow = _sgd_pair(dtype, [(7, 5), (5,), (5, 3), (3,)])
    opt = SGD(fast, lr=0.1, momentum=mu, weight_decay=wd, nesterov=nesterov)
    velocity = [np.zeros_like(p.value) for p in slow]
    arrays = [p.value for p in fast]
    for _ in range(4):
        for p, q in zip(fast, slow, strict=True):
            p.grad[...] = q.grad[...] = rng.standard_normal(p.value.shape)
        opt.step()
        _textbook_sgd_step(slow, velocity, 0.1, mu, wd, nesterov)
    for p, q, arr in zip(fast, slow, arrays, strict=True):
        np.testing.assert_array_equal(p.value, q.value)
        assert p.value is arr and p.value.dtype == dtype  # updated in place, dtype kept


# -- the reference contract: parameters keep their arrays, state is per parameter --

ALL_OPTIMIZERS = [
    lambda ps: SGD(ps, lr=0.1),
    lambda ps: SGD(ps, lr=0.1, weight_decay=0.01),
    lambda ps: SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: Adam(ps, lr=0.01, weight_decay=0.01),
]


@pytest.mark.parametrize("make", ALL_OPTIMIZERS)
def test_building_and_stepping_keep_every_parameters_arrays(make):
    from bprop.layers import Linear, ReLU, Sequential

    lin = Linear(3, 4, rng=0)
    net = Sequential(lin, ReLU(), Linear(4, 2, rng=1))
    w = lin.weight.value
    arrays = [(p.value, p.grad) for p in net.parameters()]
    opt = make(net.parameters())
    before = w.copy()
    for _ in range(2):
        net.forward(np.ones((5, 3)))
        net.backward(np.ones((5, 2)))
        opt.step()
    assert w is lin.weight.value  # the array taken before is the one trained
    assert not np.array_equal(w, before)
    for p, (value, grad) in zip(net.parameters(), arrays, strict=True):
        assert p.value is value and p.grad is grad


def test_state_is_one_array_per_parameter():
    w, b = _params()
    sgd, adam = SGD([w, b], lr=0.1, momentum=0.9), Adam([w, b])
    for state in (sgd.velocity, adam.m, adam.v):
        assert [s.shape for s in state] == [(2,), (1,)]
        assert not any(np.shares_memory(s, w.value) or np.shares_memory(s, b.value)
                       for s in state)
    assert set(sgd.state_dict()) == {"lr", "weight_decay", "t", "velocity.0", "velocity.1"}
    assert {"m.0", "m.1", "v.0", "v.1"} <= set(adam.state_dict())


def test_a_reassigned_grad_and_value_are_used():
    """A layer may assign ``p.grad = ...`` (the exercises do); a user may assign ``p.value``."""
    w = Parameter(np.array([1.0, 2.0]), "w")
    opt = SGD([w], lr=0.1)
    w.grad = np.array([10.0, 20.0])
    opt.step()
    np.testing.assert_allclose(w.value, [0.0, 0.0])
    w.value = np.array([5.0, 5.0])
    w.grad = np.ones(2)
    opt.step()
    np.testing.assert_allclose(w.value, [4.9, 4.9])


def test_tied_parameters_are_stepped_once():
    w = Parameter(np.array([1.0]), "w")
    w.grad[...] = 1.0
    opt = SGD([w, w], lr=0.1)
    opt.step()
    assert len(opt.params) == 1
    np.testing.assert_allclose(w.value, [0.9])


@pytest.mark.parametrize("copy", ["pickle", "deepcopy"])
@pytest.mark.parametrize("make", [ALL_OPTIMIZERS[3], ALL_OPTIMIZERS[4]])
def test_a_copied_model_and_optimizer_still_train_together(copy, make):
    import copy as copy_module
    import pickle

    from bprop.layers import Linear, Sequential

    def trained(net, opt, steps=3):
        for _ in range(steps):
            net.forward(np.ones((4, 3)))
            net.backward(np.ones((4, 5)))
            opt.step()
        return np.concatenate([p.value.ravel() for p in net.parameters()])

    net = Sequential(Linear(3, 5, rng=0))
    opt = make(net.parameters())
    trained(net, opt, 2)
    pair = (net, opt)
    net2, opt2 = (pickle.loads(pickle.dumps(pair)) if copy == "pickle"
                  else copy_module.deepcopy(pair))
    assert all(p is q for p, q in zip(net2.parameters(), opt2.params, strict=True))
    np.testing.assert_array_equal(trained(net2, opt2), trained(net, opt))
