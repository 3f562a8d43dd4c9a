"""Property-based tests: stability and invariants for any finite input."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bprop.layers import Sigmoid, Softmax, Tanh
from bprop.losses import SigmoidCrossEntropy, SoftmaxNLL

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
matrices = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 5)), elements=finite)


@settings(max_examples=60, deadline=None)
@given(matrices)
def test_softmax_nll_finite_and_gradient_rows_sum_to_zero(z):
    labels = np.arange(z.shape[0]) % z.shape[1]
    loss = SoftmaxNLL()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = loss.forward(z, labels)
        dz = loss.backward()
    assert np.isfinite(value) and value >= 0
    np.testing.assert_allclose(dz.sum(axis=1), 0.0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(matrices)
def test_activations_bounded_without_warnings(x):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = Sigmoid().forward(x)
        t = Tanh().forward(x)
        p = Softmax().forward(x)
        bce = SigmoidCrossEntropy().forward(x, (x > 0).astype(float))
    assert np.all((s >= 0) & (s <= 1)) and np.all(np.abs(t) <= 1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.isfinite(bce) and bce >= 0
