"""bprop.classic: the perceptron and ADALINE (delta rule) learning rules."""

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import cross_val_score

from bprop.classic import Adaline, Perceptron

X_BOOL = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
AND, OR, XOR = [0, 0, 0, 1], [0, 1, 1, 1], [0, 1, 1, 0]


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def test_binary_rule_updates_only_on_mistakes_by_lr_times_target():
    clf = Perceptron(lr=0.5, max_epochs=1, shuffle=False).fit([[1.0, 2.0], [3.0, -1.0]], [1, 0])
    # Sample 1: score 0 counts as a mistake -> w = 0.5 * (+1) * [1, 2], b = 0.5.
    # Sample 2: score 1.5 - 1.0 + 0.5 = 1.0 > 0 but the target is -1 -> w -= 0.5 * [3, -1].
    np.testing.assert_allclose(clf.coef_, [0.5 - 1.5, 1.0 + 0.5])
    assert clf.intercept_ == 0.0
    assert clf.errors_ == [2]


@pytest.mark.parametrize("target", [AND, OR], ids=["AND", "OR"])
def test_perceptron_converges_on_separable_functions(target):
    clf = Perceptron(random_state=0).fit(X_BOOL, target)
    assert clf.converged_ and clf.errors_[-1] == 0
    assert clf.score(X_BOOL, target) == 1.0


def test_single_layer_cannot_learn_xor():
    """No line separates XOR: neither rule gets all four points right."""
    clf = Perceptron(max_epochs=200, random_state=0).fit(X_BOOL, XOR)
    assert not clf.converged_
    assert min(clf.errors_) > 0  # it never has a clean epoch
    assert clf.score(X_BOOL, XOR) <= 0.75
    ada = Adaline(lr=0.1, epochs=500, batch=True).fit(X_BOOL, XOR)
    # The least-squares line for XOR is flat: every output is 0.
    np.testing.assert_allclose(ada.decision_function(X_BOOL), 0.0, atol=1e-6)
    assert ada.score(X_BOOL, XOR) <= 0.75


def test_multiclass_perceptron_on_iris(iris):
    X, y = iris
    clf = Perceptron(max_epochs=50, random_state=0).fit(X, y)
    assert clf.coef_.shape == (4, 3) and clf.intercept_.shape == (3,)
    assert clf.score(X, y) > 0.9
    assert set(clf.predict(X)) <= {0, 1, 2}


def test_multiclass_rule_raises_target_and_lowers_wrong_winner():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    clf = Perceptron(max_epochs=1, shuffle=False).fit(X, ["a", "b", "c"])
    # Sample 1: all scores 0, winner 0 ("a") is right -> no update.
    # Sample 2: winner 0 != 1 -> column 1 += x, column 0 -= x.
    # Sample 3: scores [-1, 1, 0] -> winner 1 != 2 -> column 2 += x, column 1 -= x.
    np.testing.assert_allclose(clf.coef_, [[0, -1, 1], [-1, 0, 1]])
    np.testing.assert_allclose(clf.intercept_, [-1, 0, 1])
    assert clf.errors_ == [2]


def test_string_labels_and_sklearn_compatibility(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    scores = cross_val_score(Perceptron(random_state=0), X, names, cv=3)
    assert scores.mean() > 0.8


def test_delta_rule_batch_mode_reaches_least_squares(iris):
    X, y = iris
    mask = y > 0  # versicolor vs virginica: not linearly separable
    X, t = X[mask], np.where(y[mask] == 2, 1.0, -1.0)
    ada = Adaline(lr=0.3, epochs=3000, batch=True).fit(X, y[mask])
    A = np.c_[X, np.ones(len(X))]
    w = np.linalg.lstsq(A, t, rcond=None)[0]
    np.testing.assert_allclose(ada.coef_, w[:-1], atol=1e-6)
    assert ada.intercept_ == pytest.approx(w[-1], abs=1e-6)
    assert ada.cost_[-1] <= ada.cost_[0]


def test_online_delta_rule_lowers_the_cost(iris):
    X, y = iris
    ada = Adaline(lr=0.01, epochs=20, random_state=0).fit(X[y < 2], y[y < 2])
    assert ada.cost_[-1] < ada.cost_[0]
    assert ada.score(X[y < 2], y[y < 2]) == 1.0


@pytest.mark.parametrize(
    "estimator,message",
    [
        (Perceptron(lr=0), "lr must be a finite number > 0, got 0"),
        (Perceptron(max_epochs=0), "max_epochs must be an integer >= 1, got 0"),
        (Adaline(lr=-1.0), "lr must be a finite number > 0, got -1.0"),
        (Adaline(epochs=0), "epochs must be an integer >= 1, got 0"),
    ],
)
def test_bad_hyperparameters_are_rejected_in_fit(estimator, message):
    with pytest.raises(ValueError, match=message):
        estimator.fit(X_BOOL, AND)


def test_adaline_rejects_more_than_two_classes(iris):
    with pytest.raises(ValueError, match="binary classifier; got 3 classes"):
        Adaline().fit(*iris)


def test_adaline_divergence_is_reported():
    with pytest.raises(FloatingPointError, match="lr=10.0 is too large"):
        with np.errstate(over="ignore", invalid="ignore"):
            Adaline(lr=10.0, epochs=300, batch=True).fit(X_BOOL * 10, OR)
