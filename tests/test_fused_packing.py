"""The fused engine's flat buffers (bprop.fused.packing): copies in and out, never views."""

from __future__ import annotations

import numpy as np

from bprop import Parameter
from bprop.fused.packing import Layout


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(s), decay=len(s) == 2)
            for s in [(4, 3), (3,), (3, 2), (2,)]]


def test_layout_places_parameters_end_to_end_in_order():
    params = _params()
    layout = Layout(params)
    assert layout.offsets == [0, 12, 15, 21, 23] and layout.size == 23
    flat = layout.empty()
    layout.load(flat, [p.value for p in params])
    np.testing.assert_array_equal(flat, np.concatenate([p.value.ravel() for p in params]))
    for p in params:
        view = layout.view(flat, p)
        assert view.shape == p.value.shape and np.shares_memory(view, flat)
        assert not np.shares_memory(p.value, flat)  # the Parameter keeps its own array


def test_store_writes_into_the_same_arrays():
    params = _params()
    arrays = [p.value for p in params]
    layout = Layout(params)
    flat = layout.empty()
    flat[:] = np.arange(layout.size)
    layout.store(flat, arrays)
    for p, a in zip(params, arrays, strict=True):
        assert p.value is a
    np.testing.assert_array_equal(params[1].value, [12.0, 13.0, 14.0])
    np.testing.assert_array_equal(params[2].value, np.arange(15.0, 21.0).reshape(3, 2))


def test_float32_layout_stays_float32():
    p = Parameter(np.ones((2, 2), dtype=np.float32), "w")
    layout = Layout([p])
    assert layout.empty().dtype == np.float32
