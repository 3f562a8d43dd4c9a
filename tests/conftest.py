"""Shared fixtures: every random draw is seeded (``rng`` is numpy's generator with seed 0)."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
