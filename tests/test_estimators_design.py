"""The estimators' training logic in one home: the promises behind it, checked.

The constructor only stores its arguments (each under its own name, with
scikit-learn's defaults); callbacks never write the estimator's attributes;
the Trainer gets its shuffling generator when it is built; names go through
`bprop.registry`; the initial weights come from the RandomState alone; the
data checks (sample weights) are the Trainer's own; every public function is
documented.
"""

import importlib
import inspect
import pkgutil
import warnings

import numpy as np
import pytest
import sklearn.neural_network as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning

import bprop.estimators
from bprop import registry
from bprop.estimators import MLPClassifier, MLPRegressor
from bprop.estimators.network import build_network
from bprop.estimators.stochastic import SklearnShuffle
from bprop.layers import Linear, Sequential
from bprop.layers.activations import class_probabilities
from bprop.losses import SoftmaxNLL
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


def _public_functions():
    for info in pkgutil.iter_modules(bprop.estimators.__path__):
        module = importlib.import_module(f"bprop.estimators.{info.name}")
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield f"{info.name}.{name}", obj
            elif inspect.isclass(obj):
                yield f"{info.name}.{name}", obj
                for meth_name, meth in vars(obj).items():
                    # classmethods and available_if (partial_fit) wrap the function
                    meth = getattr(meth, "__func__", getattr(meth, "fn", meth))
                    if not meth_name.startswith("_") and inspect.isfunction(meth):
                        yield f"{info.name}.{name}.{meth_name}", meth


@pytest.mark.parametrize("name, func", list(_public_functions()))
def test_public_functions_have_numpydoc_sections(name, func):
    doc = inspect.getdoc(func) or ""
    if inspect.isclass(func):  # the constructor's arguments, or a dataclass's fields
        if not issubclass(func, Exception) and list(inspect.signature(func).parameters):
            assert "Parameters\n----------" in doc or "Attributes\n----------" in doc, name
        return
    sig = inspect.signature(func)
    args = [p for p in sig.parameters if p not in ("self", "cls")]
    if args:
        assert "Parameters\n----------" in doc, name
    returns = sig.return_annotation
    if returns not in (None, "None", inspect.Signature.empty):
        assert "Returns\n-------" in doc or "Yields\n------" in doc, name
