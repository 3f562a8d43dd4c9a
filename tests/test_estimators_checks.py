"""scikit-learn's own estimator checks, run on both estimators with their defaults."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from bprop.estimators import MLPClassifier, MLPRegressor


@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_sklearn_compatible(estimator, check):
    check(estimator)
