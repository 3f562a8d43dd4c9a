"""scikit-learn's own estimator checks, run on both estimators with their defaults."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from bprop.estimators import MLPClassifier, MLPRegressor


# the checks fit with the defaults (max_iter=200) on data that needs more epochs
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_sklearn_compatible(estimator, check):
    check(estimator)
