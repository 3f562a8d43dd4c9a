"""In-place vector updates (BLAS level 1) through numpy's own BLAS library.

Why this module exists: an SGD step makes several passes over every weight
(``v = momentum*v + g + decay*W``, then ``W -= lr*v``). numpy's element-wise
operations run on one core, while the matrix products of the same training
step run on all of them through numpy's BLAS (OpenBLAS in the numpy wheels).
BLAS's ``axpy`` (``y += a*x``) and ``axpby`` (``y = a*x + b*y``) do such a pass
in place, without a temporary, and ``axpy`` uses the BLAS threads that are
already awake from the products: the update takes about half the time.

Why not ``scipy.linalg.blas``: scipy ships its *own* copy of OpenBLAS with its
own thread pool. Alternating numpy's products with scipy's vector
operations leaves both pools' idle threads spinning for the same cores; on a
2-core machine that made a training step 10-20x slower. So this module calls
the library numpy itself loaded, found next to numpy and reached with ctypes.

When that library is not there (another BLAS, another platform) or fails a
self-test on import, `available` is False and the optimizers use plain numpy
with ``out=`` (same results up to rounding). Set ``BPROP_NUMPY_BLAS=0`` to force
that path. Every function here requires C-contiguous float32/float64 arrays
of one dtype; `usable` checks that.
"""

from __future__ import annotations

import ctypes
import os
import weakref
from pathlib import Path
from typing import Any

import numpy as np

#: models (packed parameter groups) smaller than this are updated with numpy ufuncs
#: (a ctypes call costs about as much as a small ufunc; BLAS threads only help on
#: large vectors)
MIN_SIZE = 8192

_FUNCS: dict[tuple[str, np.dtype], Any] = {}


def _library_paths() -> list[Path]:
    """The OpenBLAS bundled with numpy's wheels: numpy.libs/ (Linux, Windows), .dylibs/ (macOS)."""
    root = Path(np.__file__).resolve().parent
    found: list[Path] = []
    for folder in (root.parent / "numpy.libs", root / ".dylibs"):
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir() if "openblas" in p.name.lower())
    return found


def _bind(lib: ctypes.CDLL) -> bool:
    """Find cblas_?axpy / cblas_?axpby under the names numpy's OpenBLAS builds use."""
    for prefix, suffix, int_t in (
        ("scipy_cblas_", "64_", ctypes.c_int64),  # scipy-openblas64 (numpy >= 2 wheels)
        ("scipy_cblas_", "", ctypes.c_int32),  # scipy-openblas32
        ("cblas_", "64_", ctypes.c_int64),
    ):
        funcs = {}
        for dtype, char, real in (
            (np.dtype(np.float32), "s", ctypes.c_float),
            (np.dtype(np.float64), "d", ctypes.c_double),
        ):
            try:
                axpy = getattr(lib, f"{prefix}{char}axpy{suffix}")
                axpby = getattr(lib, f"{prefix}{char}axpby{suffix}")
                scal = getattr(lib, f"{prefix}{char}scal{suffix}")
            except AttributeError:
                break
            ptr = ctypes.c_void_p
            axpy.argtypes = [int_t, real, ptr, int_t, ptr, int_t]
            axpby.argtypes = [int_t, real, ptr, int_t, real, ptr, int_t]
            scal.argtypes = [int_t, real, ptr, int_t]
            axpy.restype = axpby.restype = scal.restype = None
            funcs[("axpy", dtype)], funcs[("axpby", dtype)] = axpy, axpby
            funcs[("scal", dtype)] = scal
        if len(funcs) == 6:
            _FUNCS.update(funcs)
            return True
    return False


def usable(*arrays: np.ndarray) -> bool:
    """True when the BLAS path applies: available, large, C-contiguous, one float dtype."""
    first = arrays[0]
    if not available or first.size < MIN_SIZE or ("axpy", first.dtype) not in _FUNCS:
        return False
    return all(
        a.dtype == first.dtype and a.size == first.size and a.flags.c_contiguous
        and a.flags.writeable
        for a in arrays
    )


def axpy(a: float, x: np.ndarray, y: np.ndarray) -> None:
    """``y += a * x`` in place."""
    _FUNCS["axpy", y.dtype](y.size, a, address(x), 1, address(y), 1)


def axpby(a: float, x: np.ndarray, b: float, y: np.ndarray) -> None:
    """``y = a * x + b * y`` in place."""
    _FUNCS["axpby", y.dtype](y.size, a, address(x), 1, b, address(y), 1)


def scal(a: float, x: np.ndarray) -> None:
    """``x *= a`` in place."""
    _FUNCS["scal", x.dtype](x.size, a, address(x), 1)


_ADDRESSES: dict[int, tuple[weakref.ref, int, int]] = {}


def address(a: np.ndarray) -> int:
    """The address of ``a``'s data, for ctypes.

    ``a.ctypes.data`` builds a helper object on every access (about 1 us, more
    than a BLAS call on a small vector costs), and an optimizer passes the same
    arrays every step, so the address is remembered per array object (and
    forgotten when the array is freed; the size guards against ``a.resize``).
    """
    hit = _ADDRESSES.get(id(a))
    if hit is not None and hit[0]() is a and hit[2] == a.size:
        return hit[1]
    key = id(a)
    ref = weakref.ref(a, lambda _, key=key: _ADDRESSES.pop(key, None))
    _ADDRESSES[key] = (ref, a.ctypes.data, a.size)
    return _ADDRESSES[key][1]


def _self_test() -> bool:
    for dtype in (np.float32, np.float64):
        x = np.arange(1.0, 5.0, dtype=dtype)
        y = np.full(4, 2.0, dtype=dtype)
        axpy(0.5, x, y)  # 2 + 0.5x
        axpby(1.0, x, 0.5, y)  # x + 0.5y
        scal(2.0, y)
        if not np.array_equal(y, 2 * (x + 0.5 * (2.0 + 0.5 * x))):
            return False
    return True


def _load() -> bool:
    if os.environ.get("BPROP_NUMPY_BLAS", "1") == "0":
        return False
    for path in _library_paths():
        try:
            if _bind(ctypes.CDLL(str(path))):
                return _self_test()
        except OSError:
            continue
    return False


available = False
available = _load()
