"""Packed parameters (bprop.optim.packing): one flat buffer per dtype, kept in sync."""

from __future__ import annotations

import numpy as np
import pytest

from bprop import Parameter
from bprop.layers import Linear, ReLU, Sequential
from bprop.optim import SGD, Adam
from bprop.optim.packing import pack


def _mixed_params(seed=0):
    """Interleaved weights and biases, as a Sequential lists them."""
    rng = np.random.default_rng(seed)
    shapes = [(4, 3), (3,), (3, 2), (2,)]
    params = [Parameter(rng.standard_normal(s), decay=len(s) == 2) for s in shapes]
    for p in params:
        p.grad[...] = rng.standard_normal(p.value.shape)
    return params


def test_values_and_grads_become_views_of_one_buffer_with_the_same_contents():
    params = _mixed_params()
    before = [(p.value.copy(), p.grad.copy()) for p in params]
    (group,) = pack(params)
    for p, (value, grad) in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.value, value)
        np.testing.assert_array_equal(p.grad, grad)
        assert np.shares_memory(p.value, group.value) and np.shares_memory(p.grad, group.grad)
    # weights first: the decayed ones are exactly the prefix
    assert group.n_decay == 4 * 3 + 3 * 2
    np.testing.assert_array_equal(group.value[: group.n_decay], np.concatenate(
        [params[0].value.ravel(), params[2].value.ravel()]))


def test_one_group_per_dtype_and_each_is_updated():
    p32 = Parameter(np.ones(3, dtype=np.float32), "a")
    p64 = Parameter(np.ones(2), "b")
    p32.grad[...], p64.grad[...] = 1.0, 2.0
    opt = SGD([p32, p64], lr=0.5)
    assert len(opt.groups) == 2
    opt.step()
    np.testing.assert_array_equal(p32.value, [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(p64.value, [0.0, 0.0])
    assert p32.value.dtype == np.float32


def test_a_reassigned_grad_is_used():
    """A layer may assign ``p.grad = ...`` (the exercises do) rather than write into it."""
    w = Parameter(np.array([1.0, 2.0]), "w")
    opt = SGD([w], lr=0.1)
    w.grad = np.array([10.0, 20.0])
    opt.step()
    np.testing.assert_allclose(w.value, [0.0, 0.0])


def test_a_reassigned_value_is_trained_and_stays_the_models():
    w = Parameter(np.array([1.0, 2.0]), "w")
    opt = SGD([w], lr=0.1)
    w.value = np.array([5.0, 5.0])
    w.grad[...] = 1.0
    opt.step()
    np.testing.assert_allclose(w.value, [4.9, 4.9])
    assert np.shares_memory(w.value, opt.groups[0].value)


def test_a_parameter_that_changed_shape_is_a_clear_error():
    w = Parameter(np.zeros((2, 3)), "weight")
    opt = Adam([w])
    w.value = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"'weight'.*shape \(3, 3\).*built for shape \(2, 3\)"):
        opt.step()


def test_a_changed_dtype_or_decay_flag_is_a_clear_error():
    w = Parameter(np.zeros(3, dtype=np.float32), "weight")
    opt = SGD([w], lr=0.1, weight_decay=0.1)
    w.grad = np.ones(3)  # a float64 gradient is cast: fine
    opt.step()
    np.testing.assert_allclose(w.value, [-0.1] * 3)
    w.value = np.zeros(3)  # a float64 value is not
    with pytest.raises(ValueError, match=r"'weight'.*dtype float64.*dtype float32"):
        opt.step()
    w.value = opt.groups[0].values[0]
    w.decay = False
    with pytest.raises(ValueError, match=r"'weight': its .decay changed to False"):
        opt.step()


def test_tied_parameters_are_stepped_once():
    w = Parameter(np.array([1.0]), "w")
    w.grad[...] = 1.0
    opt = SGD([w, w], lr=0.1)
    opt.step()
    assert len(opt.params) == 1
    np.testing.assert_allclose(w.value, [0.9])


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: Adam(ps, lr=0.01, weight_decay=0.01),
])
def test_packed_step_equals_one_optimizer_per_parameter(make):
    """Packing changes nothing but speed: each parameter alone gets the same steps."""
    together = _mixed_params()
    alone = [_mixed_params()[i] for i in range(4)]
    opt, singles = make(together), [make([p]) for p in alone]
    rng = np.random.default_rng(1)
    for _ in range(3):
        for p, q in zip(together, alone, strict=True):
            p.grad[...] = q.grad[...] = rng.standard_normal(p.value.shape)
        opt.step()
        for single in singles:
            single.step()
    for p, q in zip(together, alone, strict=True):
        np.testing.assert_array_equal(p.value, q.value)


def test_a_model_trains_through_its_packed_parameters():
    net = Sequential(Linear(3, 4, rng=0), ReLU(), Linear(4, 2, rng=1))
    first = net[0].weight
    opt = SGD(net.parameters(), lr=0.1, momentum=0.9)
    before = first.value.copy()
    net.forward(np.ones((5, 3)))
    net.backward(np.ones((5, 2)))
    opt.step()
    assert first.value is net.parameters()[0].value
    assert not np.array_equal(first.value, before)


@pytest.mark.parametrize("copy", ["pickle", "deepcopy"])
@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: Adam(ps, lr=0.01),
])
@pytest.mark.parametrize("n_in", [3, 200])  # numpy path and BLAS path
def test_a_copied_model_and_optimizer_still_train_together(copy, make, n_in):
    """pickle and deepcopy turn views into separate arrays: the packing is linked again."""
    import copy as copy_module
    import pickle

    def trained(net, opt, steps=3):
        for _ in range(steps):
            net.forward(np.ones((4, n_in)))
            net.backward(np.ones((4, 50)))
            opt.step()
        return np.concatenate([p.value.ravel() for p in net.parameters()])

    net = Sequential(Linear(n_in, 50, rng=0))
    opt = make(net.parameters())
    trained(net, opt, 2)
    pair = (net, opt)
    net2, opt2 = (pickle.loads(pickle.dumps(pair)) if copy == "pickle"
                  else copy_module.deepcopy(pair))
    np.testing.assert_array_equal(trained(net2, opt2), trained(net, opt))
    state, state2 = opt.state_dict(), opt2.state_dict()
    for key, value in state.items():
        np.testing.assert_array_equal(value, state2[key])
