"""bprop.fused.blas: each BLAS call against its numpy formula, through ctypes and through numpy."""

from __future__ import annotations

import numpy as np
import pytest

from bprop.fused import blas
from bprop.fused.blas import mat


@pytest.fixture(params=["ctypes", "numpy"])
def path(request, monkeypatch):
    if request.param == "ctypes":
        if not blas.available:
            pytest.skip("numpy's bundled OpenBLAS not found (or BPROP_NUMPY_BLAS=0)")
    else:
        monkeypatch.setattr(blas, "available", False)
    before = blas.calls
    yield request.param
    # the path the test names is the path that ran
    assert (blas.calls > before) == (request.param == "ctypes")


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-13)])
@pytest.mark.parametrize("ta, tb", [(False, False), (True, False), (False, True)])
def test_gemm_with_alpha_beta_and_strided_operands(path, dtype, rtol, ta, tb, rng):
    A = rng.standard_normal((7, 5) if not ta else (5, 7)).astype(dtype)
    B = rng.standard_normal((5, 4) if not tb else (4, 5)).astype(dtype)
    wide = rng.standard_normal((7, 9)).astype(dtype)
    C = wide[:, 2:6]  # a strided view: leading dimension 9
    want = 0.5 * ((A.T if ta else A) @ (B.T if tb else B)) + 0.9 * C
    blas.gemm(0.5, mat(A), ta, mat(B), tb, 0.9, mat(C))
    np.testing.assert_allclose(C, want, rtol=rtol, atol=rtol)


def test_gemm_rows_prefix_for_a_ragged_batch(path, rng):
    A, B = rng.standard_normal((8, 3)), rng.standard_normal((3, 2))
    C = np.full((8, 2), 7.0)
    blas.gemm(2.0, mat(A).rows(5), False, mat(B), False, 0.0, mat(C).rows(5))
    np.testing.assert_allclose(C[:5], 2 * A[:5] @ B, rtol=1e-13)
    np.testing.assert_array_equal(C[5:], 7.0)  # the rows after the batch are untouched


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vector_updates(path, dtype, rng):
    x = rng.standard_normal(50).astype(dtype)
    y = rng.standard_normal(50).astype(dtype)
    A = rng.standard_normal((6, 50)).astype(dtype)
    want = y.copy()
    want += 0.25 * x
    blas.axpy(0.25, mat(x), mat(y))
    want = -1.5 * x + 0.5 * want
    blas.axpby(-1.5, mat(x), 0.5, mat(y))
    want *= 3.0
    blas.scal(3.0, mat(y))
    want = 2.0 * A.sum(axis=0) + 0.9 * want
    blas.colsum(2.0, mat(A), mat(np.ones(6, dtype=dtype)), 0.9, mat(y))
    tol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(y, want, rtol=tol, atol=tol)


def test_escape_hatch_turns_the_ctypes_path_off(monkeypatch):
    monkeypatch.setenv("BPROP_NUMPY_BLAS", "0")
    assert blas._load() is False


def test_mat_rejects_what_blas_cannot_read():
    with pytest.raises(ValueError, match="unit inner stride"):
        mat(np.zeros((3, 4))[:, ::2])
    with pytest.raises(ValueError, match="float32/float64"):
        mat(np.zeros((3, 4), dtype=np.int64))
