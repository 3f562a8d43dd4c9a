"""Data sets for configs: scikit-learn's bundled sets, synthetic sets and files.

A config's ``data`` section names a set and its parameters; `check_config`
validates it, `load` builds the arrays, and `split` makes the
train/validation/test parts (stratified for classification) and fits the
standardization on the training part only. `Preprocessor` records that
standardization and the class labels so that ``bprop eval`` and
``bprop predict`` can apply them to new data.

Examples
--------
>>> cfg = check_config({"name": "iris"})
>>> ds = split(load(cfg, seed=0), cfg, task="classification", seed=0)
>>> ds.X_train.shape[1], ds.classes
(4, [0, 1, 2])
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import diags, issparse

from ..registry import did_you_mean
from . import datasets
from .fields import ConfigError, Field, check_mapping, join_path, short

__all__ = ["Dataset", "MappedRows", "Preprocessor", "RawData", "check_config", "load", "split"]

#: bytes of a memory-mapped file read at a time when computing statistics (`release_pages`)
RELEASE_BYTES = 1 << 20

COMMON = {
    "name": Field(str, "digits"),
    "test_size": Field(float, 0.2, low=0, high=1, low_open=True, high_open=True),
    "val_size": Field(float, 0.1, low=0, high=1, high_open=True),
    "stratify": Field(bool, True),
    "standardize": Field(bool, True),
    "standardize_target": Field(bool, True),
}


@dataclass
class RawData:
    """Arrays as loaded, before splitting: ``X`` (n, d) floats, ``y`` (n,) or (n, k).

    ``X`` is an ndarray of float64 (N-D samples, such as (n, 1, 8, 8) images
    from an .npz file, are kept so for a model that starts with Flatten), a
    scipy.sparse CSR matrix (``sparse``, ``svmlight``: kept sparse) or a
    read-only `numpy.memmap` (``npy``: never read whole).
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    task: str | None  # None: a file, whose task the loss decides


def check_config(value: Any, path: str = "data") -> dict[str, Any]:
    """Validate a ``data`` section and fill in its defaults (common keys first).

    Parameters
    ----------
    value : object
        The section as read from YAML: None, a data set name or a mapping.
    path : str
        Its key path, for messages.

    Returns
    -------
    dict
        The common keys, then the set's own (`bprop.config.datasets.SETS`).

    Raises
    ------
    ConfigError
        Naming the key path, the bad value and what is allowed.
    """
    if value is None:
        value = {}
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        raise ConfigError(path, f"must be a mapping or a data set name, got {value!r}")
    name = COMMON["name"].check(join_path(path, "name"), value.get("name", "digits"))
    if name not in datasets.SETS:
        raise ConfigError(
            join_path(path, "name"),
            f"unknown data set {name!r}"
            f"{did_you_mean(name, datasets.SETS)}; allowed: " + ", ".join(datasets.SETS),
        )
    cfg = check_mapping(path, value, {**COMMON, **datasets.SETS[name].params}, what=name)
    if "delimiter" in cfg:
        datasets.check_delimiter(cfg["delimiter"], join_path(path, "delimiter"))
    if cfg["test_size"] + cfg["val_size"] >= 1:
        raise ConfigError(
            join_path(path, "val_size"),
            f"test_size + val_size must be < 1, got {cfg['test_size']} + {cfg['val_size']}",
        )
    return cfg


def load(cfg: dict[str, Any], seed: int) -> RawData:
    """Load or generate the arrays of a checked ``data`` config.

    Parameters
    ----------
    cfg : dict
        From `check_config`; a file's ``path`` is used as given
        (`bprop.config.loader.resolve` makes it absolute). A parameter left
        null for the file to decide (svmlight's ``zero_based``) is filled in,
        in place, so that the run's resolved config records the decision.
    seed : int
        For generated sets.

    Returns
    -------
    RawData
        ``X`` of shape (N, D) as float64 (an .npz file's N-D samples, (N, C, H, W)
        images, keep their shape), ``y`` of shape (N,) or (N, K).

    Raises
    ------
    ConfigError
        If the file cannot be read, or there are fewer than 3 samples.
    """
    spec = datasets.SETS[cfg["name"]]
    params = {k: cfg[k] for k in spec.params}
    X, y, feature_names, target_names = spec.loader(params, seed)
    for k, v in params.items():  # what a loader decided from the file (svmlight's zero_based)
        if cfg.get(k) is None and v is not None:
            cfg[k] = v
    if issparse(X):  # kept sparse: only the non-zeros are values
        X = X.tocsr().astype(np.float64, copy=False)
    elif not isinstance(X, np.memmap):  # a memory map is read in chunks, never whole
        X = np.asarray(X, dtype=np.float64)
    dense_nd = isinstance(X, np.ndarray) and not isinstance(X, np.memmap)
    if X.ndim < 2 or (X.ndim > 2 and not dense_nd) or X.shape[0] != len(y):
        raise ConfigError(
            "data", f"expected X of shape (n, d) and y of length n, got {X.shape} and {np.shape(y)}"
        )
    if X.shape[0] < 3:
        raise ConfigError("data", f"need at least 3 samples to split, got {X.shape[0]}")
    where = next((f"{cfg[k]!r}: " for k in ("path", "x") if k in cfg), "")
    if issparse(X):
        _check_finite_sparse(X, feature_names, where)
    else:
        step = max(1, RELEASE_BYTES // max(1, X[:1].nbytes))
        for start in range(0, X.shape[0], step):
            # N-D samples: checked as rows of their features
            chunk = X[start : start + step]
            _check_finite(chunk.reshape(len(chunk), -1), feature_names, where, start)
            release_pages(X)
    y = np.asarray(y)
    if np.issubdtype(y.dtype, np.number) and not np.isfinite(y).all():
        i = int(np.argwhere(~np.isfinite(y))[0][0])
        raise ConfigError("data", f"{where}the target of row {i + 1} is NaN or infinite")
    return RawData(X, y, list(feature_names), list(target_names), spec.task)


def _check_finite(X: np.ndarray, feature_names: list[str], where: str, start: int = 0) -> None:
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        i, j = bad[0]
        raise ConfigError("data", f"{where}row {start + i + 1}, feature {feature_names[j]!r} is "
                                  f"{X[i, j]}; {len(bad)} value(s) are NaN or infinite")


def _check_finite_sparse(X: Any, feature_names: list[str], where: str) -> None:
    bad = np.flatnonzero(~np.isfinite(X.data))
    if len(bad):  # the row of the k-th stored value: the first indptr entry past k
        k = bad[0]
        i, j = np.searchsorted(X.indptr, k, side="right") - 1, X.indices[k]
        raise ConfigError("data", f"{where}row {i + 1}, feature {feature_names[j]!r} is "
                                  f"{X.data[k]}; {len(bad)} value(s) are NaN or infinite")


def release_pages(X: np.ndarray) -> None:
    """Let go of the pages of a memory map that this process has read.

    Reading a memory-mapped file maps its pages into the process, and they
    count as its resident memory until unmapped: one pass over a file larger
    than memory would make the process as large as the file. ``MADV_DONTNEED``
    unmaps them (the file stays in the operating system's cache, and a later
    read maps the page again). Nothing happens for an ordinary array, or where
    the platform has no ``madvise`` (the OS then reclaims pages under pressure).

    Parameters
    ----------
    X : ndarray
        A `numpy.memmap` (as ``np.load(mmap_mode="r")`` returns), or any array.
    """
    pages = getattr(X, "_mmap", None)  # numpy.memmap's own mmap object
    if pages is not None and hasattr(mmap, "MADV_DONTNEED"):
        pages.madvise(mmap.MADV_DONTNEED)


@dataclass
class Preprocessor:
    """What was fitted on the training part: feature scaling, target scaling, classes.

    Stored in the metadata of a run's ``model.npz`` (`to_dict`), where ``bprop eval``
    and ``bprop predict`` read it back.
    """

    task: str
    feature_names: list[str]
    x_mean: np.ndarray
    x_scale: np.ndarray
    classes: list[Any] | None = None
    target_names: list[str] = field(default_factory=list)
    y_mean: np.ndarray | None = None
    y_scale: np.ndarray | None = None
    input_shape: list[int] | None = None

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardize features with the training statistics.

        N-D samples (``input_shape``, e.g. (1, 8, 8) images) are standardized
        per feature of their flattened view, that is per pixel and channel,
        each with its own training mean and scale (a constant border pixel
        keeps scale 1); the result has the shape of the input.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix, shape (N, D) or (N, *input_shape)
            A sparse X is only scaled (its ``x_mean`` is 0: centering would
            make every zero non-zero) and stays sparse.

        Returns
        -------
        ndarray of float64 (the shape of X) or CSR matrix, shape (N, D)

        Raises
        ------
        ConfigError
            If X has neither D columns nor samples of ``input_shape``.
        """
        if issparse(X):
            return self._transform_sparse(X)
        X = np.asarray(X, dtype=np.float64)
        if self.input_shape and X.ndim > 2 and list(X.shape[1:]) == list(self.input_shape):
            return self.transform(X.reshape(len(X), -1)).reshape(X.shape)
        if X.ndim != 2 or X.shape[1] != len(self.x_mean):
            want = "" if not self.input_shape else \
                f" (or samples of shape {tuple(self.input_shape)})"
            raise ConfigError(
                "input", f"expected {len(self.x_mean)} feature columns{want}, got shape {X.shape}"
            )
        bad = np.argwhere(~np.isfinite(X))
        if len(bad):
            i, j = bad[0]
            raise ConfigError("input", f"data row {i + 1}, feature {self.feature_names[j]!r} "
                                       f"is {X[i, j]}: predictions need finite inputs")
        # x/s - m/s rather than (x - m)/s: the difference of two huge numbers can overflow
        with np.errstate(over="ignore", invalid="ignore"):
            Z = X / self.x_scale - self.x_mean / self.x_scale
        bad = np.argwhere(~np.isfinite(Z))
        if len(bad):
            i, j = bad[0]
            raise ConfigError("input", f"data row {i + 1}, feature {self.feature_names[j]!r}: "
                                       f"{X[i, j]:g} is too large for the training scale "
                                       "(it overflows when standardized)")
        return Z

    def _transform_sparse(self, X: Any) -> Any:
        if X.shape[1] != len(self.x_scale):
            raise ConfigError(
                "input", f"expected {len(self.x_scale)} feature columns, got shape {X.shape}"
            )
        if np.any(self.x_mean):
            raise ConfigError("input", "the model was trained on centered dense features; "
                                       "pass the features as a dense array")
        # scaling column j by 1/s_j: a product with a diagonal matrix, which keeps X sparse
        return X.tocsr().astype(np.float64) @ diags(1.0 / self.x_scale, format="csr")

    def encode_target(self, y: np.ndarray) -> np.ndarray:
        """Class labels to indices 0..K-1, or standardized regression targets.

        Parameters
        ----------
        y : array-like, shape (N,) or (N, K)

        Returns
        -------
        ndarray
            int64 of shape (N,) for classification; float64 of shape (N, K)
            for regression.

        Raises
        ------
        ConfigError
            For a class label the model does not know.
        """
        if self.task == "classification":
            lookup = {c: i for i, c in enumerate(self.classes)}
            try:
                return np.array([lookup[_plain(v)] for v in y], dtype=np.int64)
            except KeyError as err:
                raise ConfigError(
                    "target", f"unknown class label {err.args[0]!r}; the model knows {self.classes}"
                ) from None
        y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        return (y - self.y_mean) / self.y_scale if self.y_mean is not None else y

    def decode_output(self, out: np.ndarray) -> np.ndarray:
        """Undo the target standardization of a regression network's output.

        Parameters
        ----------
        out : ndarray, shape (N, K)

        Returns
        -------
        ndarray, shape (N, K)
            In the targets' units.
        """
        return out * self.y_scale + self.y_mean if self.y_mean is not None else out

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and values, for JSON (model.npz metadata).

        Returns
        -------
        dict
        """
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocessor:
        """Rebuild from `to_dict` output.

        Parameters
        ----------
        d : dict

        Returns
        -------
        Preprocessor

        Raises
        ------
        ValueError
            When ``d`` is not what `to_dict` writes (a hand-edited or damaged
            model file): a missing entry, statistics that are not finite
            numbers, a scale that is not > 0, lengths that disagree, repeated
            feature names or classes.
        """
        if not isinstance(d, dict):
            raise ValueError("its preprocessing record is missing")
        for key in ("task", "feature_names", "x_mean", "x_scale"):
            if d.get(key) is None:
                raise ValueError(f"its preprocessing record has no {key!r}")
        if d["task"] not in ("classification", "regression"):
            raise ValueError(f"its preprocessing task is {d['task']!r}, "
                             "not 'classification' or 'regression'")
        arrays = {}
        for k in ("x_mean", "x_scale", "y_mean", "y_scale"):
            try:
                arrays[k] = None if d.get(k) is None else np.asarray(d[k], dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"its preprocessing {k} is not a list of numbers") from None
        names = list(d["feature_names"])
        for k in ("x_mean", "x_scale", "y_mean", "y_scale"):
            a = arrays[k]
            if a is not None and not np.isfinite(a).all():
                raise ValueError(f"its preprocessing {k} holds non-finite values")
        for k in ("x_scale", "y_scale"):
            if arrays[k] is not None and not (arrays[k] > 0).all():
                raise ValueError(f"its preprocessing {k} holds values <= 0 (a scale must be > 0)")
        if not (arrays["x_mean"].ndim == arrays["x_scale"].ndim == 1
                and len(arrays["x_mean"]) == len(arrays["x_scale"]) == len(names)):
            raise ValueError(f"its preprocessing records {len(names)} feature names, "
                             f"{arrays['x_mean'].size} means and {arrays['x_scale'].size} scales")
        if len(set(map(str, names))) != len(names):
            raise ValueError("its preprocessing repeats a feature name")
        classes = d.get("classes")
        if d["task"] == "classification":
            if not classes or len(set(map(str, classes))) != len(classes):
                raise ValueError("its preprocessing classes are missing or repeat a class")
        return cls(
            d["task"],
            names,
            classes=classes,
            target_names=d.get("target_names", []),
            input_shape=d.get("input_shape"),
            **arrays,
        )


class MappedRows:
    """Some rows of a memory-mapped X, standardized as they are read: data larger than memory.

    The Trainer gathers each minibatch with ``rows[idx]`` and predicts on
    slices ``rows[i:j]``: only those rows are read from the file, then
    standardized with the training statistics (`Preprocessor.transform`,
    the same arithmetic as for data in memory) and cast to ``dtype``. Only the
    rows asked for are read (`_read`), so the process stays small however
    large the file. ``np.asarray`` on it is refused:
    nothing reads the whole file by accident.

    Parameters
    ----------
    X : numpy.memmap, shape (N_file, D)
    rows : ndarray of int, shape (N,)
        Which rows of the file this part holds, in order.
    prep : Preprocessor
    dtype : float32 or float64, default=float64
    """

    ndim = 2

    def __init__(self, X: np.ndarray, rows: np.ndarray, prep: Preprocessor,
                 dtype: Any = np.float64) -> None:
        self.X, self.rows, self.prep, self.dtype = X, np.asarray(rows), prep, np.dtype(dtype)
        self.shape = (len(self.rows), X.shape[1])

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx: Any) -> np.ndarray:
        """The rows ``idx`` (an index array or a slice) as a dense standardized array.

        Returns
        -------
        ndarray of ``dtype``, shape (len(idx), D)
        """
        rows = np.atleast_1d(self.rows[idx])
        x = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        # a few MB at a time: standardizing makes float64 temporaries of what it reads
        step = max(1, RELEASE_BYTES // max(1, self.X[:1].nbytes))
        for i in range(0, len(rows), step):
            x[i : i + step] = self.prep.transform(self._read(rows[i : i + step]))
        if not np.isfinite(x).all():
            raise ConfigError("train.dtype", f"some features do not fit in {self.dtype} (they "
                                             "overflow to inf); use train.dtype: float64 or "
                                             "data.standardize: true")
        return x

    def _read(self, rows: np.ndarray) -> np.ndarray:
        """Rows of the file, read at their offsets in the map (each row is contiguous there).

        Rows scattered over the file are read with plain reads rather than through
        the map: a page fault maps a whole folio of the file's cache (measured on
        Linux 6.18: 16 random rows of a 200 MB file mapped 38 MB, 256 rows all of
        it), while a read copies only the row's bytes. A map that is not in C order
        is gathered through the map, its pages let go after each batch.
        """
        X = self.X
        if not (X.flags.c_contiguous and getattr(X, "filename", None)):
            x = X[rows]
            release_pages(X)
            return x
        out = np.empty((len(rows), X.shape[1]), dtype=X.dtype)
        row_bytes, buf = out[:1].nbytes, memoryview(out).cast("B")
        with open(X.filename, "rb", buffering=0) as f:
            for k, i in enumerate(rows.tolist()):
                f.seek(X.offset + i * row_bytes)
                f.readinto(buf[k * row_bytes : (k + 1) * row_bytes])
        return out

    def astype(self, dtype: Any, copy: bool = True) -> MappedRows:
        """The same rows, read as ``dtype`` (nothing is read now).

        Returns
        -------
        MappedRows
        """
        if np.dtype(dtype) == self.dtype and not copy:
            return self
        return MappedRows(self.X, self.rows, self.prep, dtype)

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError("MappedRows are read in batches (rows[idx]); converting them to one "
                        "array would read the whole file into memory")

    def __repr__(self) -> str:
        return f"MappedRows({self.shape[0]} of {self.X.shape[0]} rows, dtype={self.dtype})"


@dataclass
class Dataset:
    """Train, validation (may be None) and test parts, preprocessed.

    ``X_*`` have shape (N_part, D), or (N_part, ...) for N-D samples; ``y_*``
    are class indices of shape (N_part,) or standardized targets of shape
    (N_part, K).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    X_test: np.ndarray
    y_test: np.ndarray
    prep: Preprocessor

    @property
    def task(self) -> str:
        """``"classification"`` or ``"regression"``."""
        return self.prep.task

    @property
    def classes(self) -> list[Any] | None:
        """The class labels in index order (None for regression)."""
        return self.prep.classes

    @property
    def n_features(self) -> int:
        """D, the number of input features (of a sample's flattened view)."""
        return int(np.prod(self.X_train.shape[1:]))

    @property
    def n_outputs(self) -> int:
        """Classes for classification, target columns for regression."""
        if self.task == "classification":
            return len(self.classes)
        return self.y_train.shape[1]

    def astype(self, dtype: Any) -> Dataset:
        """The same parts with features (and regression targets) cast to ``dtype``.

        Parameters
        ----------
        dtype : numpy dtype or str

        Returns
        -------
        Dataset
            Class labels stay int64; arrays already of ``dtype`` are not copied.
        """

        def cast(a: Any, is_y: bool = False) -> Any:
            if a is None or (is_y and self.task == "classification"):
                return a
            out = a.astype(dtype, copy=False)
            if isinstance(out, MappedRows):
                return out  # each batch is checked as it is read
            values = out.data if issparse(out) else out
            if out is not a and not np.isfinite(values).all():
                what = "targets" if is_y else "features"
                raise ConfigError("train.dtype", f"some {what} do not fit in {np.dtype(dtype)} "
                                                 "(they overflow to inf); use train.dtype: "
                                                 "float64 or data.standardize: true")
            return out

        return Dataset(
            cast(self.X_train),
            cast(self.y_train, True),
            cast(self.X_val),
            cast(self.y_val, True),
            cast(self.X_test),
            cast(self.y_test, True),
            self.prep,
        )


def split(raw: RawData, cfg: dict[str, Any], *, task: str, seed: int) -> Dataset:
    """Split into train/val/test (stratified for classification) and standardize.

    The standardization is fitted on the training part only.

    Parameters
    ----------
    raw : RawData
    cfg : dict
        A checked ``data`` section (``test_size``, ``val_size``, ``stratify``,
        ``standardize``, ``standardize_target``).
    task : {"classification", "regression"}
    seed : int
        For the split.

    Returns
    -------
    Dataset

    Raises
    ------
    ConfigError
        If the targets do not suit the task, or the data cannot be split so.
    """
    from sklearn.model_selection import train_test_split

    y = raw.y
    classes = None
    if task == "classification":
        if y.ndim != 1:
            raise ConfigError("data", f"classification needs one target column, got {y.shape}")
        classes = sorted({_plain(v) for v in y}, key=lambda c: (str(type(c)), c))
        if len(classes) < 2:
            raise ConfigError("data", f"classification needs at least 2 classes, got {classes}")
    elif not np.issubdtype(y.dtype, np.number):
        raise ConfigError(
            "data",
            "regression needs numeric targets, got values such as "
            f"{short(_plain(y.flat[0]))} (use loss: SoftmaxNLL or data.task: classification "
            "for labels)",
        )
    strat = cfg["stratify"] and task == "classification"
    idx = np.arange(raw.X.shape[0])
    try:
        rest, test = train_test_split(
            idx, test_size=cfg["test_size"], random_state=seed, stratify=y if strat else None
        )
        val = None
        if cfg["val_size"] > 0:
            frac = cfg["val_size"] / (1 - cfg["test_size"])
            rest, val = train_test_split(
                rest, test_size=frac, random_state=seed + 1, stratify=y[rest] if strat else None
            )
    except ValueError as err:
        raise ConfigError(
            "data",
            f"cannot split {len(idx)} samples with test_size="
            f"{cfg['test_size']}, val_size={cfg['val_size']}: {err}"
            + (" (or set data.stratify: false)" if strat else ""),
        ) from None
    prep = _fit_preprocessor(raw, cfg, task, classes, rest)

    def features(i: np.ndarray) -> Any:
        if isinstance(raw.X, np.memmap):  # read per batch, never whole
            return MappedRows(raw.X, i, prep)
        return prep.transform(raw.X[i])  # a sparse part stays sparse (only scaled)

    parts = [
        (features(i), prep.encode_target(y[i])) if i is not None else (None, None)
        for i in (rest, val, test)
    ]
    return Dataset(*parts[0], *parts[1], *parts[2], prep)


def _fit_preprocessor(
    raw: RawData, cfg: dict[str, Any], task: str, classes: list[Any] | None, train: np.ndarray
) -> Preprocessor:
    # N-D samples: one feature per pixel (sparse and memory-mapped X are 2-D)
    d = int(np.prod(raw.X.shape[1:]))
    x_mean, x_scale = np.zeros(d), np.ones(d)
    if cfg["standardize"] and issparse(raw.X):
        x_scale = _sparse_scale(raw.X[train])
    elif cfg["standardize"] and isinstance(raw.X, np.memmap):
        x_mean, x_scale = _mean_scale_chunked(raw.X, np.sort(train))
    elif cfg["standardize"]:
        x_mean, x_scale = _mean_scale(raw.X.reshape(raw.X.shape[0], -1)[train])
    y_mean = y_scale = None
    if task == "regression" and cfg["standardize_target"]:
        y_mean, y_scale = _mean_scale(raw.y[train].astype(np.float64).reshape(len(train), -1))
    return Preprocessor(
        task, raw.feature_names, x_mean, x_scale, classes, raw.target_names, y_mean, y_scale,
        list(raw.X.shape[1:]) if raw.X.ndim > 2 else None,
    )


def _mean_scale(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and scale, computed so that they cannot overflow.

    Each column is divided by its largest magnitude first: ``a.std()`` of
    values near 1e300 overflows to inf (and every standardized value would
    become 0), while the std of ``a / max|a|`` is at most 1.
    """
    big = np.abs(a).max(axis=0) if len(a) else np.ones(a.shape[1:])
    big = np.where(big > 0, big, 1.0)
    u = a / big
    mean, std = big * u.mean(axis=0), big * u.std(axis=0)
    # A constant feature (digits' border pixels) keeps scale 1 instead of dividing by 0;
    # "constant" is relative to the column's magnitude, so tiny-valued features still scale.
    return mean, np.where(std > 1e-12 * big, std, 1.0)


def _sparse_scale(X: Any) -> np.ndarray:
    """Per-column standard deviation of a sparse X, for scaling without centering.

    As scikit-learn's ``StandardScaler(with_mean=False)``: subtracting the
    mean would turn every zero into a non-zero (a dense matrix), so sparse
    features are only divided by their standard deviation.
    """
    from sklearn.utils.sparsefuncs import mean_variance_axis

    mean, var = mean_variance_axis(X, axis=0)
    std = np.sqrt(var)
    # a constant column keeps scale 1; "constant" relative to the column's magnitude
    return np.where(std > 1e-12 * np.sqrt(var + mean**2), std, 1.0)


def _mean_scale_chunked(X: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_mean_scale` of ``X[rows]``, reading a few MB of rows at a time (a memory map).

    Two passes: the columns' largest magnitudes, then the mean and the sum of
    squared deviations of ``X / big``, merged chunk by chunk with Chan et
    al.'s pairwise update (no cancellation, whatever the columns' offsets).
    """
    step = max(1, RELEASE_BYTES // max(1, X[:1].nbytes))
    chunks = [rows[i : i + step] for i in range(0, len(rows), step)]
    big = np.zeros(X.shape[1])
    for r in chunks:
        big = np.maximum(big, np.abs(X[r]).max(axis=0))
        release_pages(X)
    big = np.where(big > 0, big, 1.0)
    n, mean, m2 = 0, np.zeros(X.shape[1]), np.zeros(X.shape[1])
    for r in chunks:
        u = X[r] / big
        release_pages(X)
        k, u_mean = len(u), u.mean(axis=0)
        delta = u_mean - mean
        m2 += ((u - u_mean) ** 2).sum(axis=0) + delta**2 * n * k / (n + k)
        mean += delta * k / (n + k)
        n += k
    std = np.sqrt(m2 / n)
    return big * mean, np.where(big * std > 1e-12 * big, big * std, 1.0)


def _plain(v: Any) -> Any:
    """A numpy scalar as a plain Python value, so that labels survive JSON."""
    v = v.item() if isinstance(v, np.generic) else v
    return int(v) if isinstance(v, float) and v.is_integer() else v


def guess_task(raw: RawData) -> str:
    """The task of a file's target when no loss is given.

    Labels if the target is not numeric, or holds a few integers (at most 50
    distinct values, and at most half as many as there are rows); otherwise
    numbers to regress. A config's ``loss`` settles any doubt.

    Parameters
    ----------
    raw : RawData

    Returns
    -------
    {"classification", "regression"}
    """
    y = raw.y
    if raw.task:
        return raw.task
    if y.ndim != 1:
        return "regression"
    if not np.issubdtype(y.dtype, np.number):
        return "classification"
    few = len(np.unique(y)) <= min(50, len(y) // 2)
    return "classification" if few and np.all(np.mod(y, 1) == 0) else "regression"
