"""The training loop: learning, history, callbacks, divergence, resumption."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from bprop import Trainer, fit
from bprop.layers import Dropout, Linear, ReLU, Sequential, Tanh
from bprop.losses import SoftmaxNLL, SquaredError
from bprop.optim import SGD, Adam, StepDecay
from bprop.training.callbacks import Callback, EarlyStopping
from bprop.training.trainer import DivergedError


def _mlp(n_in, n_hidden, n_out, seed=0, dtype=np.float64):
    return Sequential(
        Linear(n_in, n_hidden, rng=seed, dtype=dtype),
        ReLU(),
        Linear(n_hidden, n_out, rng=seed + 1, dtype=dtype),
    )


def test_mlp_learns_xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    net = Sequential(Linear(2, 8, rng=0), Tanh(), Linear(8, 2, rng=1))
    fit(
        net,
        SoftmaxNLL(),
        SGD(net.parameters(), lr=0.5, momentum=0.9),
        X,
        y,
        epochs=200,
        batch_size=4,
        rng=0,
    )
    assert np.array_equal(net.forward(X).argmax(axis=1), y)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def test_mlp_learns_digits(digits):
    Xtr, Xte, ytr, yte = digits
    net = _mlp(64, 64, 10)
    trainer = Trainer(
        net,
        SoftmaxNLL(),
        SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4),
        batch_size=32,
        rng=0,
    )
    history = trainer.fit(Xtr, ytr, epochs=20, validation_data=(Xte, yte))
    result = trainer.evaluate(Xte, yte)
    assert result["accuracy"] >= 0.95
    assert history["val_accuracy"][-1] == result["accuracy"]
    assert history["loss"][-1] < history["loss"][0]
    assert [r["epoch"] for r in history.records] == list(range(1, 21))
    assert all(s > 0 for s in history["seconds"])


def test_float32_training_keeps_float32(digits):
    Xtr, _, ytr, _ = digits
    net = _mlp(64, 16, 10, dtype=np.float32)
    seen = []

    class Spy(Callback):
        def on_batch_end(self, trainer, batch, loss):
            seen.append(
                {p.value.dtype for p in trainer.model.parameters()}
                | {p.grad.dtype for p in trainer.model.parameters()}
            )

    fit(
        net,
        SoftmaxNLL(),
        SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4),
        Xtr,
        ytr,
        epochs=1,
        rng=0,
        callbacks=[Spy()],
    )
    assert all(s == {np.dtype(np.float32)} for s in seen)
    assert net.forward(Xtr[:3].astype(np.float32)).dtype == np.float32


def test_same_seed_same_weights(digits):
    Xtr, _, ytr, _ = digits

    def run():
        net = Sequential(Linear(64, 16, rng=0), Dropout(0.2, rng=5), ReLU(), Linear(16, 10, rng=1))
        fit(net, SoftmaxNLL(), Adam(net.parameters()), Xtr, ytr, epochs=2, rng=3)
        return [p.value for p in net.parameters()]

    for a, b in zip(run(), run(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_first_layer_input_gradient_is_not_computed(digits, monkeypatch):
    Xtr, _, ytr, _ = digits
    net = _mlp(64, 8, 10)
    calls = []
    monkeypatch.setattr(net[0], "backward", lambda dy: calls.append(dy))
    fit(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), Xtr[:64], ytr[:64], epochs=1)
    assert calls == []


def test_divergence_names_epoch_and_batch():
    X = np.random.default_rng(0).normal(size=(64, 3)) * 1e3
    y = X @ np.ones((3, 1)) * 1e3
    net = Sequential(Linear(3, 1, rng=0))
    with pytest.raises(DivergedError, match=r"at epoch \d+, batch \d+.*smaller learning rate"):
        fit(net, SquaredError(), SGD(net.parameters(), lr=10.0), X, y, epochs=50, rng=0)


def test_early_stopping_restores_best_weights(digits):
    Xtr, Xte, ytr, yte = digits
    net = _mlp(64, 32, 10)
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    snapshots = {}

    class Snap(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            snapshots[epoch + 1] = [p.value.copy() for p in trainer.model.parameters()]

    # A learning rate this large oscillates, so validation loss soon stops improving.
    history = fit(
        net,
        SoftmaxNLL(),
        SGD(net.parameters(), lr=0.8, momentum=0.9),
        Xtr,
        ytr,
        epochs=60,
        rng=0,
        validation_data=(Xte, yte),
        callbacks=[Snap(), stopper],
    )
    assert stopper.stopped_epoch is not None and len(history) < 60
    best = int(np.nanargmin(history["val_loss"])) + 1
    assert stopper.best_epoch == best
    for p, v in zip(net.parameters(), snapshots[best], strict=True):
        np.testing.assert_array_equal(p.value, v)


def test_schedule_lr_is_logged(digits):
    Xtr, _, ytr, _ = digits
    net = _mlp(64, 8, 10)
    history = fit(
        net,
        SoftmaxNLL(),
        SGD(net.parameters(), lr=0.1),
        Xtr,
        ytr,
        epochs=4,
        callbacks=[StepDecay(step_size=2, gamma=0.5)],
    )
    assert history["lr"] == [0.1, 0.1, 0.05, 0.05]
    assert math.isnan(history["val_loss"][0])


def test_resume_from_state_dict_equals_uninterrupted_run(digits):
    Xtr, _, ytr, _ = digits

    def make():
        net = Sequential(Linear(64, 16, rng=0), Dropout(0.3, rng=9), ReLU(), Linear(16, 10, rng=1))
        callbacks = [StepDecay(step_size=1, gamma=0.5), EarlyStopping(monitor="loss", patience=3)]
        opt = SGD(net.parameters(), lr=0.05, momentum=0.9)
        return Trainer(net, SoftmaxNLL(), opt, rng=4, callbacks=callbacks)

    straight = make()
    straight.fit(Xtr, ytr, epochs=4)
    first = make()
    first.fit(Xtr, ytr, epochs=2)
    state = first.state_dict()
    resumed = make()
    resumed.load_state_dict(state)
    assert resumed.callbacks[0].schedule.base_lr == 0.05  # not the decayed lr
    assert resumed.callbacks[1].best == first.callbacks[1].best
    resumed.fit(Xtr, ytr, epochs=4)
    assert len(resumed.history) == 4
    assert resumed.history["lr"] == straight.history["lr"] == [0.05, 0.025, 0.0125, 0.00625]
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)


def test_sample_weights_zero_means_ignored(rng):
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    w = np.ones(40)
    w[:20] = 0
    results = []
    for Xi, yi, wi in ((X, y, w), (X[20:], y[20:], None)):
        net = _mlp(2, 4, 2)
        fit(
            net,
            SoftmaxNLL(),
            SGD(net.parameters(), lr=0.1),
            Xi,
            yi,
            epochs=1,
            batch_size=40,
            shuffle=False,
            sample_weight=wi,
        )
        results.append(net[0].weight.value)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


@pytest.mark.parametrize(
    "X,y,match",
    [
        (np.ones(5), np.zeros(5), "must be 2-D"),
        (np.array([["a", "b"]]), np.zeros(1), "must be numeric"),
        (np.array([[np.nan, 1.0]]), np.zeros(1, dtype=int), "NaN or infinity"),
        (np.ones((3, 2)), np.zeros(4, dtype=int), "3 samples but its targets have 4"),
    ],
)
def test_bad_data_is_rejected(X, y, match):
    net = _mlp(2, 3, 2)
    with pytest.raises(ValueError, match=match):
        fit(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), X, y, epochs=1)


def test_bad_trainer_arguments():
    net = _mlp(2, 3, 2)
    opt = SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        Trainer(net, SoftmaxNLL(), opt, batch_size=0)
    with pytest.raises(ValueError, match="loss must be a bprop Loss"):
        Trainer(net, "SoftmaxNLL", opt)


def test_all_finite_handles_overflowing_sums():
    from bprop.validation import all_finite

    big = np.full((4, 3), np.finfo(np.float32).max, dtype=np.float32)
    assert all_finite(big)  # the sum overflows, the values do not
    big[2, 1] = np.nan
    assert not all_finite(big)
    assert not all_finite(np.array([1.0, -np.inf]))
    assert all_finite(np.zeros((0, 3)))


def test_batches_of_zero_weight_samples_are_skipped():
    X = np.random.default_rng(0).normal(size=(8, 5))
    y = np.arange(8) % 3
    w = np.r_[np.zeros(4), np.ones(4)]
    nets = [Sequential(Linear(5, 3, rng=0)) for _ in range(2)]
    fit(nets[0], SoftmaxNLL(), SGD(nets[0].parameters(), lr=0.1), X, y, epochs=1,
        batch_size=4, shuffle=False, sample_weight=w)
    fit(nets[1], SoftmaxNLL(), SGD(nets[1].parameters(), lr=0.1), X[4:], y[4:], epochs=1,
        batch_size=4, shuffle=False)
    np.testing.assert_array_equal(nets[0][0].weight.value, nets[1][0].weight.value)


@pytest.mark.parametrize(
    "X,y,w,match",
    [
        (np.ones((2, 2)), np.zeros(2, dtype=int), np.zeros(2), "zero for every sample"),
        (np.zeros((0, 2)), np.zeros(0, dtype=int), None, "0 samples"),
        (np.ones((2, 2)), np.float64(3), None, "one row per sample"),
    ],
)
def test_degenerate_data_is_rejected(X, y, w, match):
    net = _mlp(2, 3, 2)
    with pytest.raises(ValueError, match=match):
        fit(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), X, y, epochs=1, sample_weight=w)


# --- the epoch logs: l2, objective, accuracy, per-batch records, callbacks' columns -------


def _blobs(n=60, seed=0):
    g = np.random.default_rng(seed)
    X = np.vstack([g.normal(-1, 1, (n // 2, 3)), g.normal(1, 1, (n - n // 2, 3))])
    return X, np.repeat([0, 1], [n // 2, n - n // 2])


@pytest.mark.parametrize("engine", ["reference", "fused"])
def test_l2_term_and_objective_are_logged(engine):
    X, y = _blobs()
    net = _mlp(3, 5, 2)
    opt = SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=0.05)
    history = Trainer(net, SoftmaxNLL(), opt, batch_size=16, rng=0, engine=engine).fit(X, y, 3)
    weights = [p.value for p in net.parameters() if p.decay]
    assert len(weights) == 2  # the biases are not decayed, so not in the term
    l2 = 0.5 * 0.05 * sum(float((W**2).sum()) for W in weights)
    assert history["l2"][-1] == pytest.approx(l2, rel=1e-12)
    for loss, term, objective in zip(history["loss"], history["l2"], history["objective"],
                                     strict=True):
        assert term > 0 and objective == pytest.approx(loss + term, rel=1e-15)


def test_l2_term_is_zero_without_decay_and_uses_adamw_decay():
    X, y = _blobs()
    net = _mlp(3, 5, 2)
    history = Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), rng=0).fit(X, y, 2)
    assert history["l2"] == [0.0, 0.0] and history["objective"] == history["loss"]
    from bprop.optim import AdamW

    history = Trainer(net, SoftmaxNLL(), AdamW(net.parameters(), weight_decay=0.2),
                      rng=0).fit(X, y, 1)
    l2 = 0.1 * sum(float((p.value**2).sum()) for p in net.parameters() if p.decay)
    assert history["l2"][0] == pytest.approx(l2, rel=1e-12)


@pytest.mark.parametrize("engine", ["reference", "fused"])
def test_training_accuracy_comes_from_the_batches_as_seen(engine):
    X, y = _blobs()
    w = np.random.default_rng(1).uniform(0.1, 2.0, len(y))
    net = _mlp(3, 5, 2)
    before = np.argmax(net.forward(X), axis=1) == y  # one full batch: the outputs before its step
    trainer = Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.5), batch_size=len(y),
                      shuffle=False, engine=engine)
    history = trainer.fit(X, y, 2, sample_weight=w)
    assert trainer.engine_used == engine
    assert history["accuracy"][0] == pytest.approx(np.dot(before, w) / w.sum(), rel=1e-12)
    assert history["accuracy"][0] != pytest.approx(before.mean())  # weighted, not plain


def test_no_training_accuracy_for_regression():
    X = np.linspace(-1, 1, 20).reshape(-1, 1)
    net = _mlp(1, 4, 1)
    history = Trainer(net, SquaredError(), SGD(net.parameters(), lr=0.1), rng=0).fit(X, X**2, 2)
    assert "accuracy" not in history.columns and "accuracy" not in history.records[0]


def test_batch_losses_are_recorded_when_asked():
    X, y = _blobs(50)
    net = _mlp(3, 5, 2)
    trainer = Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), batch_size=16, rng=0,
                      record_batches=True)
    history = trainer.fit(X, y, 3)
    assert len(trainer.batch_history) == 3 * 4  # 16 + 16 + 16 + 2 samples
    for epoch in (1, 2, 3):
        rows = [r for r in trainer.batch_history if r["epoch"] == epoch]
        assert [r["batch"] for r in rows] == [1, 2, 3, 4]
        assert [r["samples"] for r in rows] == [16, 16, 16, 2]
        mean = sum(r["loss"] * r["samples"] for r in rows) / 50
        assert mean == pytest.approx(history["loss"][epoch - 1], rel=1e-12)
    assert Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1)).batch_history == []


def test_drop_last_leaves_out_the_smaller_batch():
    X, y = _blobs(50)
    net = _mlp(3, 5, 2)
    trainer = Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), batch_size=16, rng=0,
                      record_batches=True, drop_last=True)
    trainer.fit(X, y, 2)
    assert [r["samples"] for r in trainer.batch_history] == [16] * 6
    with pytest.raises(ValueError, match="drop_last=True with batch_size=64 leaves no batch"):
        Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), batch_size=64,
                drop_last=True).fit(X, y, 1)


class _Columns(Callback):
    """Adds a column every epoch and another from the third epoch on."""

    def on_epoch_end(self, trainer, epoch, logs):
        logs["double_loss"] = 2 * logs["loss"]
        if epoch >= 2:
            logs["late"] = float(epoch)


def test_callbacks_add_columns_to_the_history():
    X, y = _blobs()
    net = _mlp(3, 5, 2)
    history = Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), rng=0,
                      callbacks=[_Columns()]).fit(X, y, 4)
    assert history.columns[-2:] == ("double_loss", "late")
    assert history["double_loss"] == [2 * v for v in history["loss"]]
    assert np.isnan(history["late"][:2]).all() and history["late"][2:] == [2.0, 3.0]
    with pytest.raises(KeyError, match="unknown history column 'nope'"):
        history["nope"]


# --- layers that need more than one sample per batch, N-D data ------------------------


def _bn_net(seed=0):
    from bprop.layers import BatchNorm

    return Sequential(Linear(4, 8, rng=seed), BatchNorm(8), ReLU(), Linear(8, 3, rng=seed + 1))


def test_batchnorm_refuses_a_last_batch_of_one_before_training():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X, y = X[:131], y[:131]  # 5 * 26 + 1
    net = _bn_net()
    before = [p.value.copy() for p in net.parameters()]
    trainer = Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), batch_size=26, rng=0)
    with pytest.raises(ValueError, match=r"BatchNorm needs at least 2 samples per training "
                                         r"batch, but batch_size=26 on 131 samples leaves a "
                                         r"batch of 1; choose another batch_size \(e.g. 27\)"):
        trainer.fit(X, y, 2)
    assert all((p.value == b).all() for p, b in zip(net.parameters(), before, strict=True))
    assert trainer.epoch == 0
    dropping = Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1), batch_size=26, rng=0,
                       drop_last=True)
    assert len(dropping.fit(X, y, 2)) == 2
    with pytest.raises(ValueError, match="leaves a batch of 1"):  # one sample in all
        Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1)).fit(X[:1], y[:1], 1)


def test_estimators_refuse_a_batchnorm_batch_of_one():
    from sklearn.datasets import load_iris

    from bprop.estimators import MLPClassifier

    X, y = load_iris(return_X_y=True)
    est = MLPClassifier(layers=[{"type": "Linear", "out": 8}, "BatchNorm", "ReLU"],
                        batch_size=26, max_iter=3, random_state=0)
    with pytest.raises(ValueError, match="BatchNorm needs at least 2 samples"):
        est.fit(X[:131], y[:131])
    with pytest.warns(UserWarning):  # ConvergenceWarning after 3 epochs
        assert est.set_params(batch_size=27).fit(X[:131], y[:131]).n_iter_ == 3


def test_estimators_take_images_when_the_layers_start_with_flatten(digits):
    import warnings

    from bprop.estimators import MLPClassifier, MLPRegressor

    X, _, y, _ = digits
    X4 = X.reshape(-1, 1, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        flat = MLPClassifier(layers=[{"type": "Linear", "out": 16}, "ReLU"], max_iter=5,
                             random_state=0).fit(X, y)
        images = MLPClassifier(layers=["Flatten", {"type": "Linear", "out": 16}, "ReLU"],
                               max_iter=5, random_state=0).fit(X4, y)
        reg = MLPRegressor(layers=["Flatten", {"type": "Linear", "out": 4}], max_iter=2,
                           random_state=0).fit(X4, y.astype(float))
    assert images.coefs_[0].shape == (64, 16)
    np.testing.assert_allclose(images.predict_proba(X4), flat.predict_proba(X), rtol=1e-10)
    assert reg.predict(X4).shape == (len(y),)
    with pytest.raises(ValueError, match="dim 4.*unless its layers= start with 'Flatten'"):
        MLPClassifier(max_iter=1).fit(X4, y)


def test_summary_takes_a_sample_shape():
    from bprop.layers import Flatten

    net = Sequential(Flatten(), Linear(64, 3, rng=0))
    text = net.summary((1, 8, 8))
    assert "Input: (N, 1, 8, 8)" in text and "(N, 64)" in text and "195" in text
    with pytest.raises(ValueError, match="does not accept an input of shape"):
        Sequential(Linear(64, 3, rng=0)).summary((1, 8, 8))
    with pytest.raises(ValueError, match="sample shape"):
        net.summary((1, 0, 8))


@pytest.mark.parametrize("engine", ["reference", "fused"])
def test_training_accuracy_of_a_binary_logit(engine):
    from bprop.losses import SigmoidCrossEntropy

    X, y = _blobs(40)
    net = Sequential(Linear(3, 1, rng=2))
    before = ((net.forward(X)[:, 0] > 0) == y).mean()
    history = Trainer(net, SigmoidCrossEntropy(), SGD(net.parameters(), lr=0.1),
                      batch_size=40, shuffle=False, engine=engine).fit(X, y, 1)
    assert history["accuracy"][0] == pytest.approx(before, rel=1e-12)
