"""The catalogue of data sets a config can name, each with its own parameters.

``SETS`` maps a name to a `SetSpec`: the task (None for files, whose task the
loss decides), the extra keys it accepts in a config's ``data`` section and a
loader ``(params, seed) -> (X, y, feature_names, target_names)``.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..registry import did_you_mean
from .fields import ConfigError, Field, short

__all__ = ["SETS", "SVMLIGHT_SUFFIXES", "SetSpec", "is_sparse_npz", "read_sparse_matrix",
           "read_svmlight", "read_targets"]

#: what ``data.task`` may say of a file's target ("auto": `bprop.config.data.guess_task`)
TASKS = ("auto", "classification", "regression")

#: the keys of a data section that name files (`bprop.config.loader.resolve` finds them)
FILE_KEYS = ("path", "x", "y")

Loaded = tuple[np.ndarray, np.ndarray, list[str], list[str]]


@dataclass(frozen=True)
class SetSpec:
    """A data set: its task, its parameters and how to load it."""

    task: str | None
    params: dict[str, Field]
    loader: Callable[[dict[str, Any], int], Loaded]


def _bundled(name: str) -> Callable[[dict[str, Any], int], Loaded]:
    def load(params: dict[str, Any], seed: int) -> Loaded:
        import sklearn.datasets

        b = getattr(sklearn.datasets, f"load_{name}")()
        targets = list(b.target_names) if b.target.ndim == 2 else ["target"]
        return b.data, b.target, [str(f) for f in b.feature_names], targets

    return load


def _names(d: int) -> list[str]:
    return [f"x{i}" for i in range(d)]


def _xor(p: dict[str, Any], seed: int) -> Loaded:
    """Points in the square [-1, 1]^2, labelled 1 where x0 and x1 have opposite signs."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(p["n_samples"], 2))
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.int64)
    return X + p["noise"] * rng.standard_normal(X.shape), y, _names(2), ["target"]


def _spirals(p: dict[str, Any], seed: int) -> Loaded:
    """Interleaved spiral arms, one per class (the CS231n toy problem)."""
    rng = np.random.default_rng(seed)
    k, n = p["n_classes"], p["n_samples"]
    counts = [n // k + (j < n % k) for j in range(k)]
    xs, ys = [], []
    for j, m in enumerate(counts):
        r = np.linspace(0.05, 1.0, m)
        # Arm j starts at angle 2*pi*j/k and winds `turns` times; noise jitters the angle.
        t = 2 * np.pi * (j / k + p["turns"] * r) + p["noise"] * rng.standard_normal(m)
        xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
        ys.append(np.full(m, j))
    return np.vstack(xs), np.concatenate(ys), _names(2), ["target"]


def _sklearn_make(fn: str, **fixed: Any) -> Callable[[dict[str, Any], int], Loaded]:
    def load(p: dict[str, Any], seed: int) -> Loaded:
        import sklearn.datasets

        try:
            X, y = getattr(sklearn.datasets, f"make_{fn}")(random_state=seed, **p, **fixed)
        except ValueError as err:
            raise ConfigError("data", f"bad parameters for {fn}: {err}") from None
        names = ["target"] if y.ndim == 1 else [f"y{i}" for i in range(y.shape[1])]
        return X, y, _names(X.shape[1]), names

    return load


def read_csv(
    path: str, *, key: str, delimiter: str = ",", header: bool | None = True,
    known: list[str] = (),
) -> tuple[list[str] | None, list[list[str]]]:
    """The header and rows of a csv file: the one csv reader of configs, ``eval`` and ``predict``.

    The file is read as UTF-8, a leading byte-order mark (Excel's "CSV UTF-8")
    skipped.

    Parameters
    ----------
    path : str
    key : str
        What named the file (``"data.path"``, or the file itself), for messages.
    delimiter : str, default=","
        One character.
    header : bool or None, default=True
        Whether the first row names the columns; None: it does when it
        holds one of the ``known`` names, or no number at all.
    known : list of str
        The column names expected (a model's features), for ``header=None``.

    Returns
    -------
    names : list of str or None
        The column names (stripped), None without a header.
    rows : list of list of str
        The data rows, blank lines skipped, all of one width.

    Raises
    ------
    ConfigError
        If the file cannot be read, is empty, names a column twice, or has
        rows of another width.
    """
    where = "" if key == path else f"{path!r} "
    check_delimiter(delimiter, key="data.delimiter" if key == "data.path" else "--delimiter")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f, delimiter=delimiter) if r]
    except UnicodeDecodeError as err:
        raise ConfigError(key, f"cannot read {path!r}: it is not UTF-8 text (byte "
                               f"{err.object[err.start]:#04x}); save it as UTF-8") from None
    except (OSError, csv.Error) as err:
        raise ConfigError(key, f"cannot read {path!r}: {err}") from None
    if not rows:
        raise ConfigError(key, f"{where}is empty")
    if header is None:
        first = [c.strip() for c in rows[0]]
        header = any(c in known for c in first) or not any(_is_number(c) for c in first)
    names = [c.strip() for c in rows.pop(0)] if header else None
    if names is not None:
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(key, f"{where}names the column(s) {', '.join(map(repr, twice))} "
                                   "more than once; every column needs its own name")
    width = len(names) if names is not None else len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            hint = ""
            if len(row) == 1 and delimiter not in row[0] and any(d in row[0] for d in ";\t|"):
                hint = " (is the file separated by another character? set the delimiter)"
            raise ConfigError(key, f"{where}line {i + 1 + header} has {len(row)} columns, "
                                   f"expected {width}{hint}")
    return names, rows


def check_delimiter(delimiter: Any, key: str = "data.delimiter") -> str:
    """A csv delimiter: one character, not a quote or a line break.

    Parameters
    ----------
    delimiter : object
    key : str
        The key path or option, for messages.

    Returns
    -------
    str

    Raises
    ------
    ConfigError
    """
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
        hint = (" (a tab is one character: \"\\t\" in double quotes in YAML, $'\\t' in a "
                "shell)" if delimiter in ("\\t", "tab") else "")
        raise ConfigError(key, f"must be one character such as ',' or ';', "
                               f"got {short(delimiter)}{hint}")
    return delimiter


def float_columns(
    rows: list[list[str]], cols: list[int], names: list[str], *, path: str, key: str,
    header: bool
) -> np.ndarray:
    """Columns ``cols`` of csv ``rows`` as finite numbers.

    Parameters
    ----------
    rows : list of list of str
        From `read_csv`.
    cols : list of int
        The column indices to read, in order.
    names : list of str
        Every column's name, for messages.
    path, key : str
        As for `read_csv`.
    header : bool
        Whether the file has a header line (line numbers count it).

    Returns
    -------
    ndarray of float64, shape (len(rows), len(cols))

    Raises
    ------
    ConfigError
        Naming the line and column of the first cell that is not a number as
        numpy.loadtxt and pandas read one (`parse_number`: no ``1_000``), or
        is NaN or infinite (``nan``, ``inf``, or ``1e309``, which overflows).
    """
    where = "" if key == path else f"{path!r} "
    cells = [[row[j] for j in cols] for row in rows]
    try:  # the fast path: numpy parses every cell at once, as Python's float() would
        X = np.array(cells, dtype=np.float64)
    except ValueError:
        X = None
    if X is not None and not all(_plain_text(c) for c in map("".join, cells)):
        X = None  # a '_' or a non-ASCII character float() accepts: the exact path decides
    if X is None or X.shape != (len(rows), len(cols)):
        X = np.empty((len(rows), len(cols)))
        for i, row in enumerate(rows):
            for k, j in enumerate(cols):
                try:
                    X[i, k] = parse_number(row[j])
                except ValueError:
                    raise ConfigError(key, f"{where}line {i + 1 + header}, column "
                                           f"{names[j]!r}: {short(row[j])} is not a number"
                                           f"{_why_not(row[j])}") from None
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        i, k = bad[0]
        j = cols[k]
        raise ConfigError(key, f"{where}line {i + 1 + header}, column {names[j]!r}: "
                               f"{short(rows[i][j])} is not a finite number ({len(bad)} such "
                               "cell(s)); clean or impute the data")
    return X


def parse_number(text: str) -> float:
    """A csv cell as a float, read as numpy.loadtxt and pandas read numbers.

    Python's ``float()`` also takes ``1_000`` (digit separators, PEP 515)
    and non-ASCII digits such as ``'١٢'``; numpy.loadtxt and pandas refuse
    both, and so does bprop, so a file means the same number in each.

    Parameters
    ----------
    text : str
        The cell; surrounding whitespace is ignored.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``text`` is not a decimal number (``inf`` and ``nan`` included).
    """
    if not _plain_text(text.strip()):
        raise ValueError(f"{text!r} is not a plain ASCII number")
    return float(text)


def _plain_text(text: str) -> bool:
    return text.isascii() and "_" not in text


def _why_not(text: str) -> str:
    """Why a cell that Python's float() takes is not a number here (or "")."""
    try:
        float(text)
    except ValueError:
        return ""
    return (" (numbers are read as numpy.loadtxt and pandas read them: no '_' digit "
            "separators, ASCII digits only)")


def _is_number(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True


def target_values(rows: list[list[str]], col: int, name: str, *, path: str, key: str,
                  header: bool) -> np.ndarray:
    """The target column of csv ``rows``: finite numbers if every cell is one, else labels.

    Parameters
    ----------
    rows : list of list of str
    col : int
        The target's column index.
    name : str
        Its name, for messages.
    path, key : str
        As for `read_csv`.
    header : bool
        Whether line numbers count a header line.

    Returns
    -------
    ndarray
        float64 of shape (N,), or strings.

    Raises
    ------
    ConfigError
        Naming the lines with a blank target, a NaN or infinite number, or
        a number numpy.loadtxt and pandas would not read (``1_000``) among
        numbers (`parse_number`).
    """
    where = "" if key == path else f"{path!r} "
    y = np.array([row[col].strip() for row in rows])
    blank = [i + 1 + header for i, v in enumerate(y) if v == ""]
    if blank:
        lines = ", ".join(map(str, blank[:5])) + (" ..." if len(blank) > 5 else "")
        raise ConfigError(key, f"{where}target column {name!r} is blank on line(s) {lines} "
                               f"({len(blank)} row(s)); every row needs a target")
    try:
        numbers = y.astype(np.float64)
    except ValueError:
        return y  # labels: fine for classification
    odd = next((i for i, v in enumerate(y) if not _plain_text(v)), None)
    if odd is not None:  # '1_000' among numbers: neither a clear number nor a clear label
        raise ConfigError(key, f"{where}line {odd + 1 + header}, column {name!r}: "
                               f"{short(rows[odd][col])} is not a number{_why_not(y[odd])}")
    y = numbers
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        i = int(bad[0])
        raise ConfigError(key, f"{where}line {i + 1 + header}, column {name!r}: "
                               f"{short(rows[i][col])} is not a finite number")
    return y


def _read_csv(p: dict[str, Any], seed: int) -> Loaded:
    fast = _read_csv_fast(p)
    if fast is not None:
        return fast
    path = p["path"]  # the exact reader: slower, and it names the line and column of a fault
    names, rows = read_csv(path, key="data.path", delimiter=p["delimiter"], header=p["header"])
    names = names if names is not None else _names(len(rows[0]))
    if len(names) < 2:
        sample = "".join((names or [""]) + (rows[0] if rows else []))
        other = [d for d in (",", ";", "\t", "|") if d != p["delimiter"] and d in sample]
        hint = (f" (it looks separated by {other[0]!r}: set data.delimiter: {other[0]!r})"
                if other else f" (read with delimiter {p['delimiter']!r})")
        raise ConfigError(
            "data.path",
            f"{path!r} needs a target and at least one feature column, got {len(names)} "
            f"column(s){hint}",
        )
    if not rows:
        raise ConfigError("data.path", f"{path!r} has a header but no data rows")
    col = _target_column(p["target"], names, path, p["header"])
    feats = [j for j in range(len(names)) if j != col]
    X = float_columns(rows, feats, names, path=path, key="data.path", header=p["header"])
    y = target_values(rows, col, names[col], path=path, key="data.path", header=p["header"])
    return X, y, [names[j] for j in feats], [names[col]]


def _read_csv_fast(p: dict[str, Any]) -> Loaded | None:
    """A clean csv file through pandas' C parser (about 20 times faster); None when
    pandas is missing or anything is unusual, so that `_read_csv`'s exact reader
    runs and names the line and column of the fault."""
    try:
        import pandas as pd
    except ImportError:
        return None
    path, delimiter, header = p["path"], p["delimiter"], p["header"]
    try:
        check_delimiter(delimiter)
        with open(path, newline="", encoding="utf-8-sig") as f:
            first = next((r for r in csv.reader(f, delimiter=delimiter) if r), None)
        if first is None:
            return None
        names = [c.strip() for c in first] if header else _names(len(first))
        if len(names) < 2 or len(set(names)) != len(names):
            return None
        col = _target_column(p["target"], names, path, header)
        # pandas 3 parses floats exactly (as Python's float()) by default and
        # deprecates the option that asked for it before
        exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
        df = pd.read_csv(path, sep=delimiter, header=None, skiprows=1 if header else 0,
                         encoding="utf-8-sig", na_filter=False, skip_blank_lines=True,
                         dtype={col: str}, engine="c", **exact)
    except Exception:  # noqa: BLE001 (any surprise: the exact reader decides)
        return None
    feats = [j for j in range(len(names)) if j != col]
    if df.shape[1] != len(names) or len(df) == 0:
        return None
    if any(df[j].dtype.kind not in "iuf" for j in feats):
        return None  # a cell that is not a number, or a short row
    X = df[feats].to_numpy(np.float64)
    labels = df[col].to_numpy(dtype=object)
    y = np.array([str(v).strip() for v in labels])
    if not np.isfinite(X).all() or (y == "").any():
        return None
    try:
        y = y.astype(np.float64)
        if not np.isfinite(y).all() or not all(_plain_text(v) for v in labels.astype(str)):
            return None  # the exact reader names the cell
    except ValueError:
        pass  # labels
    return X, y, [names[j] for j in feats], [names[col]]


def match_columns(header: list[str] | None, width: int, names: list[str], *, path: str,
                  extra: tuple[str, ...] = ()) -> list[int]:
    """The column index of each of ``names`` in a csv file: by name when it has a header.

    Parameters
    ----------
    header : list of str or None
        The file's column names (None: no header line).
    width : int
        The file's number of columns.
    names : list of str
        The columns wanted, in order (the model's features).
    path : str
        The file, for messages.
    extra : tuple of str
        Other columns the file may hold (a target), which are skipped.

    Returns
    -------
    list of int

    Raises
    ------
    ConfigError
        With a header: naming the missing and the unknown columns (names are
        matched exactly, case included). Without: if the file does not have
        ``len(names)`` columns (or that plus ``len(extra)``).
    """
    if header is None:
        if width not in (len(names), len(names) + len(extra)):
            want = str(len(names)) + (f" (or {len(names) + len(extra)} with the target)"
                                      if extra else "")
            raise ConfigError(path, f"has {width} columns and no header, expected {want}: "
                                    "the features in training order"
                                    + (", then the target" if extra else ""))
        return list(range(len(names)))
    missing = [n for n in names if n not in header]
    unknown = [h for h in header if h not in names and h not in extra]
    if missing or unknown:
        def listed(items: list[str]) -> str:
            return ", ".join(map(repr, items[:6])) + (" ..." if len(items) > 6 else "")

        parts = ([f"missing {listed(missing)}"] if missing else []) + (
            [f"unknown {listed(unknown)}"] if unknown else [])
        raise ConfigError(path, f"the header does not name the {len(names)} features the "
                                f"model was trained on: {'; '.join(parts)} (names must match "
                                "exactly, case included)")
    return [header.index(n) for n in names]


def _target_column(target: Any, names: list[str], path: str, header: bool) -> int:
    if isinstance(target, int):
        if not -len(names) <= target < len(names):
            raise ConfigError(
                "data.target",
                f"column index {target} out of range for {path!r}, which has {len(names)} columns",
            )
        return target % len(names)
    if not header:
        raise ConfigError(
            "data.target",
            f"a column name ({target!r}) needs header: true; use a column index instead",
        )
    if target not in names:
        raise ConfigError(
            "data.target",
            f"no column {target!r} in {path!r}"
            f"{did_you_mean(target, names)}; columns: {', '.join(names)}",
        )
    return names.index(target)


def _read_npz(p: dict[str, Any], seed: int) -> Loaded:
    path = p["path"]
    if not zipfile.is_zipfile(path):
        raise ConfigError("data.path", f"{path!r} is not an .npz archive (np.savez writes one)")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise ConfigError("data.path", f"cannot read {path!r} as .npz: {err}") from None
    for key in ("x_key", "y_key"):
        if p[key] not in arrays:
            raise ConfigError(
                f"data.{key}",
                f"no array {p[key]!r} in {path!r}"
                f"{did_you_mean(p[key], arrays)}; arrays: {', '.join(arrays)}",
            )
    X, y = arrays[p["x_key"]], arrays[p["y_key"]]
    # (N, D) rows, or N-D samples (N, C, H, W images) for a model that starts with Flatten
    if X.ndim < 2 or not np.issubdtype(X.dtype, np.number):
        raise ConfigError(
            "data.x_key",
            f"{p['x_key']!r} must be a numeric array of shape (n_samples, n_features) or "
            f"(n_samples, ...) for a model that starts with Flatten; got shape {X.shape}, "
            f"dtype {X.dtype}",
        )
    names = ["target"] if y.ndim == 1 else [f"y{i}" for i in range(y.shape[1])]
    return X, y, _names(int(np.prod(X.shape[1:]))), names


def _read_npy(path: str, key: str, *, mmap: bool = False) -> np.ndarray:
    """One array from a ``.npy`` file (memory-mapped, read only, with ``mmap``)."""
    try:
        a = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ConfigError(key, f"cannot read {path!r} as .npy (np.save writes one): "
                               f"{err}") from None
    if not isinstance(a, np.ndarray):  # an .npz archive of several arrays
        a.close()
        raise ConfigError(key, f"{path!r} is an .npz archive; this key takes one .npy file "
                               "(np.save writes one)")
    return a


def read_targets(path: str, n: int, key: str = "data.y") -> np.ndarray:
    """A ``.npy`` file of targets: one per row of X (labels or numbers).

    Parameters
    ----------
    path : str
    n : int
        The number of rows of X.
    key : str, default="data.y"
        Where the file was named, for messages (``--y`` for ``bprop eval``).

    Returns
    -------
    ndarray, shape (n,) or (n, K)

    Raises
    ------
    ConfigError
        Naming ``key``: not an .npy file, or not one target per row.
    """
    y = _read_npy(path, key)
    if y.ndim not in (1, 2) or len(y) != n:
        raise ConfigError(key, f"{path!r} must hold one target per sample ({n}), got "
                               f"shape {y.shape}")
    return y


def _targets(p: dict[str, Any], n: int) -> np.ndarray:
    """The ``data.y`` file: one target per row of X (labels or numbers)."""
    return read_targets(p["y"], n)


def _target_names(y: np.ndarray) -> list[str]:
    return ["target"] if y.ndim == 1 else [f"y{i}" for i in range(y.shape[1])]


def _read_npy_pair(p: dict[str, Any], seed: int) -> Loaded:
    """X memory-mapped from ``data.x`` (never read whole), y loaded from ``data.y``."""
    X = _read_npy(p["x"], "data.x", mmap=True)
    if X.ndim != 2 or X.dtype.kind not in "fiu":
        raise ConfigError("data.x", f"{p['x']!r} must hold a 2-D numeric array, got shape "
                                    f"{X.shape}, dtype {X.dtype}")
    y = _targets(p, len(X))
    return X, y, _names(X.shape[1]), _target_names(y)


#: the suffixes ``bprop eval --data`` and ``bprop predict`` read as svmlight / libsvm text
SVMLIGHT_SUFFIXES = (".svm", ".svmlight", ".libsvm")


def is_sparse_npz(path: str) -> bool:
    """Whether ``path`` is an archive written by ``scipy.sparse.save_npz``.

    Parameters
    ----------
    path : str

    Returns
    -------
    bool
        True for a zip archive holding the ``format`` and ``shape`` arrays
        that ``save_npz`` writes (``np.savez`` archives hold the caller's names).
    """
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return {"format.npy", "shape.npy"} <= names


def read_sparse_matrix(path: str, key: str = "data.path") -> Any:
    """A sparse matrix saved with ``scipy.sparse.save_npz``, as CSR (never densified).

    The one reader of such files: ``bprop train`` (``data: {name: sparse}``),
    ``bprop eval --data`` and ``bprop predict`` use it.

    Parameters
    ----------
    path : str
    key : str, default="data.path"
        Where the file was named, for messages.

    Returns
    -------
    scipy.sparse CSR matrix, shape (N, D)
        Of the file's numeric dtype.

    Raises
    ------
    ConfigError
        Naming ``key``: unreadable, or not a 2-D numeric matrix.
    """
    import scipy.sparse

    try:
        X = scipy.sparse.load_npz(path)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
        raise ConfigError(key, f"cannot read {path!r} as a sparse matrix "
                               f"(scipy.sparse.save_npz writes one): {err}") from None
    if X.ndim != 2 or X.dtype.kind not in "fiub":
        raise ConfigError(key, f"{path!r} must hold a 2-D numeric matrix, got shape "
                               f"{X.shape}, dtype {X.dtype}")
    return X.tocsr()


def read_svmlight(path: str, key: str = "data.path", *, n_features: int | None = None,
                  zero_based: bool | None = None) -> tuple[Any, np.ndarray, bool]:
    """An svmlight / libsvm text file through scikit-learn's reader: X sparse (CSR).

    The one reader of such files: ``bprop train`` (``data: {name: svmlight}``),
    ``bprop eval --data`` and ``bprop predict`` use it, the last two with the
    training data's ``n_features`` and ``zero_based``, so that the columns
    line up with the ones the model was trained on.

    Parameters
    ----------
    path : str
    key : str, default="data.path"
        Where the file was named, for messages.
    n_features : int or None
        The number of columns (None: the file's largest index decides).
    zero_based : bool or None
        Whether the file's feature indices count from 0 (libsvm's tools
        count from 1). None decides as scikit-learn's ``zero_based="auto"``
        does: from 1 when no index 0 appears in the file.

    Returns
    -------
    X : scipy.sparse CSR matrix of float64, shape (N, D)
    y : ndarray of float64, shape (N,)
    zero_based : bool
        What was decided (``zero_based`` itself when it was given).

    Raises
    ------
    ConfigError
        Naming ``key``: unreadable, not svmlight text, or an index past
        ``n_features``.
    """
    from scipy.sparse import csr_matrix
    from sklearn.datasets import load_svmlight_file

    try:  # the indices as written; shifted below when they count from 1
        X, y = load_svmlight_file(path, multilabel=False, zero_based=True)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise ConfigError(key, f"cannot read {path!r} as svmlight / libsvm: {err}") from None
    if zero_based is None:  # scikit-learn's "auto"
        zero_based = not (X.nnz and X.indices.min() > 0)
    d = X.shape[1]
    if not zero_based:
        if X.nnz and X.indices.min() == 0:
            raise ConfigError(key, f"{path!r} has a feature index 0, but the indices count "
                                   "from 1 (zero_based: false)")
        d = max(d - 1, 0)
        X = csr_matrix((X.data, X.indices - 1, X.indptr), shape=(X.shape[0], d))
    if n_features:
        if d > n_features:
            top = d - 1 if zero_based else d
            raise ConfigError(key, f"{path!r} has {d} feature columns (indices up to {top}, "
                                   f"counting from {0 if zero_based else 1}), more than the "
                                   f"{n_features} expected")
        X = csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], n_features))
    return X, y, bool(zero_based)


def _read_sparse(p: dict[str, Any], seed: int) -> Loaded:
    """A scipy.sparse matrix saved with ``scipy.sparse.save_npz``; targets from ``data.y``."""
    X = read_sparse_matrix(p["path"])
    y = _targets(p, X.shape[0])
    return X, y, _names(X.shape[1]), _target_names(y)


def _read_svmlight(p: dict[str, Any], seed: int) -> Loaded:
    """An svmlight / libsvm text file, X sparse (CSR); fills in ``p["zero_based"]`` when
    it was left to the file (null), so that the resolved config records it."""
    X, y, p["zero_based"] = read_svmlight(p["path"], n_features=p["n_features"] or None,
                                          zero_based=p["zero_based"])
    return X, y, _names(X.shape[1]), ["target"]


_N = Field(int, 500, low=10)


def _noise(default: float) -> Field:
    return Field(float, default, low=0)


SETS: dict[str, SetSpec] = {
    **{
        n: SetSpec("classification", {}, _bundled(n))
        for n in ("digits", "iris", "wine", "breast_cancer")
    },
    **{n: SetSpec("regression", {}, _bundled(n)) for n in ("diabetes", "linnerud")},
    "xor": SetSpec("classification", {"n_samples": _N, "noise": _noise(0.0)}, _xor),
    "moons": SetSpec(
        "classification", {"n_samples": _N, "noise": _noise(0.1)}, _sklearn_make("moons")
    ),
    "circles": SetSpec(
        "classification",
        {
            "n_samples": _N,
            "noise": _noise(0.05),
            "factor": Field(float, 0.5, low=0, high=1, low_open=True, high_open=True),
        },
        _sklearn_make("circles"),
    ),
    "blobs": SetSpec(
        "classification",
        {
            "n_samples": _N,
            "centers": Field(int, 3, low=2),
            "n_features": Field(int, 2, low=1),
            "cluster_std": Field(float, 1.0, low=0, low_open=True),
        },
        _sklearn_make("blobs"),
    ),
    "spirals": SetSpec(
        "classification",
        {
            "n_samples": Field(int, 600, low=10),
            "n_classes": Field(int, 3, low=2),
            "noise": _noise(0.2),
            "turns": Field(float, 1.0, low=0, low_open=True),
        },
        _spirals,
    ),
    "classification": SetSpec(
        "classification",
        {
            "n_samples": _N,
            "n_features": Field(int, 20, low=1),
            "n_informative": Field(int, 2, low=1),
            "n_redundant": Field(int, 2, low=0),
            "n_classes": Field(int, 2, low=2),
            "n_clusters_per_class": Field(int, 2, low=1),
            "class_sep": Field(float, 1.0, low=0, low_open=True),
            "flip_y": Field(float, 0.01, low=0, high=1),
        },
        _sklearn_make("classification"),
    ),
    "regression": SetSpec(
        "regression",
        {
            "n_samples": _N,
            "n_features": Field(int, 10, low=1),
            "n_informative": Field(int, 10, low=1),
            "n_targets": Field(int, 1, low=1),
            "noise": _noise(10.0),
        },
        _sklearn_make("regression"),
    ),
    "csv": SetSpec(
        None,
        {
            "path": Field(str, ...),
            "target": Field(str, -1, alt=(int,)),
            "header": Field(bool, True),
            "delimiter": Field(str, ","),
            "task": Field(str, "auto", choices=TASKS),
        },
        _read_csv,
    ),
    "npz": SetSpec(
        None,
        {
            "path": Field(str, ...),
            "x_key": Field(str, "X"),
            "y_key": Field(str, "y"),
            "task": Field(str, "auto", choices=TASKS),
        },
        _read_npz,
    ),
    # data larger than memory: X is memory-mapped, standardized in chunks, read per batch
    "npy": SetSpec(
        None,
        {
            "x": Field(str, ...),
            "y": Field(str, ...),
            "task": Field(str, "auto", choices=TASKS),
        },
        _read_npy_pair,
    ),
    # sparse features (TF-IDF, one-hot) stay sparse; standardization scales without centering
    "sparse": SetSpec(
        None,
        {
            "path": Field(str, ...),
            "y": Field(str, ...),
            "task": Field(str, "auto", choices=TASKS),
        },
        _read_sparse,
    ),
    "svmlight": SetSpec(
        None,
        {
            "path": Field(str, ...),
            "n_features": Field(int, 0, low=0),
            # null: from 1 when the file has no index 0 (filled in by the run)
            "zero_based": Field(bool, None, nullable=True),
            "task": Field(str, "auto", choices=TASKS),
        },
        _read_svmlight,
    ),
}
