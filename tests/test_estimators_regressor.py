"""MLPRegressor: single and multiple outputs, the Poisson loss, partial_fit, divergence."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_diabetes, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import PoissonRegressor
from sklearn.preprocessing import scale

from bprop.estimators import MLPRegressor
from bprop.gradcheck import numerical_gradient
from bprop.losses.poisson import PoissonDeviance

X_REG, Y_REG = make_regression(n_samples=200, n_features=8, noise=5, random_state=0)
Y_REG = scale(Y_REG)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_learns(solver):
    reg = MLPRegressor(
        hidden_layer_sizes=(20,),
        solver=solver,
        learning_rate_init=0.01,
        max_iter=300,
        random_state=0,
    ).fit(X_REG, Y_REG)
    assert reg.score(X_REG, Y_REG) > 0.95
    assert reg.predict(X_REG).shape == (200,)
    assert reg.out_activation_ == "identity" and reg.n_outputs_ == 1


def test_multi_output():
    X, Y = make_regression(n_samples=200, n_features=5, n_targets=3, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (200, 3) and reg.n_outputs_ == 3
    assert reg.score(X, Y) > 0.95


def test_column_y_warns_and_predicts_1d():
    with pytest.warns(Warning, match="column-vector y was passed"):
        reg = MLPRegressor(max_iter=2).fit(X_REG, Y_REG[:, None])
    assert reg.predict(X_REG).shape == (200,)


def test_poisson_loss_gradient():
    rng = np.random.default_rng(0)
    z, t, w = rng.normal(size=(6, 2)), rng.poisson(2.0, size=(6, 2)), rng.random(6)
    loss = PoissonDeviance()
    loss.forward(z, t, w)
    expected = numerical_gradient(lambda a: loss.forward(a, t, w), z.copy())
    assert_allclose(loss.backward(), expected, rtol=1e-6, atol=1e-9)


def test_poisson_matches_glm():
    """No hidden nonlinearity + exp output = Poisson GLM (scikit-learn's own test)."""
    rng = np.random.default_rng(0)
    X = np.linspace(0, 1, 100).reshape(-1, 1)
    y = rng.poisson(np.exp(X.ravel() + 1))
    glm = PoissonRegressor(alpha=0, tol=1e-7).fit(X, y)
    mlp = MLPRegressor(
        loss="poisson",
        hidden_layer_sizes=(1,),
        activation="identity",
        alpha=0,
        solver="lbfgs",
        tol=1e-7,
        random_state=1,
    ).fit(X, y)
    assert mlp.out_activation_ == "exp"
    assert_allclose(mlp.predict(X), glm.predict(X), rtol=1e-4)


def test_poisson_refuses_negative_targets():
    with pytest.raises(ValueError, match="Some value\\(s\\) of y are negative"):
        MLPRegressor(loss="poisson").fit(X_REG, Y_REG)


def test_partial_fit_learns():
    X, y = load_diabetes(return_X_y=True)
    y = scale(y)
    reg = MLPRegressor(solver="sgd", learning_rate_init=0.01, random_state=0)
    for _ in range(50):
        reg.partial_fit(X, y)
    assert reg.n_iter_ == 1 and len(reg.loss_curve_) == 50
    assert reg.loss_curve_[-1] < reg.loss_curve_[0]


def test_partial_fit_after_fit_keeps_going():
    reg = MLPRegressor(max_iter=5, random_state=0).fit(X_REG, Y_REG)
    reg.partial_fit(X_REG, Y_REG)
    assert len(reg.loss_curve_) == 6 and reg.t_ == 6 * 200


def test_huge_inputs_raise_sklearns_error():
    X = np.finfo(np.float64).max * np.random.RandomState(0).uniform(size=(10, 2))
    y = np.random.RandomState(0).standard_normal(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
            MLPRegressor().fit(X, y)


def test_divergence_with_early_stopping_keeps_best_weights():
    """scikit-learn's non-regression test #29504: a diverging fit does not raise."""
    X, y = load_diabetes(return_X_y=True)
    reg = MLPRegressor(
        activation="identity",
        solver="sgd",
        learning_rate_init=1,
        max_iter=20,
        early_stopping=True,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reg.fit(X, y)
    assert np.isnan(reg.validation_scores_[-1])
    assert all(np.isfinite(c).all() for c in reg.coefs_)


def test_float32_stays_float32():
    X32, y32 = X_REG.astype(np.float32), Y_REG.astype(np.float32)
    reg = MLPRegressor(max_iter=5).fit(X32, y32)
    assert all(c.dtype == np.float32 for c in reg.coefs_ + reg.intercepts_)
    assert reg.predict(X32).dtype == np.float32
    reg64 = MLPRegressor(max_iter=5).fit(X_REG.astype(np.int64), Y_REG)
    assert reg64.coefs_[0].dtype == np.float64
