"""MLPClassifier: targets, labels, probabilities, partial_fit and the errors scikit-learn raises."""

import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, load_iris, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning

from bprop.estimators import MLPClassifier

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_DIGITS, Y_DIGITS = load_digits(n_class=3, return_X_y=True)
X_DIGITS = X_DIGITS[:200] / 16
Y_DIGITS = Y_DIGITS[:200]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_learns_multiclass(solver):
    lr = 0.1 if solver == "sgd" else 0.01
    clf = MLPClassifier(
        hidden_layer_sizes=(30,),
        solver=solver,
        learning_rate_init=lr,
        max_iter=150,
        random_state=0,
    ).fit(X_DIGITS, Y_DIGITS)
    assert clf.score(X_DIGITS, Y_DIGITS) > 0.95
    assert clf.out_activation_ == "softmax"
    assert clf.n_outputs_ == 3 and clf.n_layers_ == 3


def test_string_labels_binary():
    y = np.where(Y_IRIS[:100] == 0, "setosa", "versicolor")
    clf = MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0)
    clf.fit(X_IRIS[:100], y)
    assert_array_equal(clf.classes_, ["setosa", "versicolor"])
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert set(clf.predict(X_IRIS[:100])) == {"setosa", "versicolor"}
    proba = clf.predict_proba(X_IRIS[:100])
    assert proba.shape == (100, 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_allclose(clf.predict_log_proba(X_IRIS[:5]), np.log(proba[:5]))


def test_multilabel():
    X, Y = make_multilabel_classification(n_samples=80, n_classes=4, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=300, random_state=0)
    clf.fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 4
    assert clf.predict(X).shape == Y.shape
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and ((proba >= 0) & (proba <= 1)).all()
    assert clf.score(X, Y) > 0.9


def test_single_class_predicts_it():
    clf = MLPClassifier(max_iter=5).fit(X_IRIS[:10], np.ones(10))
    assert_array_equal(clf.predict(X_IRIS[:3]), [1, 1, 1])


def test_partial_fit_needs_classes_first():
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier(solver="sgd").partial_fit(X_IRIS, Y_IRIS)


def test_partial_fit_classes_must_not_change():
    clf = MLPClassifier(solver="sgd").partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=re.escape("is not the same as on last call")):
        clf.partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2, 3])


def test_partial_fit_unseen_label():
    clf = MLPClassifier(solver="sgd").partial_fit(X_IRIS[:50], Y_IRIS[:50], classes=[0, 1, 2])
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X_IRIS, Y_IRIS + 1)


def test_partial_fit_one_epoch_per_call():
    clf = MLPClassifier(solver="sgd", learning_rate_init=0.1, random_state=0)
    for _ in range(30):
        clf.partial_fit(X_DIGITS, Y_DIGITS, classes=np.unique(Y_DIGITS))
    assert clf.n_iter_ == 1 and clf.t_ == 30 * len(Y_DIGITS)
    assert len(clf.loss_curve_) == 30 and clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.score(X_DIGITS, Y_DIGITS) > 0.95


def test_partial_fit_not_available_for_lbfgs():
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):
        MLPClassifier(solver="lbfgs").partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2])


def test_partial_fit_refuses_early_stopping():
    clf = MLPClassifier(early_stopping=True)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        clf.partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2])


def test_warm_start_needs_same_classes():
    clf = MLPClassifier(warm_start=True, max_iter=2).fit(X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same"):
        clf.fit(X_IRIS[:100], Y_IRIS[:100])


def test_warm_start_continues():
    clf = MLPClassifier(warm_start=True, max_iter=5, random_state=0).fit(X_IRIS, Y_IRIS)
    first = [c.copy() for c in clf.coefs_]
    clf.fit(X_IRIS, Y_IRIS)
    assert len(clf.loss_curve_) == 10 and clf.n_iter_ == 5 and clf.t_ == 10 * 150
    assert not np.allclose(first[0], clf.coefs_[0])


def test_wrong_number_of_features():
    clf = MLPClassifier(max_iter=2).fit(X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.predict(X_IRIS[:, :3])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_input(bad):
    X = X_IRIS.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        MLPClassifier().fit(X, Y_IRIS)


def test_continuous_target_is_refused():
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X_IRIS, X_IRIS[:, 0] + 0.5)


def test_early_stopping_attributes():
    clf = MLPClassifier(early_stopping=True, max_iter=40, random_state=0, n_iter_no_change=3)
    clf.fit(X_DIGITS, Y_DIGITS)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_early_stopping_needs_two_validation_samples():
    with pytest.raises(ValueError, match="The validation set is too small"):
        MLPClassifier(early_stopping=True).fit(X_IRIS[::15], Y_IRIS[::15])


def test_convergence_warning_text():
    with pytest.warns(ConvergenceWarning, match=re.escape("Maximum iterations (3) reached")):
        MLPClassifier(max_iter=3).fit(X_IRIS, Y_IRIS)


def test_verbose_prints_like_sklearn(capsys):
    MLPClassifier(max_iter=2, verbose=True).fit(X_IRIS, Y_IRIS)
    out = capsys.readouterr().out
    assert re.match(r"Iteration 1, loss = \d+\.\d{8}\nIteration 2, loss = ", out)


def test_tol_stops_training():
    clf = MLPClassifier(max_iter=500, tol=0.5, n_iter_no_change=2, random_state=0)
    clf.fit(X_IRIS, Y_IRIS)
    # the first epoch improves on inf; then 3 > n_iter_no_change epochs without a 0.5 gain
    assert clf.n_iter_ == 4


def test_sample_weight_zero_equals_dropping():
    w = np.ones(150)
    w[::3] = 0
    params = dict(solver="lbfgs", hidden_layer_sizes=(5,), random_state=0, max_iter=50)
    a = MLPClassifier(**params).fit(X_IRIS, Y_IRIS, sample_weight=w)
    b = MLPClassifier(**params).fit(X_IRIS[w > 0], Y_IRIS[w > 0])
    # rounding differs (weighted vs plain mean); probabilities below 1e-20 differ relatively
    assert_allclose(a.predict_proba(X_IRIS), b.predict_proba(X_IRIS), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(
    "sw, match",
    [
        (np.zeros(150), "at least one non-zero"),
        (-np.ones(150), "Negative values"),
        (np.ones(10), re.escape("sample_weight.shape == (10,), expected (150,)!")),
        (np.r_[np.nan, np.ones(149)], "Input sample_weight contains NaN"),
        (np.ones((150, 1)), "Sample weights must be 1D array or scalar"),
    ],
)
def test_bad_sample_weight(sw, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier().fit(X_IRIS, Y_IRIS, sample_weight=sw)


def test_reported_loss_sees_a_reassigned_weight():
    """The L2 term of loss_ reads p.value: an assigned p.value counts at once."""
    params = dict(solver="sgd", alpha=10.0, batch_size=150, max_iter=2, random_state=0)
    a = MLPClassifier(**params).fit(X_IRIS, Y_IRIS)
    b = MLPClassifier(**params).fit(X_IRIS, Y_IRIS)
    wa, wb = a.model_.parameters()[0], b.model_.parameters()[0]
    wa.value[...] = 3 * wa.value
    wb.value = 3 * wb.value
    a.partial_fit(X_IRIS, Y_IRIS)
    b.partial_fit(X_IRIS, Y_IRIS)
    assert a.loss_ == b.loss_
