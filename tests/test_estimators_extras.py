"""What bprop's estimators add to scikit-learn's: class_weight, dropout, layers=, callbacks,
restore_best_weights, validation_loss_curve_, model_ and hidden_activations."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_sample_weight

from bprop.estimators import MLPClassifier, MLPRegressor
from bprop.layers import Dropout, Linear, ReLU, Sequential, Tanh
from bprop.layers.activations import softmax
from bprop.training.callbacks import Callback, EarlyStopping

X, Y = load_digits(n_class=4, return_X_y=True)
X = X[:240] / 16
Y = Y[:240]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


class Recorder(Callback):
    """Keeps the epoch logs and a copy of the weights after every epoch."""

    def __init__(self):
        self.logs, self.weights = [], []

    def on_epoch_end(self, trainer, epoch, logs):
        self.logs.append(dict(logs))
        self.weights.append([p.value.copy() for p in trainer.model.parameters()])


def test_class_weight_dict_favours_a_class():
    Xb, yb = make_blobs(centers=2, cluster_std=20, random_state=0)
    clf = MLPClassifier(class_weight={0: 1000, 1: 1e-4}, max_iter=300, random_state=0)
    assert np.mean(clf.fit(Xb, yb).predict(Xb) == 0) > 0.9


def test_class_weight_balanced_is_sample_weight():
    y = np.r_[Y[Y != 3], Y[Y == 3][:10]]
    x = np.r_[X[Y != 3], X[Y == 3][:10]]
    params = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    a = MLPClassifier(class_weight="balanced", **params).fit(x, y)
    b = MLPClassifier(**params).fit(x, y, sample_weight=compute_sample_weight("balanced", y))
    assert_allclose(a.coefs_[0], b.coefs_[0])


def test_class_weight_balanced_refused_by_partial_fit():
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, Y, classes=np.unique(Y))


def test_dropout_layers_and_deterministic_prediction():
    clf = MLPClassifier(
        hidden_layer_sizes=(32, 16),
        dropout=[0.2, 0.1],
        max_iter=30,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X, Y)
    rates = [layer.p for layer in clf.model_.layers if isinstance(layer, Dropout)]
    assert rates == [0.2, 0.1]
    assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))
    assert clf.score(X, Y) > 0.9
    again = MLPClassifier(
        hidden_layer_sizes=(32, 16),
        dropout=[0.2, 0.1],
        max_iter=30,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X, Y)
    assert_allclose(again.coefs_[0], clf.coefs_[0])


def test_dropout_zero_is_sklearns_network():
    a = MLPClassifier(max_iter=3, random_state=0, dropout=0.0).fit(X, Y)
    assert not any(isinstance(layer, Dropout) for layer in a.model_.layers)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(dropout=[0.1, 0.2]), "dropout has 2 rates but there are 1 hidden layers"),
        (dict(dropout=1.0), "The 'dropout' parameter"),
        (dict(dropout=0.5, solver="lbfgs"), "Dropout needs a stochastic solver"),
    ],
)
def test_dropout_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**kwargs).fit(X, Y)


def test_layers_from_config_style_list():
    spec = [
        {"type": "Linear", "out": 24},
        "Tanh",
        {"type": "Dropout", "p": 0.1},
        {"type": "Linear", "out": 12},
        "ReLU",
    ]
    clf = MLPClassifier(layers=spec, max_iter=60, learning_rate_init=0.01, random_state=0)
    clf.fit(X, Y)
    assert [type(layer).__name__ for layer in clf.model_.layers] == [
        "Linear",
        "Tanh",
        "Dropout",
        "Linear",
        "ReLU",
        "Linear",
    ]
    assert [c.shape for c in clf.coefs_] == [(64, 24), (24, 12), (12, 4)]
    assert clf.n_layers_ == 4
    assert clf.score(X, Y) > 0.9


def test_layers_from_bprop_objects_are_not_modified():
    first = Linear(64, 16, rng=0)
    before = first.weight.value.copy()
    reg = MLPRegressor(layers=[first, ReLU()], max_iter=5, random_state=0)
    reg.fit(X, Y.astype(float))
    assert_array_equal(first.weight.value, before)
    assert reg.model_.layers[0] is not first


@pytest.mark.parametrize(
    "spec, match",
    [
        (["Relu"], "did you mean 'ReLU'"),
        ([Linear(10, 5)], "Linear expects 10 inputs but receives 64"),
        ([{"type": "Linear"}], r"layers\[0\]\.out: required key missing"),
        ([{"type": "Dropout", "p": 2}], r"layers\[0\]\.p: p must be a number in \[0, 1\)"),
        (["ReLU", 3], r"layers\[1\]: must be a layer name or a mapping"),
    ],
)
def test_layers_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier(layers=spec).fit(X, Y)


def test_callbacks_see_sklearn_loss_and_can_stop():
    rec = Recorder()
    clf = MLPClassifier(
        max_iter=50,
        early_stopping=True,
        random_state=0,
        callbacks=[rec, EarlyStopping(monitor="loss", patience=1, min_delta=10.0)],
    ).fit(X, Y)
    assert clf.n_iter_ == 2
    assert [log["loss"] for log in rec.logs] == clf.loss_curve_
    assert [log["val_score"] for log in rec.logs] == clf.validation_scores_
    assert [log["val_loss"] for log in rec.logs] == clf.validation_loss_curve_


def test_validation_loss_curve():
    clf = MLPClassifier(max_iter=20, early_stopping=True, random_state=0).fit(X, Y)
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.validation_loss_curve_[-1] < clf.validation_loss_curve_[0]
    assert MLPClassifier(max_iter=2).fit(X, Y).validation_loss_curve_ is None


def test_restore_best_weights_without_early_stopping():
    rec = Recorder()
    clf = MLPClassifier(
        learning_rate_init=0.3,
        solver="sgd",
        max_iter=15,
        random_state=0,
        restore_best_weights=True,
        callbacks=[rec],
    ).fit(X, Y)
    best = int(np.argmin(clf.loss_curve_))
    assert_array_equal(clf.coefs_[0], rec.weights[best][0])


def test_restore_best_weights_false_keeps_last_epoch():
    rec = Recorder()
    clf = MLPClassifier(
        max_iter=15,
        early_stopping=True,
        restore_best_weights=False,
        random_state=0,
        callbacks=[rec],
    ).fit(X, Y)
    assert_array_equal(clf.coefs_[0], rec.weights[-1][0])


def test_model_is_left_in_eval_mode_and_saves(tmp_path):
    import bprop

    clf = MLPClassifier(hidden_layer_sizes=(16,), dropout=0.5, max_iter=3).fit(X, Y)
    assert_allclose(softmax(clf.model_.forward(X)), clf.predict_proba(X))
    bprop.save(clf.model_, tmp_path / "model.npz")
    loaded = bprop.load(tmp_path / "model.npz").eval()
    assert_allclose(loaded.forward(X), clf.model_.forward(X))


def test_model_and_hidden_activations():
    clf = MLPClassifier(hidden_layer_sizes=(10, 6), max_iter=10, random_state=0).fit(X, Y)
    assert isinstance(clf.model_, Sequential)
    assert_allclose(softmax(clf.model_.forward(X)), clf.predict_proba(X))
    h1, h2 = clf.hidden_activations(X[:7])
    assert h1.shape == (7, 10) and h2.shape == (7, 6) and (h1 >= 0).all()
    assert_allclose(h1, np.maximum(X[:7] @ clf.coefs_[0] + clf.intercepts_[0], 0))


def test_coefs_are_the_networks_arrays():
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, Y)
    clf.coefs_ = [np.zeros_like(c) for c in clf.coefs_]
    clf.intercepts_[-1][:] = [0, 0, 5, 0]
    assert_array_equal(clf.predict(X), 2)


def test_custom_layer_class_by_object():
    class Square(Tanh):
        def forward(self, x):
            self._x = x
            return x * x

        def backward(self, dy):
            return 2 * self._x * dy

    reg = MLPRegressor(layers=[{"type": "Linear", "out": 4}, Square()], max_iter=3)
    reg.fit(X, Y.astype(float))
    assert type(reg.model_.layers[1]).__name__ == "Square"
