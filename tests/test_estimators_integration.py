"""The estimators inside scikit-learn's machinery: Pipeline, GridSearchCV,
cross_val_score, clone, pickle, sparse input."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bprop.estimators import MLPClassifier, MLPRegressor

X, Y = load_iris(return_X_y=True)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def test_pipeline_and_cross_val_score():
    pipe = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0),
    )
    scores = cross_val_score(pipe, X, Y, cv=3)
    assert scores.mean() > 0.9


def test_grid_search():
    grid = GridSearchCV(
        MLPClassifier(solver="lbfgs", random_state=0, max_iter=100),
        {"hidden_layer_sizes": [(2,), (10,)], "alpha": [1e-4, 1.0]},
        cv=3,
    ).fit(X, Y)
    assert grid.best_score_ > 0.9
    assert set(grid.best_params_) == {"hidden_layer_sizes", "alpha"}


def test_clone_keeps_extras_unfitted():
    clf = MLPClassifier(dropout=0.1, layers=["ReLU"], class_weight="balanced")
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "model_")


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("copy", [lambda c: pickle.loads(pickle.dumps(c)), copy.deepcopy])
def test_pickle_round_trip_and_resume(solver, copy):
    clf = MLPClassifier(solver=solver, max_iter=20, random_state=0).fit(X, Y)
    clf.predict(X)
    restored = copy(clf)
    assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    if solver != "lbfgs":  # the copy trains on exactly as the original does
        restored.partial_fit(X, Y)
        clf.partial_fit(X, Y)
        assert len(restored.loss_curve_) == 21
        assert restored.loss_ == clf.loss_
        for a, b in zip(restored.coefs_, clf.coefs_, strict=True):
            assert_array_equal(a, b)


def test_prediction_leaves_no_caches():
    """Predicting on a big X must not leave its activations in the layers (or pickles)."""
    clf = MLPClassifier(hidden_layer_sizes=(50,), max_iter=2, random_state=0).fit(X, Y)
    size = len(pickle.dumps(clf))
    clf.predict(np.tile(X, (20, 1)))
    assert len(pickle.dumps(clf)) == size


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_equals_dense(fmt):
    Xs = sp.random(60, 12, density=0.3, format=fmt, random_state=0)
    y = np.arange(60) % 3
    a = MLPClassifier(max_iter=5, random_state=0).fit(Xs, y)
    b = MLPClassifier(max_iter=5, random_state=0).fit(Xs.toarray(), y)
    assert_allclose(a.predict_proba(Xs), b.predict_proba(Xs.toarray()))


def test_float32_classifier():
    clf = MLPClassifier(max_iter=5).fit(X.astype(np.float32), Y)
    assert all(c.dtype == np.float32 for c in clf.coefs_)
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_regressor_in_pipeline():
    pipe = make_pipeline(
        StandardScaler(), MLPRegressor(solver="lbfgs", hidden_layer_sizes=(8,), random_state=0)
    )
    cv = KFold(3, shuffle=True, random_state=0)
    assert cross_val_score(pipe, X[:, :3], X[:, 3], cv=cv).mean() > 0.8
