"""The ``sweep:`` section: which config values a sweep tries, as a grid or a random search.

A sweep runs one config many times, each time with a few values changed. The
values are named by the same key paths as command-line overrides::

    sweep:
      method: grid              # every combination of the lists, in order (default)
      params:
        optimizer.lr: [0.01, 0.1]
        model.0.out: [8, 32]    # 2 x 2 = 4 trials

    sweep:
      method: random            # `trials` draws, reproducible from `seed`
      trials: 8
      seed: 0
      params:
        optimizer.lr: {distribution: loguniform, low: 1.0e-3, high: 0.3}
        optimizer.momentum: {distribution: uniform, low: 0.5, high: 0.99}
        train.batch_size: {distribution: randint, low: 8, high: 64}   # inclusive
        model.0.out: [8, 16, 32]                                       # a list: a choice

``monitor`` (default: the config's ``train.monitor``) names the metric the
sweep's table is sorted by. `check_sweep` checks the section; `expand` turns
it into the list of `Trial` objects, each a tuple of ``key=value`` overrides.
On the command line, ``key=v1,v2`` adds a list and ``key=v`` fixes a value
(`parse_cli`). The loader checks the section but leaves it out of the resolved
run config: one trial is an ordinary run, never a sweep.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .fields import ConfigError, Field, check_mapping, did_you_mean, join_path
from .loader import dump_flow

__all__ = ["DISTRIBUTIONS", "MONITORS", "Trial", "check_sweep", "drop_keys", "expand",
           "maximize", "parse_cli", "probe_values", "split_values"]

DISTRIBUTIONS = ("uniform", "loguniform", "randint")
MONITORS = ("val_loss", "val_accuracy", "loss", "train_loss", "test_loss", "test_accuracy",
            "val_rmse", "val_r2", "test_rmse", "test_r2")
SPEC = {
    "method": Field(str, "grid", choices=("grid", "random")),
    "params": Field(object, None, nullable=True),  # checked key by key below
    "trials": Field(int, 10, low=1),
    "seed": Field(int, 0, low=0),
    "monitor": Field(str, None, nullable=True, choices=MONITORS),
}
DIST = {
    "distribution": Field(str, ..., choices=DISTRIBUTIONS),
    "low": Field(float, ...),
    "high": Field(float, ...),
}
# Sampled numbers keep 6 significant digits: trial names and configs stay readable,
# and the grid of a random search is still far finer than any effect it can measure.
DIGITS = 6


@dataclass(frozen=True)
class Trial:
    """One point of a sweep: the overrides that turn the base config into this run.

    Attributes
    ----------
    values : tuple of (str, str)
        ``(key path, value as YAML text)`` for each swept key, in the sweep's order.
    """

    values: tuple[tuple[str, str], ...]

    @property
    def overrides(self) -> list[str]:
        """``["key=value", ...]``, as ``bprop train`` takes them."""
        return [f"{k}={v}" for k, v in self.values]

    @property
    def name(self) -> str:
        """The trial's directory name: its overrides, made safe for a file name.

        The same overrides give the same name, so that running a sweep again
        finds its earlier trials; a name that had to be shortened or cleaned
        gets a hash of the overrides, so that two trials never share one.
        """
        text = ",".join(self.overrides) or "base"
        safe = re.sub(r"[^A-Za-z0-9._=,+-]", "_", text)
        if safe != text or len(safe) > 100:
            digest = hashlib.sha1(text.encode()).hexdigest()[:8]
            safe = f"{safe[:80]}-{digest}"
        return safe


def yaml_text(value: Any) -> str:
    """``value`` as one line of YAML flow text, read back by the config loader as itself."""
    return dump_flow(value)


def split_values(text: str) -> list[str]:
    """Split ``"0.1,0.01"`` at the commas outside brackets, braces and quotes.

    ``"{type: SGD, lr: 0.1},Adam"`` gives two values; ``"[8, 16]"`` one.
    """
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def parse_cli(items: Iterable[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Sort the command line's ``key=value`` items into fixed overrides and swept lists.

    Parameters
    ----------
    items : iterable of str
        ``key=v`` (a fixed override, applied to every trial and to the sweep
        section itself) or ``key=v1,v2,...`` (a list of values to sweep).

    Returns
    -------
    fixed : list of str
        The fixed overrides, as given.
    params : dict of str to list of str
        Key path -> the values' YAML texts, in the order given.

    Raises
    ------
    ConfigError
        If an item is not ``key=value`` or a list has an empty value.
    """
    fixed, params = [], {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(item, "an override must look like key.path=value "
                                    "(or key.path=v1,v2 to sweep)")
        values = split_values(text)
        if len(values) == 1:
            fixed.append(item)
            continue
        if not all(values):
            raise ConfigError(key, f"empty value in {text!r}; separate values by single "
                                   "commas (key=v1,v2)")
        params[key] = values
    return fixed, params


def _check_key(path: str, key: Any, keys: tuple[str, ...] | None) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(path, f"a swept key must be a key path such as optimizer.lr, "
                                f"got {key!r}")
    head = key.strip().replace("[", ".").split(".")[0]
    if keys is not None and head not in keys:
        allowed = [k for k in keys if k != "sweep"]
        raise ConfigError(join_path(path, key), f"unknown key {head!r}"
                                                f"{did_you_mean(head, allowed)}; a swept key "
                                                f"starts with one of {', '.join(allowed)}")
    return key.strip()


def _check_param(path: str, value: Any, method: str) -> Any:
    """A list of values (grid: the axis; random: a uniform choice) or a distribution."""
    if isinstance(value, list):
        if not value:
            raise ConfigError(path, "needs at least one value")
        return value
    if not isinstance(value, Mapping):
        return [value]  # one value: the same in every trial
    if method == "grid":
        raise ConfigError(path, f"a grid needs a list of values, got {dict(value)!r}; "
                                "distributions are for method: random")
    dist = check_mapping(path, value, DIST)
    low, high = dist["low"], dist["high"]
    if dist["distribution"] == "randint":
        for k in ("low", "high"):
            if not float(dist[k]).is_integer():
                raise ConfigError(join_path(path, k), f"randint needs an integer, "
                                                      f"got {value[k]!r}")
        low, high = int(low), int(high)
    if high < low or (high == low and dist["distribution"] != "randint"):
        raise ConfigError(path, f"needs low < high, got low {low!r}, high {high!r}")
    if dist["distribution"] == "loguniform" and low <= 0:
        raise ConfigError(join_path(path, "low"), f"loguniform needs low > 0, got {low!r}")
    return {"distribution": dist["distribution"], "low": low, "high": high}


def check_sweep(raw: Any, *, keys: tuple[str, ...] | None = None,
                path: str = "sweep") -> dict[str, Any]:
    """Check a ``sweep:`` section and fill in its defaults.

    Parameters
    ----------
    raw : mapping or None
        The section as read from YAML (None: an empty grid).
    keys : tuple of str, optional
        The config's top-level keys; a swept key must start with one of them.
    path : str
        The section's key path, for messages.

    Returns
    -------
    dict
        ``method``, ``params`` (key path -> list of values, or a distribution
        ``{distribution, low, high}``), ``trials``, ``seed``, ``monitor``.

    Raises
    ------
    ConfigError
        Naming the key path (``sweep.params.optimizer.lr``) and what is allowed.
    """
    spec = check_mapping(path, raw, SPEC)
    params = spec["params"] or {}
    where = join_path(path, "params")
    if not isinstance(params, Mapping):
        raise ConfigError(where, f"must be a mapping of key paths to lists of values, "
                                 f"got {params!r}")
    spec["params"] = {}
    for key, value in params.items():
        key = _check_key(where, key, keys)
        spec["params"][key] = _check_param(join_path(where, key), value, spec["method"])
    return spec


def add_params(spec: dict[str, Any], cli: Mapping[str, list[str]]) -> dict[str, Any]:
    """``spec`` with the command line's lists added (a key given in both: the command line's)."""
    params = {k: v for k, v in spec["params"].items()
              if key_path(k) not in {key_path(c) for c in cli}}
    for key, texts in cli.items():
        params[key] = [_Text(t) for t in texts]
    return {**spec, "params": params}


def key_path(key: str) -> str:
    """A key path in one spelling: ``model[0].out`` and ``model.0.out`` are the same key."""
    return key.strip().replace("[", ".").replace("]", "")


def drop_keys(spec: dict[str, Any], fixed: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """``spec`` without the keys that the command line fixes to one value.

    ``bprop sweep c.yaml optimizer.lr=0.05`` on a config whose ``sweep:``
    section sweeps ``optimizer.lr``: the command line wins, as it does over
    any other value of the YAML file, and the key is no longer swept.

    Parameters
    ----------
    spec : dict
        As returned by `check_sweep`.
    fixed : iterable of str
        The fixed ``key=value`` overrides (see `parse_cli`).

    Returns
    -------
    spec : dict
        A copy without those keys.
    dropped : list of str
        The overrides that replaced a swept key, for a note to the user.
    """
    by_path = {key_path(item.partition("=")[0]): item for item in fixed}
    params, dropped = {}, []
    for key, value in spec["params"].items():
        if key_path(key) in by_path:
            dropped.append(by_path[key_path(key)])
        else:
            params[key] = value
    return {**spec, "params": params}, dropped


def probe_values(param: Any) -> list[str]:
    """YAML texts of a swept key's values to try it with: a list's values, or a
    distribution's ends (``low`` and ``high``)."""
    if isinstance(param, list):
        return [_text(v) for v in param]
    return [_text(param[k]) for k in ("low", "high")]


class _Text(str):
    """A value given on the command line: kept as the user typed it (``1e-3`` stays
    ``1e-3``, which YAML would otherwise read back as a string and quote)."""


def _text(value: Any) -> str:
    return str(value) if isinstance(value, _Text) else yaml_text(value)


def _draw(rng: np.random.Generator, param: Any) -> Any:
    if isinstance(param, list):
        return param[int(rng.integers(len(param)))]
    low, high, dist = param["low"], param["high"], param["distribution"]
    if dist == "randint":
        return int(rng.integers(low, high + 1))
    x = math.exp(rng.uniform(math.log(low), math.log(high))) if dist == "loguniform" \
        else rng.uniform(low, high)
    return float(f"{x:.{DIGITS}g}")


def expand(spec: Mapping[str, Any]) -> list[Trial]:
    """The sweep's trials, in a fixed order.

    A grid is every combination of the lists, the last key varying fastest; a
    random search draws ``trials`` points from one generator seeded with
    ``seed``, each key in order, so the same spec gives the same trials (and
    more trials extend the list). A point drawn twice runs once.

    Parameters
    ----------
    spec : mapping
        As returned by `check_sweep` (or `add_params`).

    Returns
    -------
    list of Trial
    """
    keys = list(spec["params"])
    if spec["method"] == "grid":
        points = itertools.product(*(spec["params"][k] for k in keys))
    else:
        rng = np.random.default_rng(spec["seed"])
        points = [[_draw(rng, spec["params"][k]) for k in keys] for _ in range(spec["trials"])]
    trials = (Trial(tuple((k, _text(v)) for k, v in zip(keys, point, strict=True)))
              for point in points)
    return list(dict.fromkeys(trials))


def maximize(metric: str) -> bool:
    """Whether a larger ``metric`` is better (accuracy, R^2) or a smaller one (losses, RMSE)."""
    return metric.endswith(("accuracy", "r2"))
