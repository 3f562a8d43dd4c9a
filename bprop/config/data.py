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

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..registry import did_you_mean
from . import datasets
from .fields import ConfigError, Field, check_mapping, join_path, short

__all__ = ["Dataset", "Preprocessor", "RawData", "check_config", "load", "split"]

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
    """Arrays as loaded, before splitting: ``X`` (n, d) floats (or (n, ...) N-D samples
    from an .npz file), ``y`` (n,) or (n, k)."""

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
        (`bprop.config.loader.resolve` makes it absolute).
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
    X = np.asarray(X, dtype=np.float64)
    if X.ndim < 2 or len(X) != len(y):
        raise ConfigError(
            "data", f"expected X of shape (n, d) and y of length n, got {X.shape} and {np.shape(y)}"
        )
    if len(X) < 3:
        raise ConfigError("data", f"need at least 3 samples to split, got {len(X)}")
    where = f"{cfg['path']!r}: " if "path" in cfg else ""
    rows = X.reshape(len(X), -1)  # N-D samples: checked as rows of their features
    bad = np.argwhere(~np.isfinite(rows))
    if len(bad):
        i, j = bad[0]
        raise ConfigError("data", f"{where}row {i + 1}, feature {feature_names[j]!r} is "
                                  f"{rows[i, j]}; {len(bad)} value(s) are NaN or infinite")
    y = np.asarray(y)
    if np.issubdtype(y.dtype, np.number) and not np.isfinite(y).all():
        i = int(np.argwhere(~np.isfinite(y))[0][0])
        raise ConfigError("data", f"{where}the target of row {i + 1} is NaN or infinite")
    return RawData(X, y, list(feature_names), list(target_names), spec.task)


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
        X : array-like, shape (N, D) or (N, *input_shape)

        Returns
        -------
        ndarray of float64, the shape of X

        Raises
        ------
        ConfigError
            If X has neither D columns nor samples of ``input_shape``.
        """
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
        """
        arrays = {
            k: None if d.get(k) is None else np.asarray(d[k], dtype=np.float64)
            for k in ("x_mean", "x_scale", "y_mean", "y_scale")
        }
        return cls(
            d["task"],
            d["feature_names"],
            classes=d.get("classes"),
            target_names=d.get("target_names", []),
            input_shape=d.get("input_shape"),
            **arrays,
        )


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

        def cast(a: np.ndarray | None, is_y: bool = False) -> np.ndarray | None:
            if a is None or (is_y and self.task == "classification"):
                return a
            out = a.astype(dtype, copy=False)
            if out is not a and not np.isfinite(out).all():
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
    idx = np.arange(len(raw.X))
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
    parts = [
        (prep.transform(raw.X[i]), prep.encode_target(y[i])) if i is not None else (None, None)
        for i in (rest, val, test)
    ]
    return Dataset(*parts[0], *parts[1], *parts[2], prep)


def _fit_preprocessor(
    raw: RawData, cfg: dict[str, Any], task: str, classes: list[Any] | None, train: np.ndarray
) -> Preprocessor:
    rows = raw.X.reshape(len(raw.X), -1)  # N-D samples: one feature per pixel
    d = rows.shape[1]
    x_mean, x_scale = np.zeros(d), np.ones(d)
    if cfg["standardize"]:
        x_mean, x_scale = _mean_scale(rows[train])
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
