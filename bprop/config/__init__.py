"""Run configs: YAML -> checked config (fields declared per class) -> built objects.

`load_config` reads and checks a YAML file once (`loader`, with the field
rules of `fields`); `build.prepare` turns the checked config into data, a
model, a loss, an optimizer and callbacks ready for `bprop.training.Trainer`.
"""

from .fields import ConfigError
from .loader import apply_overrides, dump, load_config, load_yaml, resolve

__all__ = ["ConfigError", "apply_overrides", "dump", "load_config", "load_yaml", "resolve"]
