"""The README's estimator section runs as written."""

import re
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

README = Path(__file__).resolve().parents[1] / "README.md"


def test_estimator_examples_run():
    text = README.read_text()
    start = text.index("<!-- section: estimators -->")
    section = text[start : text.index("<!-- end section: estimators -->")]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 3
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for block in blocks:
            exec(compile(block, "README[estimators]", "exec"), namespace)
    assert namespace["pipe"].score(namespace["X_test"], namespace["y_test"]) > 0.95
    assert namespace["h1"].shape == (5, 128) and namespace["h2"].shape == (5, 32)
