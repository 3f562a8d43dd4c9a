"""The README's estimator section runs as written."""

import warnings

from readme_blocks import python_blocks, run_blocks
from sklearn.exceptions import ConvergenceWarning


def test_estimator_examples_run():
    assert len(python_blocks("estimators")) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        namespace = run_blocks("estimators")
    assert namespace["pipe"].score(namespace["X_test"], namespace["y_test"]) > 0.95
    assert namespace["h1"].shape == (5, 128) and namespace["h2"].shape == (5, 32)
