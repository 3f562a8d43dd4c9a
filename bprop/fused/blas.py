"""BLAS through numpy's own OpenBLAS, reached with ctypes: the fused engine's kernels.

Reproduces nothing by itself: these are the primitives (``gemm``, ``gemv``,
``axpy``, ``axpby``, ``scal``) that `bprop.fused.engine` builds a training
step from. ``tests/test_fused_blas.py`` checks each against its numpy formula,
and asserts that the ctypes path (not the fallback) ran where it says so.

Why ctypes, and why numpy's library: BLAS lets one call do what numpy needs
several passes over memory for: ``C = alpha*A@B + beta*C`` folds the momentum
(``v = mu*v + x.T @ dy``) or a whole plain SGD step into the product that
computes the gradient; ``axpy`` (``y += a*x``) updates a packed parameter
vector in place, on the BLAS threads already awake from the products. numpy
exposes none of these with ``beta`` or in place. ``scipy.linalg.blas`` does,
but scipy ships its *own* OpenBLAS with its own thread pool: alternating
numpy's products with scipy's calls leaves both pools' idle threads spinning
for the same cores (on a 2-core machine a step became 10-20x slower). So this
module calls the library numpy itself loaded, found next to numpy.

When that library is not there (another BLAS, another platform), fails its
self-test on import, or ``BPROP_NUMPY_BLAS=0`` is set, `available` is False
and every function here computes the same formula with numpy (same results
up to rounding). Arrays are 2-D (or 1-D) float32/float64 with unit stride in
their last dimension; `Mat` carries an array with its address and leading
dimension, computed once.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

_FUNCS: dict[tuple[str, np.dtype], Any] = {}
#: the library's ``openblas_get_num_threads`` / ``openblas_set_num_threads`` ("get", "set")
_THREADS: dict[str, Any] = {}
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

#: how many ctypes BLAS calls ran (tests assert that the BLAS path really ran)
calls = 0


class Mat(NamedTuple):
    """An array with what a BLAS call needs: its address and leading dimension."""

    arr: np.ndarray
    addr: int
    ld: int

    def rows(self, m: int) -> Mat:
        """The first ``m`` rows (same address and leading dimension)."""
        return Mat(self.arr[:m], self.addr, self.ld)


def mat(a: np.ndarray) -> Mat:
    """Wrap ``a`` (2-D with unit inner stride, or 1-D contiguous) for the functions below."""
    if a.dtype not in (np.float32, np.float64) or a.strides[-1] != a.itemsize:
        raise ValueError(f"BLAS needs float32/float64 with unit inner stride, got {a.dtype}")
    ld = a.strides[0] // a.itemsize if a.ndim == 2 else 1
    return Mat(a, a.ctypes.data, ld)


def _library_paths() -> list[Path]:
    """The OpenBLAS bundled with numpy's wheels: numpy.libs/ (Linux, Windows), .dylibs/ (macOS)."""
    root = Path(np.__file__).resolve().parent
    found: list[Path] = []
    for folder in (root.parent / "numpy.libs", root / ".dylibs"):
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir() if "openblas" in p.name.lower())
    return found


def _bind(lib: ctypes.CDLL) -> bool:
    """Find the CBLAS functions under the names numpy's OpenBLAS builds use."""
    for prefix, suffix, int_t in (
        ("scipy_cblas_", "64_", ctypes.c_int64),  # scipy-openblas64 (numpy >= 2 wheels)
        ("scipy_cblas_", "", ctypes.c_int32),  # scipy-openblas32
        ("cblas_", "64_", ctypes.c_int64),
    ):
        funcs = {}
        ptr, enum = ctypes.c_void_p, ctypes.c_int
        for dtype, char, real in (
            (np.dtype(np.float32), "s", ctypes.c_float),
            (np.dtype(np.float64), "d", ctypes.c_double),
        ):
            signatures = {
                "axpy": [int_t, real, ptr, int_t, ptr, int_t],
                "axpby": [int_t, real, ptr, int_t, real, ptr, int_t],
                "scal": [int_t, real, ptr, int_t],
                "gemm": [enum, enum, enum, int_t, int_t, int_t, real, ptr, int_t, ptr, int_t,
                         real, ptr, int_t],
                "gemv": [enum, enum, int_t, int_t, real, ptr, int_t, ptr, int_t, real, ptr,
                         int_t],
            }
            for name, argtypes in signatures.items():
                func = getattr(lib, f"{prefix}{char}{name}{suffix}", None)
                if func is None:
                    break
                func.argtypes, func.restype = argtypes, None
                funcs[name, dtype] = func
        if len(funcs) == 10:
            _FUNCS.update(funcs)
            return True
    return False


def _bind_threads(lib: ctypes.CDLL) -> None:
    """Find the library's thread-count getter and setter, under its builds' names."""
    for get, put in (
        ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
        ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
        ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
        ("openblas_get_num_threads", "openblas_set_num_threads"),
    ):
        getter, setter = getattr(lib, get, None), getattr(lib, put, None)
        if getter is not None and setter is not None:
            getter.argtypes, getter.restype = [], ctypes.c_int
            setter.argtypes, setter.restype = [ctypes.c_int], None
            _THREADS.update(get=getter, set=setter)
            return


_one_thread_lock = threading.Lock()
_one_thread_depth = 0
_one_thread_saved = 1


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the enclosed BLAS calls on one thread; the library's thread count is restored after.

    Why: OpenBLAS splits an ``axpy`` of more than about 10,000 values over
    its threads. On a loop of a few hundred such calls on cache-sized blocks
    (`bprop.fused.sparse`), waking and joining the threads at every call
    costs more than the arithmetic, and much more on a busy machine, where a
    woken thread waits for a core: with a busy process beside it, the
    sparse benchmark's fit took 14 s on the default threads against 1.1 s
    on one (1.3 s on the default threads with this). Element-wise work is
    memory-bound; one thread loses nothing.

    The count is process-wide (OpenBLAS has no per-thread setting): a BLAS
    call from another Python thread meanwhile also runs on one thread.
    Nested and concurrent uses are counted, so the count in force before the
    first is the one restored after the last. Without numpy's OpenBLAS
    (`available` False: the functions here are numpy's, single-threaded)
    this does nothing.
    """
    global _one_thread_depth, _one_thread_saved
    if not (available and _THREADS):
        yield
        return
    with _one_thread_lock:
        if _one_thread_depth == 0:
            _one_thread_saved = int(_THREADS["get"]())
            if _one_thread_saved != 1:
                _THREADS["set"](1)
        _one_thread_depth += 1
    try:
        yield
    finally:
        with _one_thread_lock:
            _one_thread_depth -= 1
            if _one_thread_depth == 0 and _one_thread_saved != 1:
                _THREADS["set"](_one_thread_saved)


def threads() -> int | None:
    """The number of threads numpy's OpenBLAS uses now (None when it cannot be read)."""
    return int(_THREADS["get"]()) if available and _THREADS else None


def gemm(alpha: float, A: Mat, trans_a: bool, B: Mat, trans_b: bool, beta: float, C: Mat) -> None:
    """``C = alpha * op(A) @ op(B) + beta * C`` in place (op: transpose or not).

    With ``beta=0`` C's old contents are ignored (BLAS never reads them).
    """
    global calls
    c = C.arr
    if alpha == 1 and beta == 0:
        # a plain product: numpy's matmul calls the same OpenBLAS gemm, at half
        # the Python cost of a ctypes call with 14 arguments
        np.matmul(A.arr.T if trans_a else A.arr, B.arr.T if trans_b else B.arr, out=c)
        return
    if available:
        m, n = c.shape
        k = A.arr.shape[0 if trans_a else 1]
        calls += 1
        _FUNCS["gemm", c.dtype](
            _ROW_MAJOR, _TRANS if trans_a else _NO_TRANS, _TRANS if trans_b else _NO_TRANS,
            m, n, k, alpha, A.addr, A.ld, B.addr, B.ld, beta, C.addr, C.ld,
        )
        return
    product = (A.arr.T if trans_a else A.arr) @ (B.arr.T if trans_b else B.arr)
    if beta == 0:
        np.multiply(product, alpha, out=c)
        return
    c *= beta
    c += alpha * product


def colsum(alpha: float, A: Mat, ones: Mat, beta: float, y: Mat) -> None:
    """``y = alpha * A.sum(axis=0) + beta * y`` (a gemv against ``ones``, one per row of A)."""
    global calls
    if available:
        m, n = A.arr.shape
        calls += 1
        _FUNCS["gemv", y.arr.dtype](
            _ROW_MAJOR, _TRANS, m, n, alpha, A.addr, A.ld, ones.addr, 1, beta, y.addr, 1
        )
        return
    s, out = A.arr.sum(axis=0), y.arr
    if beta == 0:
        np.multiply(s, alpha, out=out)
    else:
        out *= beta
        out += alpha * s


def axpy(a: float, x: Mat, y: Mat) -> None:
    """``y += a * x`` in place (contiguous, same size)."""
    global calls
    if available:
        calls += 1
        _FUNCS["axpy", y.arr.dtype](y.arr.size, a, x.addr, 1, y.addr, 1)
        return
    out = y.arr
    out += a * x.arr


def axpby(a: float, x: Mat, b: float, y: Mat) -> None:
    """``y = a * x + b * y`` in place (contiguous, same size)."""
    global calls
    if available:
        calls += 1
        _FUNCS["axpby", y.arr.dtype](y.arr.size, a, x.addr, 1, b, y.addr, 1)
        return
    out = y.arr
    out *= b
    out += a * x.arr


def scal(a: float, x: Mat) -> None:
    """``x *= a`` in place (contiguous)."""
    global calls
    if available:
        calls += 1
        _FUNCS["scal", x.arr.dtype](x.arr.size, a, x.addr, 1)
        return
    out = x.arr
    out *= a


def _self_test() -> bool:
    """Every bound function against its numpy formula, in both dtypes."""
    global available
    available = True
    try:
        for dtype in (np.float32, np.float64):
            a = np.arange(1.0, 7.0, dtype=dtype).reshape(2, 3)
            b = np.arange(1.0, 13.0, dtype=dtype).reshape(3, 4)
            c = np.ones((2, 4), dtype=dtype)
            gemm(2.0, mat(a), False, mat(b), False, 0.5, mat(c))
            ct = np.ones((3, 4), dtype=dtype)
            gemm(1.0, mat(a), True, mat(c[:, :4]), False, 0.0, mat(ct))
            y = np.ones(3, dtype=dtype)
            colsum(1.0, mat(a), mat(np.ones(2, dtype=dtype)), 2.0, mat(y))
            x, z = np.arange(1.0, 5.0, dtype=dtype), np.full(4, 2.0, dtype=dtype)
            axpy(0.5, mat(x), mat(z))
            axpby(1.0, mat(x), 0.5, mat(z))
            scal(2.0, mat(z))
            want_c = 2 * a @ b + 0.5
            ok = (
                np.allclose(c, want_c)
                and np.allclose(ct, a.T @ want_c)
                and np.allclose(y, a.sum(axis=0) + 2)
                and np.allclose(z, 2 * (x + 0.5 * (2.0 + 0.5 * x)))
            )
            if not ok:
                return False
        return True
    finally:
        available = False


def _load() -> bool:
    if os.environ.get("BPROP_NUMPY_BLAS", "1") == "0":
        return False
    for path in _library_paths():
        try:
            lib = ctypes.CDLL(str(path))
            if _bind(lib):
                _bind_threads(lib)
                return _self_test()
        except OSError:
            continue
    return False


#: True when numpy's OpenBLAS was found and passed the self-test (and BPROP_NUMPY_BLAS != "0")
available = False
available = _load()
