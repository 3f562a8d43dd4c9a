"""Same parameters, same model: bprop's estimators against scikit-learn's, number for number.

bprop draws the initial weights, the validation split and the epoch shuffles
from the RandomState as scikit-learn does, and applies the same rules (L2
scaling, momentum, schedules, stopping), so the two must agree to rounding
error after training.
"""

import re
import warnings

import numpy as np
import pytest
import sklearn.neural_network as sk
from numpy.testing import assert_allclose
from sklearn.datasets import load_iris, make_multilabel_classification, make_regression

from bprop.estimators import InvalidParameterError, MLPClassifier, MLPRegressor

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_ML, Y_ML = make_multilabel_classification(n_samples=80, n_classes=4, random_state=0)
X_REG, Y_REG = make_regression(n_samples=120, n_features=5, n_targets=2, random_state=0)
Y_REG = Y_REG / 100
SW = np.random.RandomState(0).uniform(0.1, 2.0, size=150)
BASE = dict(random_state=0, shuffle=False, max_iter=15, hidden_layer_sizes=(7, 5))

CASES = {
    "sgd-nesterov": ("clf", dict(solver="sgd", learning_rate_init=0.05, batch_size=32)),
    "sgd-weighted": ("clf-sw", dict(solver="sgd", learning_rate_init=0.05, batch_size=32)),
    "sgd-classical-invscaling": (
        "clf",
        dict(
            solver="sgd",
            nesterovs_momentum=False,
            learning_rate="invscaling",
            learning_rate_init=0.5,
            batch_size=40,
        ),
    ),
    "sgd-adaptive": (
        "clf",
        dict(solver="sgd", learning_rate="adaptive", n_iter_no_change=2, tol=0.5),
    ),
    "sgd-early-stopping": ("clf", dict(solver="sgd", early_stopping=True, learning_rate_init=0.05)),
    "adam-alpha": ("clf", dict(solver="adam", alpha=0.1, batch_size=16)),
    "sgd-shuffled": ("clf", dict(solver="sgd", shuffle=True, batch_size=20)),
    "adam-shuffled-early-stopping": (
        "reg1",
        dict(solver="adam", shuffle=True, batch_size=20, early_stopping=True),
    ),
    "adam-binary-logistic": ("bin", dict(solver="adam", activation="logistic")),
    "adam-multilabel-tanh": ("multilabel", dict(solver="adam", activation="tanh")),
    "sgd-regression-multioutput": ("reg", dict(solver="sgd", batch_size=50)),
    "adam-regression-weighted": ("reg1-sw", dict(solver="adam", batch_size=50)),
    "adam-regression-early-stopping": ("reg1", dict(solver="adam", early_stopping=True)),
    "adam-poisson": ("poisson", dict(solver="adam", loss="poisson", activation="identity")),
    "lbfgs-classifier": ("clf", dict(solver="lbfgs")),
    "lbfgs-regressor": ("reg1", dict(solver="lbfgs")),
}


def _data(kind):
    if kind.startswith("clf"):
        return MLPClassifier, sk.MLPClassifier, X_IRIS, Y_IRIS
    if kind == "bin":
        return MLPClassifier, sk.MLPClassifier, X_IRIS, Y_IRIS == 1
    if kind == "multilabel":
        return MLPClassifier, sk.MLPClassifier, X_ML, Y_ML
    if kind == "reg":
        return MLPRegressor, sk.MLPRegressor, X_REG, Y_REG
    if kind == "poisson":
        return MLPRegressor, sk.MLPRegressor, X_REG, np.abs(Y_REG[:, 0]) * 3
    return MLPRegressor, sk.MLPRegressor, X_REG, Y_REG[:, 0]


@pytest.mark.parametrize("case", list(CASES))
def test_same_model_as_sklearn(case):
    kind, params = CASES[case]
    ours, theirs, X, y = _data(kind)
    fit_kw = {"sample_weight": SW[: len(y)]} if kind.endswith("-sw") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ours(**{**BASE, **params}).fit(X, y, **fit_kw)
        b = theirs(**{**BASE, **params}).fit(X, y, **fit_kw)
    assert a.n_iter_ == b.n_iter_
    for mine, ref in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert mine.shape == ref.shape
        assert_allclose(mine, ref, rtol=1e-9, atol=1e-10)
    assert_allclose(a.loss_, b.loss_, rtol=1e-9)
    if params["solver"] != "lbfgs":
        assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-9)
        assert a.t_ == b.t_
    if params.get("early_stopping"):
        assert_allclose(a.validation_scores_, b.validation_scores_)
        assert a.best_validation_score_ == b.best_validation_score_
    assert_allclose(a.predict(X), b.predict(X), rtol=1e-9, atol=1e-12)


def test_partial_fit_same_as_sklearn():
    a = MLPClassifier(solver="sgd", random_state=0, batch_size=25)
    b = sk.MLPClassifier(solver="sgd", random_state=0, batch_size=25)
    for start in (0, 50, 100, 0):
        part = slice(start, start + 50)
        a.partial_fit(X_IRIS[part], Y_IRIS[part], classes=[0, 1, 2])
        b.partial_fit(X_IRIS[part], Y_IRIS[part], classes=[0, 1, 2])
    assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-9, atol=1e-12)
    assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-9)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_fitted_attributes_like_sklearn(Est, solver):
    theirs = getattr(sk, Est.__name__)
    X, y = X_IRIS[:60], Y_IRIS[:60]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = Est(solver=solver, max_iter=3, random_state=0).fit(X, y)
        b = theirs(solver=solver, max_iter=3, random_state=0).fit(X, y)
    names = [n for n in dir(b) if n.endswith("_") and not n.startswith("_") and hasattr(b, n)]
    for name in names:
        mine, ref = getattr(a, name), getattr(b, name)
        if isinstance(ref, list):
            assert isinstance(mine, list) and len(mine) == len(ref), name
        elif isinstance(ref, np.ndarray):
            assert mine.shape == ref.shape and mine.dtype == ref.dtype, name
        elif ref is None or isinstance(ref, str):
            assert mine == ref, name
        else:
            assert isinstance(mine, (int, float, np.number)), name
    for name in ("coefs_", "intercepts_"):
        assert [c.shape for c in getattr(a, name)] == [c.shape for c in getattr(b, name)]


def _normalize(message):
    """scikit-learn prints option sets in hash order; compare them sorted."""
    return re.sub(
        r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", message
    )


BAD_PARAMS = dict(
    hidden_layer_sizes=-1,
    activation="x",
    solver="x",
    alpha=-1,
    batch_size=0,
    learning_rate="x",
    learning_rate_init=0,
    power_t=-1,
    max_iter=0,
    shuffle="x",
    random_state="x",
    tol=-1,
    verbose="x",
    warm_start="x",
    nesterovs_momentum="x",
    early_stopping="x",
    validation_fraction=1,
    beta_1=1,
    beta_2=1,
    epsilon=0,
    n_iter_no_change=0,
    max_fun=0,
)


@pytest.mark.parametrize("name", list(BAD_PARAMS))
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_parameter_errors_match_sklearn(Est, name):
    theirs = getattr(sk, Est.__name__)
    X, y = X_IRIS[:20], Y_IRIS[:20]
    with pytest.raises(ValueError) as ref:
        theirs(**{name: BAD_PARAMS[name]}).fit(X, y)
    with pytest.raises(InvalidParameterError) as mine:
        Est(**{name: BAD_PARAMS[name]}).fit(X, y)
    assert isinstance(mine.value, TypeError)  # like scikit-learn's InvalidParameterError
    assert _normalize(str(mine.value)) == _normalize(str(ref.value))


@pytest.mark.parametrize("sizes", [(0,), (3, -1)])
def test_hidden_layer_sizes_error(sizes):
    msg = re.escape(f"hidden_layer_sizes must be > 0, got {list(sizes)}.")
    with pytest.raises(ValueError, match=msg):
        MLPClassifier(hidden_layer_sizes=sizes).fit(X_IRIS, Y_IRIS)


def test_regressor_loss_error():
    msg = "The 'loss' parameter of MLPRegressor must be a str among"
    with pytest.raises(ValueError, match=msg):
        MLPRegressor(loss="absolute_error").fit(X_REG, Y_REG)


def test_momentum_one_is_refused():
    """scikit-learn accepts momentum=1.0 (a velocity that never decays); bprop's SGD does not."""
    with pytest.raises(ValueError, match=re.escape("must be a float in the range [0.0, 1.0)")):
        MLPClassifier(solver="sgd", momentum=1.0).fit(X_IRIS, Y_IRIS)
