"""Run configs: YAML -> checked config (fields declared per class) -> built objects.

`load_config` reads and checks a YAML file once (`loader`, with the field
rules of `fields`); `build.prepare` turns the checked config into data, a
model, a loss, an optimizer and callbacks ready for `bprop.training.Trainer`.
"""

from typing import Any

from .fields import ConfigError

__all__ = ["ConfigError", "apply_overrides", "dump", "load_config", "load_yaml", "resolve"]


def __getattr__(name: str) -> Any:
    # The YAML reader (and PyYAML) loads on first use: the estimators import this package
    # for `layers=` stacks and never read YAML (5 MB less resident memory).
    if name in __all__:
        from . import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
