"""The fused engine equals the reference core (issue 10, item 4).

Every supported combination trains twice from the same seeds, once per engine;
after 3 epochs the parameters agree to 1e-12 (float64) / 1e-5 (float32)
relative to the parameter's scale, the history logs agree, and each test
asserts which engine really ran (``engine_used``) and, where numpy's OpenBLAS
is found, that the fused step went through its BLAS calls.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from bprop.fused import blas
from bprop.layers import (
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from bprop.losses import PoissonDeviance, SigmoidCrossEntropy, SoftmaxNLL, SquaredError
from bprop.optim import SGD, Adam, Constant, Cosine, InverseScaling, ReduceOnPlateau, StepDecay
from bprop.training import Callback, Trainer

N, D, BATCH = 203, 7, 32  # 203 = 6 * 32 + 11: a ragged last batch
TOL = {np.float64: 1e-12, np.float32: 1e-5}


def _data(loss_cls, k, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    if loss_cls is SoftmaxNLL:
        y = rng.integers(0, k, N)
    elif loss_cls is SigmoidCrossEntropy:
        y = rng.integers(0, 2, (N, k)).astype(float)
    elif loss_cls is PoissonDeviance:
        y = rng.poisson(2.0, (N, k)).astype(float)
    else:
        y = rng.normal(size=(N, k))
    return X, y, rng.random(N)


def _model(dtype, k, middle=(ReLU,), seed=1):
    layers = [Linear(D, 16, dtype=dtype, rng=seed)]
    layers += [make() for make in middle]
    layers += [Linear(16, 8, dtype=dtype, rng=seed + 1), Tanh(),
               Linear(8, k, dtype=dtype, rng=seed + 2)]
    return Sequential(*layers)


OPTIMIZERS = {
    "sgd": lambda ps: SGD(ps, lr=0.05),
    "sgd-decay": lambda ps: SGD(ps, lr=0.05, weight_decay=0.01),
    "momentum": lambda ps: SGD(ps, lr=0.05, momentum=0.9),
    "momentum-decay": lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
    "nesterov-decay": lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True,
                                     weight_decay=0.01),
    "adam": lambda ps: Adam(ps, lr=0.01),
    "adam-decay": lambda ps: Adam(ps, lr=0.01, weight_decay=0.01),
}


def _train(engine, dtype, *, loss_cls=SoftmaxNLL, opt="momentum-decay", middle=(ReLU,),
           weights=False, callbacks=(), epochs=3, validation=False):
    k = 3 if loss_cls is SoftmaxNLL else 2
    X, y, w = _data(loss_cls, k)
    net = _model(dtype, k, middle)
    trainer = Trainer(net, loss_cls(), OPTIMIZERS[opt](net.parameters()), batch_size=BATCH,
                      rng=0, engine=engine, callbacks=[make() for make in callbacks])
    calls = blas.calls
    trainer.fit(X, y, epochs, sample_weight=w if weights else None,
                validation_data=(X[:50], y[:50]) if validation else None)
    assert trainer.engine_used == engine
    if engine == "fused" and blas.available:
        assert blas.calls > calls  # the fused step ran through numpy's OpenBLAS
    return trainer


def assert_same(a: Trainer, b: Trainer, dtype) -> None:
    tol = TOL[dtype]
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert q.value.dtype == dtype
        np.testing.assert_allclose(q.value, p.value, rtol=tol, atol=tol * np.abs(p.value).max())
    for r, s in zip(a.history.records, b.history.records, strict=True):
        assert r["epoch"] == s["epoch"] and r["lr"] == pytest.approx(s["lr"], rel=1e-15)
        for key in ("loss", "val_loss", "val_accuracy"):
            np.testing.assert_allclose(s[key], r[key], rtol=10 * tol)
    assert len(a.history) == len(b.history)
    assert a.optimizer.t == b.optimizer.t


DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
@pytest.mark.parametrize("loss_cls", [SoftmaxNLL, SquaredError, SigmoidCrossEntropy,
                                      PoissonDeviance], ids=lambda c: c.__name__)
def test_every_loss_and_optimizer(loss_cls, opt, dtype):
    ref = _train("reference", dtype, loss_cls=loss_cls, opt=opt)
    fused = _train("fused", dtype, loss_cls=loss_cls, opt=opt)
    assert_same(ref, fused, dtype)


MIDDLES = {
    "relu": (ReLU,),
    "sigmoid": (Sigmoid,),
    "tanh": (Tanh,),
    "leaky": (lambda: LeakyReLU(0.1),),
    "identity": (Identity,),
    "relu-dropout": (ReLU, lambda: Dropout(0.3, rng=5)),
    "sigmoid-dropout-tanh": (Sigmoid, lambda: Dropout(0.2, rng=6), Tanh),
    "dropout-zero": (lambda: Dropout(0.0, rng=5),),
    "nested": (lambda: Sequential(ReLU(), Sequential(Identity())),),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("middle", list(MIDDLES))
def test_every_layer_type(middle, dtype):
    ref = _train("reference", dtype, middle=MIDDLES[middle], weights=True)
    fused = _train("fused", dtype, middle=MIDDLES[middle], weights=True)
    assert_same(ref, fused, dtype)
    # dropout drew the same random stream: the generators end in the same state
    drops = [(la, lb) for la, lb in zip(_flat(ref.model), _flat(fused.model), strict=True)
             if isinstance(la, Dropout)]
    for la, lb in drops:
        assert la.rng.bit_generator.state == lb.rng.bit_generator.state


def _flat(layer):
    if isinstance(layer, Sequential):
        return [inner for sub in layer.layers for inner in _flat(sub)]
    return [layer]


def test_dropout_before_the_first_linear():
    def train(engine):
        X, y, _ = _data(SoftmaxNLL, 3)
        net = Sequential(Dropout(0.25, rng=3), Linear(D, 3, rng=0))
        trainer = Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1, momentum=0.5),
                          batch_size=BATCH, rng=0, engine=engine)
        trainer.fit(X, y, 3)
        assert trainer.engine_used == engine
        return trainer

    assert_same(train("reference"), train("fused"), np.float64)


SCHEDULES = {
    "constant": Constant,
    "inverse": lambda: InverseScaling(power_t=0.5),
    "step": lambda: StepDecay(step_size=1, gamma=0.5),
    "cosine": lambda: Cosine(epochs=3),
    "plateau": lambda: ReduceOnPlateau(monitor="loss", factor=0.5, patience=1,
                                       threshold=10.0),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_every_schedule(schedule, dtype):
    ref = _train("reference", dtype, callbacks=[SCHEDULES[schedule]], validation=True)
    fused = _train("fused", dtype, callbacks=[SCHEDULES[schedule]], validation=True)
    assert_same(ref, fused, dtype)
    # every schedule but Constant changed the rate (ReduceOnPlateau after the first epoch)
    expected = {"constant": 1, "plateau": 2}.get(schedule, 3)
    assert len(set(ref.history["lr"])) == expected


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("opt", ["momentum-decay", "adam"])
def test_sample_weights_with_a_zero_weight_batch(opt, dtype):
    """Weighted means, and a batch of zero-weight samples skipped by both engines alike."""

    def train(engine):
        X, y, w = _data(SoftmaxNLL, 3)
        w[:BATCH] = 0.0  # with shuffle off, the whole first batch weighs nothing
        net = _model(dtype, 3)
        trainer = Trainer(net, SoftmaxNLL(), OPTIMIZERS[opt](net.parameters()),
                          batch_size=BATCH, shuffle=False, engine=engine)
        trainer.fit(X, y, 3, sample_weight=w)
        assert trainer.engine_used == engine
        return trainer

    ref, fused = train("reference"), train("fused")
    assert_same(ref, fused, dtype)
    assert ref.optimizer.t == 3 * 6  # 7 batches an epoch, the zero-weight one skipped


@pytest.mark.parametrize("first, then", [("fused", "reference"), ("reference", "fused")])
@pytest.mark.parametrize("opt", ["nesterov-decay", "adam"])
def test_a_checkpoint_resumes_under_the_other_engine(first, then, opt):
    whole = _train("reference", np.float64, opt=opt, middle=(ReLU, lambda: Dropout(0.2, rng=4)),
                   callbacks=[lambda: StepDecay(step_size=1, gamma=0.5)])
    part = _train(first, np.float64, opt=opt, middle=(ReLU, lambda: Dropout(0.2, rng=4)),
                  callbacks=[lambda: StepDecay(step_size=1, gamma=0.5)], epochs=2)
    state = part.state_dict()

    k = 3
    X, y, _ = _data(SoftmaxNLL, k)
    net = _model(np.float64, k, (ReLU, lambda: Dropout(0.2, rng=99)), seed=7)  # other weights
    resumed = Trainer(net, SoftmaxNLL(), OPTIMIZERS[opt](net.parameters()), batch_size=BATCH,
                      rng=123, engine=then, callbacks=[StepDecay(step_size=1, gamma=0.5)])
    resumed.load_state_dict(state)
    resumed.fit(X, y, 3)
    assert resumed.engine_used == then
    assert_same(whole, resumed, np.float64)


class Recorder(Callback):
    """What a per-batch callback sees: the first weight matrix after every step."""

    def __init__(self):
        self.seen = []

    def on_batch_end(self, trainer, batch, loss):
        self.seen.append(trainer.model.parameters()[0].value.copy())


def test_per_batch_callbacks_see_current_parameters():
    ref = _train("reference", np.float64, callbacks=[Recorder])
    fused = _train("fused", np.float64, callbacks=[Recorder])
    seen_ref, seen_fused = ref.callbacks[0].seen, fused.callbacks[0].seen
    assert len(seen_ref) == len(seen_fused) == 3 * 7
    for a, b in zip(seen_ref, seen_fused, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


class Shrink(Callback):
    """A callback that changes the weights and the velocity between epochs."""

    def on_epoch_end(self, trainer, epoch, logs):
        for p in trainer.model.parameters():
            p.value *= 0.5
        for v in trainer.optimizer.velocity:
            v *= 0.25


def test_changes_made_by_a_callback_are_trained_on():
    assert_same(_train("reference", np.float64, callbacks=[Shrink]),
                _train("fused", np.float64, callbacks=[Shrink]), np.float64)


def test_the_parameters_own_arrays_hold_the_trained_values():
    X, y, _ = _data(SoftmaxNLL, 3)
    net = _model(np.float64, 3)
    arrays = [p.value for p in net.parameters()]
    before = [a.copy() for a in arrays]
    opt = SGD(net.parameters(), lr=0.1, momentum=0.9)
    velocity = list(opt.velocity)
    trainer = Trainer(net, SoftmaxNLL(), opt, batch_size=BATCH, rng=0, engine="fused")
    trainer.fit(X, y, 2)
    assert trainer.engine_used == "fused"
    for p, a, b in zip(net.parameters(), arrays, before, strict=True):
        assert p.value is a and not np.array_equal(a, b)
    assert all(v is w for v, w in zip(opt.velocity, velocity, strict=True))
    assert any(np.abs(v).max() > 0 for v in opt.velocity)


def test_the_numpy_fallback_equals_the_reference(monkeypatch):
    """With BLAS off (BPROP_NUMPY_BLAS=0 or no OpenBLAS) the fused engine is still right."""
    ref = _train("reference", np.float64, opt="nesterov-decay")
    monkeypatch.setattr(blas, "available", False)
    calls = blas.calls
    fused = _train("fused", np.float64, opt="nesterov-decay")
    assert blas.calls == calls  # no ctypes call ran
    assert_same(ref, fused, np.float64)


# -- choosing the engine --


class Doubling(ReLU):
    """A user's subclass: not the library's ReLU, so not the fused engine's either."""

    def forward(self, x):
        return 2 * super().forward(x)


@pytest.mark.parametrize("model, part", [
    (lambda: Sequential(Linear(D, 3, rng=0), Softmax()), "layer 1 (Softmax)"),
    (lambda: Sequential(Linear(D, 4, rng=0), Doubling(), Linear(4, 3, rng=1)),
     "layer 1 (Doubling)"),
])
def test_auto_falls_back_and_fused_names_the_part(model, part):
    X, y, _ = _data(SoftmaxNLL, 3)
    net = model()
    trainer = Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), engine="auto")
    trainer.fit(X, y, 1)
    assert trainer.engine_used == "reference"
    with pytest.raises(ValueError, match=re.escape(f"engine='fused': {part}")):
        Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), engine="fused")


def test_fused_names_an_unsupported_loss_or_optimizer():
    class MyLoss(SquaredError):
        pass

    class MySGD(SGD):
        pass

    net = _model(np.float64, 2)
    with pytest.raises(ValueError, match="loss MyLoss is not supported"):
        Trainer(net, MyLoss(), SGD(net.parameters(), lr=0.1), engine="fused")
    with pytest.raises(ValueError, match="optimizer MySGD is not supported"):
        Trainer(net, SquaredError(), MySGD(net.parameters(), lr=0.1), engine="fused")
    tied = Sequential(net[0], ReLU(), net[0])
    with pytest.raises(ValueError, match="ties"):
        Trainer(tied, SquaredError(), SGD(tied.parameters(), lr=0.1), engine="fused")


def test_auto_is_the_default_and_takes_the_fused_engine():
    X, y, _ = _data(SoftmaxNLL, 3)
    net = _model(np.float64, 3)
    trainer = Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1))
    assert trainer.engine == "auto" and trainer.engine_used is None
    trainer.fit(X, y, 1)
    assert trainer.engine_used == "fused"


def test_a_bad_engine_name_is_rejected():
    net = _model(np.float64, 3)
    with pytest.raises(ValueError, match="engine must be one of auto, reference, fused; got 'gpu'"):
        Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), engine="gpu")


class MaxNorm(Callback):
    """A per-batch constraint that rewrites the weights after every step (the last one too)."""

    def on_batch_end(self, trainer, batch, loss):
        for p in trainer.model.parameters():
            np.clip(p.value, -0.3, 0.3, out=p.value)


def test_a_per_batch_callbacks_changes_are_kept_to_the_last_batch():
    ref = _train("reference", np.float64, callbacks=[MaxNorm])
    fused = _train("fused", np.float64, callbacks=[MaxNorm])
    assert_same(ref, fused, np.float64)
    assert max(np.abs(p.value).max() for p in fused.model.parameters()) <= 0.3


@pytest.mark.parametrize("opt", ["sgd-decay", "momentum-decay", "nesterov-decay", "adam-decay"])
def test_decay_follows_each_parameters_flag(opt):
    """A decayed bias and an undecayed weight (flags changed by the user) in both engines."""

    def train(engine):
        X, y, _ = _data(SoftmaxNLL, 3)
        net = _model(np.float64, 3)
        net[0].bias.decay, net[2].weight.decay = True, False
        trainer = Trainer(net, SoftmaxNLL(), OPTIMIZERS[opt](net.parameters()),
                          batch_size=BATCH, rng=0, engine=engine)
        trainer.fit(X, y, 3)
        assert trainer.engine_used == engine
        return trainer

    assert_same(train("reference"), train("fused"), np.float64)


def test_float32_plain_sgd_weight_decay_stays_equal_over_hundreds_of_steps():
    # W *= (1 - lr*wd) rounds that factor to float32 (a 0.6% error in a 2e-5 decay, each
    # step): after 564 steps it drifted 3.6e-3 from the reference; W += (-lr*wd) W does not
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(12000, 20)), rng.integers(0, 4, 12000), rng.random(12000)
    params = {}
    for engine in ("reference", "fused"):
        net = Sequential(Linear(20, 32, rng=1, dtype=np.float32), ReLU(),
                         Linear(32, 16, rng=2, dtype=np.float32), ReLU(),
                         Linear(16, 4, rng=3, dtype=np.float32))
        opt = SGD(net.parameters(), lr=0.02, weight_decay=1e-3)
        trainer = Trainer(net, SoftmaxNLL(), opt, batch_size=64, rng=0, engine=engine)
        trainer.fit(X, y, 3, sample_weight=w)
        assert trainer.engine_used == engine
        params[engine] = [p.value for p in net.parameters()]
    for ref, fus in zip(params["reference"], params["fused"], strict=True):
        assert np.abs(fus - ref).max() <= 1e-5 * np.abs(ref).max()
