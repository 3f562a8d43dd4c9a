"""YAML run configs: load, apply ``key.path=value`` overrides, validate, resolve.

`load_config` turns a YAML file into a *resolved* config: every key present,
every default filled in, every value checked, in a fixed order, so that the
copy written to a run directory is re-runnable as is. Anything wrong raises
`bprop.config.fields.ConfigError`, whose message names the key path, the bad value
and what is allowed.

The format (every key but ``model`` has a default; see ``configs/*.yaml``)::

    name: digits            # run name; default: the file's stem
    seed: 0                 # one seed for data, split, init, shuffling, dropout
    imports: [my_layers]    # modules that register your own classes (runs their code)
    data: {name: digits, test_size: 0.2, val_size: 0.1, standardize: true}
    model:                  # the layer stack; input sizes are inferred
      - {type: Linear, out: 64}
      - ReLU                # a bare name for a layer without arguments
      - {type: Linear, out: 10}
    loss: SoftmaxNLL        # default: SoftmaxNLL for classes, SquaredError for numbers
    optimizer: {type: SGD, lr: 0.1, momentum: 0.9}
    schedule: Constant      # or {type: StepDecay, step_size: 10, gamma: 0.5}, ...
    callbacks: []           # registered callbacks, e.g. [{type: EarlyStopping, patience: 5}]
    train: {epochs: 30, batch_size: 32, dtype: float32}
    # train also takes: shuffle, early_stopping, monitor, patience, min_delta,
    # restore_best_weights, checkpoint_every, engine, drop_last (leave out each epoch's
    # last, smaller batch) and diagnostics (write diagnostics.csv/.png into the run)
    sweep: {params: {optimizer.lr: [0.01, 0.1]}}   # `bprop sweep` only (config.sweep)

Reading YAML: PyYAML implements YAML 1.1, where ``0123`` is the octal 83, ``1:30`` the
base-60 number 90 and ``yes`` a boolean; a key written twice silently keeps
the last value; and ``&anchor``/``*alias`` let a 1 KB file expand into
gigabytes (the "billion laughs"). `Loader` is PyYAML's safe loader with
these three changed:

- scalars follow the YAML 1.2 core schema: ``true``/``false`` are the only
  booleans, integers are decimal (``0123`` is 123), ``0o17`` or ``0x1f``;
  floats are decimal with an optional exponent (``1e-3`` is a number, as in
  JSON) or ``.inf``/``.nan``; ``~``, ``null`` and nothing are null; every
  other plain scalar (``1:30``, ``yes``, ``1_000``, ``2024-01-01``) is a string,
  which the config's typed fields then refuse, quoting the text;
- a key written twice in one mapping is an error naming both lines;
- anchors and aliases are an error (a config never needs them).

`Dumper` writes with the same rules, so that a string such as ``"0o17"`` is
quoted and reads back as itself.
"""

from __future__ import annotations

import copy
import os
import re
from typing import Any

import yaml

from ..registry import did_you_mean
from . import data, datasets, entries
from .fields import ConfigError, Field, check_mapping, join_path, short

__all__ = ["ConfigError", "Dumper", "Loader", "YAMLError", "apply_overrides", "dump", "dump_flow",
           "load_config", "load_text", "load_yaml", "resolve"]

# --- YAML 1.2 (see the module docstring) ---

YAMLError = yaml.YAMLError

_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")

_RESOLVERS = [
    ("tag:yaml.org,2002:bool", _BOOL, list("tTfF")),
    ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789")),
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
]


def _core_resolvers(base: type) -> dict[Any, list[tuple[str, re.Pattern]]]:
    """``base``'s implicit resolvers with YAML 1.1's scalars swapped for 1.2 core's."""
    dropped = {"bool", "int", "float", "null", "timestamp", "value"}
    table: dict[Any, list[tuple[str, re.Pattern]]] = {}
    for first, items in base.yaml_implicit_resolvers.items():
        kept = [(tag, rx) for tag, rx in items if tag.rsplit(":", 1)[-1] not in dropped]
        if kept:
            table[first] = kept
    for tag, rx, firsts in _RESOLVERS:
        for ch in firsts:
            table.setdefault(ch, []).append((tag, rx))
    return table


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core scalars, no duplicate keys, no aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name, *name) are not allowed in a config; "
                "write the value out", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: PyYAML's own message follows
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None, None,
                        f"duplicate key {short(key)} (first at line {first.line + 1}); "
                        "a key may appear once in a mapping", key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Any) -> int:
        text = self.construct_scalar(node)
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text, 10)

    def construct_yaml_float(self, node: Any) -> float:
        text = self.construct_scalar(node).lower()
        if text.endswith(".inf"):
            return float("-inf") if text.startswith("-") else float("inf")
        if text == ".nan":
            return float("nan")
        return float(text)

    def construct_yaml_bool(self, node: Any) -> bool:
        return self.construct_scalar(node).lower() == "true"


Loader.yaml_implicit_resolvers = _core_resolvers(yaml.SafeLoader)
Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
Loader.add_constructor("tag:yaml.org,2002:float", Loader.construct_yaml_float)
Loader.add_constructor("tag:yaml.org,2002:bool", Loader.construct_yaml_bool)


class Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting exactly the strings that `Loader` would not read back."""


Dumper.yaml_implicit_resolvers = _core_resolvers(yaml.SafeDumper)


def load_text(text: Any) -> Any:
    """Read YAML text (or a text stream) with `Loader`.

    Parameters
    ----------
    text : str or file object

    Returns
    -------
    object
        Plain dicts, lists, strings, numbers, booleans and None.

    Raises
    ------
    yaml.YAMLError
        For malformed YAML, a duplicate key or an anchor/alias, with the line
        and column in ``problem_mark``.

    Examples
    --------
    >>> load_text("seed: 0123\\nepochs: 1:30\\nlr: 1e-3")
    {'seed': 123, 'epochs': '1:30', 'lr': 0.001}
    """
    return yaml.load(text, Loader=Loader)  # noqa: S506 (Loader is a SafeLoader)


def dump_flow(value: Any) -> str:
    """``value`` as one line of YAML flow text that `load_text` reads back as itself.

    Parameters
    ----------
    value : object

    Returns
    -------
    str
    """
    text = yaml.dump(value, Dumper=Dumper, default_flow_style=True, sort_keys=False,
                     width=10_000)
    return text.strip().removesuffix("...").strip()


# --- the run config ---

TRAIN = {
    "epochs": Field(int, 30, low=1),
    "batch_size": Field(int, 32, low=1),
    "dtype": Field(str, "float64", choices=("float32", "float64")),
    "shuffle": Field(bool, True),
    "early_stopping": Field(bool, False),
    "monitor": Field(str, "val_loss", choices=("val_loss", "val_accuracy", "loss", "objective",
                                               "accuracy")),
    "patience": Field(int, 10, low=1),
    "min_delta": Field(float, 0.0, low=0),
    "restore_best_weights": Field(bool, False),
    "checkpoint_every": Field(int, 1, low=1),
    "engine": Field(str, "auto", choices=("auto", "reference", "fused")),
    "drop_last": Field(bool, False),
    "diagnostics": Field(bool, False),
}
TOP = ("name", "seed", "imports", "data", "model", "loss", "optimizer", "schedule", "callbacks",
       "train", "sweep")
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def import_modules(names: Any, path: str = "imports", *, search: tuple[str, ...] = ()) -> list[str]:
    """Import the modules that register a user's classes (a config's ``imports:``).

    Importing a module runs its code: a config that lists a module is as
    trusted as the module. Each is imported as Python would (``sys.path``);
    if it is not found there, the folders of ``search`` (the config's) and
    the working directory are tried after it, so a ``my_layers.py`` beside the
    config works without installing it.

    Parameters
    ----------
    names : object
        A list of dotted module names, as read from YAML (or given by
        ``bprop --import``).
    path : str
        The key path (or option) that named them, for messages.
    search : tuple of str
        Extra folders to look in after ``sys.path``.

    Returns
    -------
    list of str
        The names, checked.

    Raises
    ------
    ConfigError
        For a value that is not a list of module names, or a module that
        cannot be found or raises while it is imported (one line, naming it).
    """
    import importlib
    import sys

    if not isinstance(names, list):
        raise ConfigError(path, f"must be a list of module names, got {short(names)}")
    out = []
    for i, name in enumerate(names):
        where = join_path(path, i) if path == "imports" else path
        is_file = isinstance(name, str) and name.endswith(".py")
        if not isinstance(name, str) or not (is_file or _MODULE.fullmatch(name)):
            raise ConfigError(where, f"must be a module name such as my_layers or "
                                     f"pkg.layers, or a .py file, got {short(name)}")
        if is_file:
            out.append(_import_file(name, where, search))
            continue
        out.append(name)
        extra = [d for d in dict.fromkeys([*search, os.getcwd()]) if d not in sys.path]
        module = sys.modules.get(name)
        if module is None:
            sys.path.extend(extra)  # after sys.path: an installed module of that name wins
            try:
                module = importlib.import_module(name)
            except Exception as err:  # the user's code: whatever it raises is one line
                raise ConfigError(where, f"cannot import {name!r}: {type(err).__name__}: "
                                         f"{err}") from None
            finally:
                for d in extra:
                    sys.path.remove(d)
        file = getattr(module, "__file__", None)
        on_path = {os.path.abspath(d or ".") for d in sys.path}
        if "." not in name and file and os.path.dirname(os.path.abspath(file)) not in on_path:
            # found beside the config (or in the working directory), not on sys.path: the
            # run records the file, so that eval, predict and --resume (from anywhere, with
            # the run's own config.yaml) find it again
            out[-1] = os.path.abspath(file)
    return out


def _import_file(name: str, where: str, search: tuple[str, ...]) -> str:
    """Import a module from a ``.py`` file (relative to the config's folder, then the
    working directory); returns its absolute path."""
    import importlib.util
    import sys

    candidates = [name] if os.path.isabs(name) else [
        os.path.join(d, name) for d in dict.fromkeys([*search, os.getcwd()])]
    file = next((os.path.abspath(c) for c in candidates if os.path.isfile(c)), None)
    if file is None:
        raise ConfigError(where, f"no file {name!r} (looked in "
                                 f"{', '.join(os.path.dirname(c) or '.' for c in candidates)})")
    stem = os.path.splitext(os.path.basename(file))[0]
    loaded = sys.modules.get(stem)
    if loaded is not None and os.path.abspath(getattr(loaded, "__file__", "") or "") == file:
        return file
    spec = importlib.util.spec_from_file_location(stem, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[stem] = module  # as `import stem` would: its classes pickle and name it
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[stem]
        raise ConfigError(where, f"cannot import {name!r}: {type(err).__name__}: {err}") from None
    return file


def load_yaml(path: str) -> dict[str, Any]:
    """Read a YAML mapping with `Loader` (YAML 1.2 scalars, no
    duplicate keys, no anchors or aliases).

    Parameters
    ----------
    path : str

    Returns
    -------
    dict
        The mapping as written (nothing checked yet).

    Raises
    ------
    ConfigError
        For a missing, unreadable, malformed or empty file, or one that does
        not hold a mapping; the message names the file (and line, for YAML errors).
    """
    try:
        with open(path, encoding="utf-8-sig") as f:
            raw = load_text(f)
    except FileNotFoundError:
        raise ConfigError(path, "no such file") from None
    except IsADirectoryError:
        raise ConfigError(path, "is a directory, expected a YAML file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(path, f"cannot read: {err}") from None
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        kind = "" if problem.startswith(("duplicate key", "anchors")) else "malformed YAML: "
        raise ConfigError(path, f"{kind}{where}{problem}") from None
    except RecursionError:
        raise ConfigError(path, "nested too deeply to be a config") from None
    if raw is None:
        raise ConfigError(path, "is empty; a config needs at least a 'model' list")
    if not isinstance(raw, dict):
        raise ConfigError(path, f"must hold a YAML mapping (key: value lines), "
                                f"got {type(raw).__name__}")
    return raw


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with each ``key.path=value`` applied.

    The value is read as a YAML 1.2 scalar or flow collection (``0.1`` is a float,
    ``true`` a bool, ``[1, 2]`` a list, ``0123`` the integer 123, ``1:30`` a
    string; see `Loader`); list items are addressed by index
    (``model.0.out=32`` or ``model[0].out=32``). A bare component name is
    expanded on the way (``optimizer.lr=...`` works on ``optimizer: SGD``).

    Parameters
    ----------
    raw : dict
        A config as read from YAML (left unchanged).
    overrides : list of str
        ``"key.path=value"`` items, applied in order.

    Returns
    -------
    dict

    Raises
    ------
    ConfigError
        For an item without ``=``, a value that is not YAML, or a path through
        something that is not a mapping or list (or an index out of range).
    """
    raw = copy.deepcopy(raw)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(item, "an override must look like key.path=value")
        try:
            value = load_text(text)
        except YAMLError as err:
            problem = getattr(err, "problem", None) or "not YAML"
            raise ConfigError(key, f"cannot read the value {short(text)} as YAML: "
                                   f"{problem}") from None
        except RecursionError:
            raise ConfigError(key, f"the value {short(text)} is nested too deeply") from None
        parts = key.strip().replace("[", ".").replace("]", "").split(".")
        _set_path(raw, parts, value, key)
    return raw


def _set_path(node: Any, parts: list[str], value: Any, key: str) -> None:
    path = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
                raise ConfigError(key, f"{path} has {len(node)} items; {short(part)} is not "
                                       f"an index in 0..{len(node) - 1}")
            idx = int(part)
        elif isinstance(node, dict):
            idx = part
        else:
            raise ConfigError(key, f"{path} is {short(node)}, not a mapping or list")
        if last:
            node[idx] = value
            return
        child = node.get(idx) if isinstance(node, dict) else node[idx]
        if child is None:
            child = {}
        elif isinstance(child, str):  # `optimizer: SGD` becomes `{type: SGD}`
            child = {"name" if (path, idx) == ("", "data") else "type": child}
        node[idx] = child
        node, path = child, join_path(path, idx)


def resolve(raw: dict[str, Any], *, name: str = "run", base_dir: str = ".",
            find_files: bool = True) -> dict[str, Any]:
    """Validate a raw config and return it with every default filled in.

    Parameters
    ----------
    raw : dict
        As read from YAML (after overrides).
    name : str
        The default run name (the config file's stem).
    base_dir : str
        Where a relative ``data.path`` is looked up first (the config's folder);
        the working directory is tried second. The resolved path is absolute.
    find_files : bool, default=True
        Look ``data.path`` up; False keeps it as written (a finished run's
        config, read back by ``eval`` and ``predict``, which do not need it).

    Returns
    -------
    dict
        Every key of `TOP` in order (``imports`` and ``callbacks`` only
        when there are some), every default filled in, every value checked (``loss`` stays
        None when left out: the data decides).

    Raises
    ------
    ConfigError
        Naming the key path of the first problem, the bad value and what is
        allowed, with "did you mean" for near misses.
    """
    for key in raw:
        if key not in TOP:
            raise ConfigError(str(key)[:60], f"unknown key {short(key)}"
                                             f"{did_you_mean(str(key), TOP)}; "
                                             f"allowed: {', '.join(TOP)}")
    if "model" not in raw:
        raise ConfigError("model", "required key missing: the list of layers, e.g. "
                                   "[{type: Linear, out: 10}]")
    out: dict[str, Any] = {
        "name": check_name(Field(str, name).check("name", raw.get("name", name))),
        "seed": Field(int, 0, low=0).check("seed", raw.get("seed", 0)),
    }
    if raw.get("imports"):  # first: the modules register the classes the rest names
        out["imports"] = import_modules(raw["imports"], search=(base_dir,))
    out["data"] = data.check_config(raw.get("data"))
    for key in datasets.FILE_KEYS:  # files named in the data section: made absolute
        if key in out["data"] and find_files:
            out["data"][key] = find_file(out["data"][key], base_dir, f"data.{key}")
    train = check_mapping("train", raw.get("train"), TRAIN)
    out["model"] = entries.check_model(raw["model"])
    out["loss"] = entries.check_loss(raw.get("loss"))
    out["optimizer"] = entries.check_optimizer(raw.get("optimizer"))
    out["schedule"] = entries.check_schedule(raw.get("schedule"), epochs=train["epochs"])
    if raw.get("callbacks"):  # left out when empty: configs without any read as before
        out["callbacks"] = entries.check_callbacks(raw["callbacks"])
    out["train"] = train
    check_monitors(out)
    # Checked here so that a typo fails `bprop train` too, but left out of the
    # resolved config: a run (one sweep trial included) is never a sweep.
    if raw.get("sweep") is not None:
        from .sweep import check_sweep  # only a config with a sweep section needs the sweep rules

        check_sweep(raw["sweep"], keys=TOP)
    return out


def with_imports(cfg: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """A resolved config that also lists ``names`` under ``imports`` (``bprop --import``).

    Parameters
    ----------
    cfg : dict
        A resolved config (left unchanged).
    names : list of str
        Module names, already imported.

    Returns
    -------
    dict
        The config with ``imports`` after ``seed``, each module once, so that
        a run's ``config.yaml`` imports them again for ``eval``, ``predict``,
        ``export`` and ``--resume``.
    """
    merged = list(dict.fromkeys([*cfg.get("imports", []), *names]))
    out = {k: v for k, v in cfg.items() if k in ("name", "seed")}
    out["imports"] = merged
    out.update({k: v for k, v in cfg.items() if k not in out})
    return out


def check_name(name: str) -> str:
    """A run name: a file name (the run directory's), never a path.

    Parameters
    ----------
    name : str

    Returns
    -------
    str

    Raises
    ------
    ConfigError
        For an empty name, ``.``/``..``, a path separator or a control character.
    """
    bad = [c for c in name if c in "/\\" or ord(c) < 32]
    if not name.strip() or name in (".", "..") or bad or len(name) > 100:
        raise ConfigError("name", f"must be a file name (the run directory's), at most 100 "
                                  f"characters without '/', '\\' or control characters; got "
                                  f"{short(name)}")
    return name


def watched_metrics(cfg: dict[str, Any]) -> list[tuple[str, str]]:
    """The metrics early stopping and ReduceOnPlateau watch, with their key paths.

    Parameters
    ----------
    cfg : dict
        A config whose ``train`` and ``schedule`` are checked.

    Returns
    -------
    list of (str, str)
        ``[("train.monitor", "val_loss"), ...]``.
    """
    train, sched = cfg["train"], cfg["schedule"]
    watched = [("train.monitor", train["monitor"])] if train["early_stopping"] else []
    if isinstance(sched, dict) and "monitor" in sched:
        watched.append(("schedule.monitor", sched["monitor"]))
    return watched


def check_monitors(cfg: dict[str, Any]) -> None:
    """Check that each watched metric is one the epoch logs hold, with validation data
    for a ``val_*`` metric.

    Whether ``val_accuracy`` has classes to count is known once the data is
    loaded (`bprop.config.build.resolve_task` checks it).

    Parameters
    ----------
    cfg : dict
        A config whose ``data``, ``train`` and ``schedule`` are checked.

    Raises
    ------
    ConfigError
        Naming ``train.monitor`` or ``schedule.monitor``.
    """
    metrics = TRAIN["monitor"].choices
    for path, metric in watched_metrics(cfg):
        if metric not in metrics:
            raise ConfigError(path, f"must be one of {', '.join(metrics)}, got {metric!r}"
                                    + did_you_mean(metric, metrics))
        if metric.startswith("val_") and cfg["data"]["val_size"] == 0:
            raise ConfigError(path, f"{metric!r} needs validation data, but data.val_size "
                                    "is 0; set data.val_size > 0 or monitor 'loss'")


def find_file(path: str, base_dir: str, key: str = "data.path") -> str:
    """The absolute path of a file, looked up in ``base_dir`` first, then here.

    Parameters
    ----------
    path : str
        As written (``~`` expanded).
    base_dir : str
        The config's folder.
    key : str
        The key path or option that named the file, for messages.

    Returns
    -------
    str

    Raises
    ------
    ConfigError
        If no readable file is found.
    """
    path = os.path.expanduser(path)
    tried = [path] if os.path.isabs(path) else [os.path.join(base_dir, path), path]
    for candidate in tried:
        if os.path.isfile(candidate):
            if not os.access(candidate, os.R_OK):
                raise ConfigError(key, f"file is not readable: {candidate!r}")
            return os.path.abspath(candidate)
    looked = " or ".join(repr(t) for t in dict.fromkeys(tried))
    folders = [t for t in tried if os.path.isdir(t)]
    if folders:
        raise ConfigError(key, f"{folders[0]!r} is a directory; give a data file (.csv, .npz)")
    raise ConfigError(key, f"no such file: {looked}")


def load_config(path: str, overrides: list[str] = ()) -> dict[str, Any]:
    """Read, override and resolve the config at ``path``.

    Parameters
    ----------
    path : str
        A YAML file; its stem is the default run name.
    overrides : list of str
        ``"key.path=value"`` items (see `apply_overrides`).

    Returns
    -------
    dict
        The resolved config (see `resolve`).

    Raises
    ------
    ConfigError
    """
    raw = apply_overrides(load_yaml(path), list(overrides))
    stem = os.path.splitext(os.path.basename(path))[0]
    return resolve(raw, name=stem, base_dir=os.path.dirname(os.path.abspath(path)))


def dump(cfg: dict[str, Any]) -> str:
    """The config as YAML, in its key order, lists of layers in flow style.

    Parameters
    ----------
    cfg : dict
        A resolved config.

    Returns
    -------
    str
        YAML text that `load_yaml` and `resolve` read back to ``cfg``.
    """
    lines = []
    for key, value in cfg.items():
        if key == "model":
            lines.append("model:")
            lines += [f"  - {dump_flow(layer)}" for layer in value]
        elif isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {k}: {dump_flow(v)}" for k, v in value.items()]
        else:
            lines.append(f"{key}: {dump_flow(value)}")
    return "\n".join(lines) + "\n"


