"""Shared fixtures: every random draw is seeded, and the seed is in the test id."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
