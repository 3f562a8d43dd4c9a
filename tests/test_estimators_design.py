"""The estimators' training logic in one home: the promises behind it, checked.

The constructor only stores its arguments (each under its own name, with
scikit-learn's defaults); callbacks never write the estimator's attributes;
the Trainer gets its shuffling generator when it is built; names go through
`bprop.registry`; the initial weights come from the RandomState alone; the
data checks (sample weights) are the Trainer's own (documentation:
tests/test_docs.py); the scikit-learn rules need no per-batch hook; predictions
go through `bprop.metrics.predict_raw`.
"""

import warnings

import numpy as np
import pytest
import sklearn.neural_network as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning

import bprop.estimators
import bprop.estimators.base
import bprop.metrics
import bprop.training.trainer
from bprop import registry
from bprop.estimators import MLPClassifier, MLPRegressor
from bprop.estimators.network import build_network
from bprop.estimators.stochastic import SklearnEpochs, SklearnShuffle
from bprop.fused import FusedStep
from bprop.layers import Linear, Sequential, Tanh
from bprop.layers.activations import class_probabilities
from bprop.layers.base import leaf_layers
from bprop.losses import SoftmaxNLL
from bprop.metrics import no_trace, predict_raw
from bprop.optim import SGD
from bprop.training import Callback, Trainer

X, Y = load_iris(return_X_y=True)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_init_stores_each_argument_under_its_name_with_sklearns_defaults(Est):
    est = Est()
    params = est.get_params(deep=False)
    assert set(vars(est)) == set(params)
    for name, value in getattr(sk, Est.__name__)().get_params().items():
        assert params[name] == value, name
    sentinels = {name: object() for name in params}
    assert Est(**sentinels).get_params(deep=False) == sentinels


class Watcher(Callback):
    """Looks at the estimator while it trains."""

    def __init__(self, clf):
        self.clf, self.seen = clf, []

    def on_epoch_end(self, trainer, epoch, logs):
        self.seen.append((self.clf.n_iter_, list(self.clf.loss_curve_), self.clf.t_))


def test_no_callback_writes_the_estimators_attributes():
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=4, random_state=0).fit(X, Y)
    before = (clf.n_iter_, list(clf.loss_curve_), clf.t_)
    watcher = Watcher(clf)
    clf.set_params(callbacks=[watcher]).partial_fit(X, Y)
    # while the Trainer ran, the estimator still showed the previous call's results
    assert watcher.seen == [before]
    assert clf.n_iter_ == 1 and clf.t_ == before[2] + len(X)
    assert clf.loss_curve_[:-1] == before[1] and len(clf.loss_curve_) == 5


class RngSeen(Callback):
    def on_train_end(self, trainer):
        self.rng = trainer.rng


def test_the_shuffling_generator_is_passed_into_the_trainer(monkeypatch):
    passed = []
    init = Trainer.__init__

    def spy(self, *args, **kwargs):
        passed.append(kwargs.get("rng"))
        init(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "__init__", spy)
    seen = RngSeen()
    MLPClassifier(max_iter=2, random_state=0, callbacks=[seen]).fit(X, Y)
    assert isinstance(passed[0], SklearnShuffle)
    assert seen.rng is passed[0]  # the generator the epochs used is the one it was built with


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_activation_is_the_registered_layer(activation):
    clf = MLPClassifier(hidden_layer_sizes=(3,), activation=activation, max_iter=1).fit(X, Y)
    assert type(clf.model_.layers[1]) is registry.lookup("layer", activation)


def test_initial_weights_come_from_the_random_state_alone(monkeypatch):
    """scikit-learn's draws, and no generator seeded from OS entropy (None)."""
    seeds = []
    default_rng = np.random.default_rng

    def spy(seed=None):
        seeds.append(seed)
        return default_rng(seed)

    monkeypatch.setattr(np.random, "default_rng", spy)
    net = build_network(
        4,
        3,
        hidden_layer_sizes=(5,),
        activation="logistic",
        dropout=0.0,
        layers=None,
        dtype=np.float64,
        random_state=np.random.RandomState(0),
    )
    assert None not in seeds
    ref = np.random.RandomState(0)
    linears = [net.layers[0], net.layers[2]]
    for layer, (fan_in, fan_out) in zip(linears, [(4, 5), (5, 3)], strict=True):
        a = np.sqrt(2.0 / (fan_in + fan_out))  # scikit-learn's bound for 'logistic'
        assert_array_equal(layer.weight.value, ref.uniform(-a, a, (fan_in, fan_out)))
        assert_array_equal(layer.bias.value, ref.uniform(-a, a, fan_out))


@pytest.mark.parametrize(
    "sw", [np.zeros(150), -np.ones(150), np.ones(3), np.r_[np.inf, np.ones(149)]]
)
def test_one_sample_weight_check_for_the_trainer_and_the_estimators(sw):
    with pytest.raises(ValueError) as mine:
        MLPClassifier().fit(X, Y, sample_weight=sw)
    net = Sequential(Linear(4, 3, rng=0))
    with pytest.raises(ValueError) as loop:
        Trainer(net, SoftmaxNLL(), SGD(net.parameters())).fit(X, Y, 1, sample_weight=sw)
    assert str(mine.value) == str(loop.value)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_probabilities_come_from_class_probabilities(kind):
    if kind == "multilabel":
        x, y = make_multilabel_classification(n_samples=60, n_classes=3, random_state=0)
    else:
        x, y = X, (Y == 1 if kind == "binary" else Y)
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=0).fit(x, y)
    proba = clf.predict_proba(x)
    raw = clf.model_.forward(x)
    assert_allclose(proba, class_probabilities(raw, multilabel=kind == "multilabel"))
    if kind == "binary":
        assert proba.shape == (len(x), 2)
        assert_array_equal(clf.predict(x), clf.classes_[(proba[:, 1] > 0.5).astype(int)])


# -- training without per-batch hooks (the fused engine copies nothing around a step) --


def test_sklearn_epochs_overrides_no_per_batch_hook():
    for hook in ("on_batch_begin", "on_batch_end"):
        assert getattr(SklearnEpochs, hook) is getattr(Callback, hook), hook


def test_estimator_trains_fused_without_copies_around_steps(monkeypatch):
    stores, init = [], FusedStep.__init__
    monkeypatch.setattr(FusedStep, "store", lambda self, *a, **k: stores.append(a or k))

    def spy(self, *args, **kwargs):
        init(self, *args, **kwargs)
        stores.append("built")

    monkeypatch.setattr(FusedStep, "__init__", spy)
    # 150 samples in batches of 16: 10 steps per epoch, 3 epochs
    MLPClassifier(hidden_layer_sizes=(6,), batch_size=16, max_iter=3, random_state=0).fit(X, Y)
    assert stores[0] == "built"  # the fused engine ran
    assert len(stores) == 1 + 3  # one store per epoch, none per step


def _l2_trainer(engine, sw_seed=None, dtype=np.float64):
    rng = np.random.default_rng(0)
    net = Sequential(Linear(4, 7, rng=rng, dtype=dtype), registry.lookup("layer", "tanh")(),
                     Linear(7, 3, rng=rng, dtype=dtype))
    opt = SGD(net.parameters(), lr=0.1, momentum=0.9)
    return Trainer(net, SoftmaxNLL(), opt, batch_size=32, rng=1, engine=engine, l2=0.3)


class PenaltyByHand(Callback):
    """The L2 term as the estimators computed it before: a per-batch hook on the Parameters."""

    def __init__(self, sw):
        self.sw, self.terms = sw, []

    def on_batch_begin(self, trainer, batch, n):
        w = n if self.sw is None else float(self.sw[trainer.batch_indices].sum())
        decayed = [p for p in trainer.model.parameters() if p.decay]
        self.terms.append(0.5 * 0.3 * sum(float(np.vdot(p.value, p.value)) for p in decayed) / w)


@pytest.mark.parametrize("weighted", [False, True])
def test_trainer_l2_is_sklearns_per_batch_penalty_under_both_engines(weighted):
    """``Trainer(l2=)``: decay l2/sum(w_batch) per step; batch_log holds each step's term."""
    sw = np.random.default_rng(2).uniform(0.1, 2.0, len(X)) if weighted else None
    fused, ref = _l2_trainer("fused"), _l2_trainer("reference")
    by_hand = PenaltyByHand(sw)
    ref.callbacks.append(by_hand)
    for trainer in (fused, ref):
        trainer.fit(X, Y, 3, sample_weight=sw)  # 150 rows: a ragged last batch of 22
    assert fused.engine_used == "fused" and ref.engine_used == "reference"
    for a, b in zip(fused.model.parameters(), ref.model.parameters(), strict=True):
        assert_allclose(a.value, b.value, rtol=1e-12, atol=1e-14)
    assert_allclose(fused.batch_log["l2"], ref.batch_log["l2"], rtol=1e-12)
    assert_allclose(ref.batch_log["l2"], by_hand.terms[-5:], rtol=1e-14)
    assert ref.batch_log["rows"] == [32, 32, 32, 32, 22]
    weights = [32.0] * 4 + [22.0] if sw is None else ref.batch_log["weight"]
    assert ref.optimizer.weight_decay == 0.3 / weights[-1]
    log = ref.batch_log  # the logged loss is the objective, weighted by the batches' weights
    objective = np.dot(np.add(log["loss"], log["l2"]), log["weight"]) / np.sum(log["weight"])
    assert_allclose(ref.history.records[-1]["loss"], objective, rtol=1e-12)
    assert min(log["l2"]) > 0


def test_trainer_l2_refuses_negative():
    with pytest.raises(ValueError, match="l2 must be"):
        _l2_trainer("reference").__class__(*_parts(), l2=-1.0)


def _parts():
    net = Sequential(Linear(4, 3, rng=0))
    return net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1)


# -- one chunked predict: the Trainer, the command line and the estimators --


def test_predict_raw_leaves_no_caches_unless_asked():
    net, _, _ = _parts()
    before = {id(layer): dict(vars(layer)) for layer in [net, *leaf_layers(net)]}
    out = predict_raw(net, X, chunk=40)
    assert out.shape == (150, 3)
    for layer in [net, *leaf_layers(net)]:  # eval() set the mode; no cache was added
        assert vars(layer).keys() - {"training"} == before[id(layer)].keys() - {"training"}
    predict_raw(net, X[:10], keep_caches=True)
    assert_array_equal(net.layers[0]._x, X[:10])  # backward could follow


def test_one_layer_walker_and_no_trace_opens_nested_stacks():
    # metrics.layers_of walked the tree a second time beside layers.base.leaf_layers
    assert not hasattr(bprop.metrics, "layers_of")
    inner = Sequential(Linear(4, 3, rng=0), Tanh())
    net, loss = Sequential(inner, Linear(3, 2, rng=1)), SoftmaxNLL()
    objects = [net, inner, *leaf_layers(net), loss]
    before = [dict(vars(obj)) for obj in objects]
    with no_trace(net, loss):
        loss.forward(net.forward(X[:5]), Y[:5])
        assert inner.layers[0]._x is not None
    assert all(vars(obj) == b for obj, b in zip(objects, before, strict=True))


def test_predict_raw_rejects_a_bad_chunk():
    with pytest.raises(ValueError, match="chunk must be a positive integer"):
        predict_raw(_parts()[0], X, chunk=0)


def test_trainer_and_estimator_predict_through_metrics(monkeypatch):
    calls = []

    def spy(model, X, chunk=4096, **kwargs):
        calls.append(len(X))
        return predict_raw(model, X, chunk, **kwargs)

    trainer = Trainer(*_parts(), engine="reference")
    monkeypatch.setattr(bprop.training.trainer, "predict_raw", spy)
    monkeypatch.setattr(bprop.metrics, "predict_raw", spy)
    out = trainer.predict_raw(X)
    result = trainer.evaluate(X, Y)
    assert calls == [150, 150]
    assert result == bprop.metrics.evaluate(trainer.model, trainer.loss, X, Y)
    assert_array_equal(out, predict_raw(trainer.model, X))
    assert not hasattr(trainer.model.layers[0], "_x") or trainer.model.layers[0]._x is None
    monkeypatch.setattr(bprop.estimators.base, "predict_raw", spy)
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0).fit(X, Y)
    calls.clear()
    clf.predict_proba(X[:7])
    assert calls == [7]
