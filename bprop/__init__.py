"""bprop: neural networks the way backpropagation is taught.

The tree, bottom to top (a package imports only from those above it here):

- the maths: `bprop.parameter`, `bprop.init`, `bprop.gradcheck`, `bprop.registry`,
  `bprop.validation`, `bprop.metrics`
- the reference core: `bprop.layers`, `bprop.losses`, `bprop.optim`, each class
  written as its formulas (a model's table, `bprop.layers.summary`, beside them)
- `bprop.fused`: the fast training engine, tested equal to the reference core
- `bprop.modelfile`: ``save`` / ``load`` (npz + JSON, never pickle), the one atomic write
- `bprop.training`: the one loop (`Trainer`), callbacks, history, checkpoints
  (written with `bprop.modelfile`)
- `bprop.config` and `bprop.cli`: YAML runs and the ``bprop`` command
- `bprop.estimators`, then `bprop.plots` and `bprop.export`, and `bprop.classic`,
  `bprop.graph`, `bprop.exercises`
"""

import sys as _sys

from . import layers, losses, optim
from .gradcheck import check_gradients, numerical_gradient
from .modelfile import load, save
from .parameter import Parameter
from .training import History, Trainer, fit
from .training import callbacks as _callbacks
from .training import trainer as _trainer

__version__ = "0.1.0"

# Import paths of earlier releases, kept working: `from bprop.callbacks import
# EarlyStopping`, `bprop.train.Trainer`, `bprop.io.load`.
_sys.modules.setdefault(f"{__name__}.callbacks", _callbacks)
_sys.modules.setdefault(f"{__name__}.train", _trainer)
_sys.modules.setdefault(f"{__name__}.io", _sys.modules[f"{__name__}.modelfile"])
callbacks, train = _callbacks, _trainer
io = _sys.modules[f"{__name__}.modelfile"]

__all__ = [
    "History",
    "Parameter",
    "Trainer",
    "check_gradients",
    "fit",
    "layers",
    "load",
    "losses",
    "numerical_gradient",
    "optim",
    "save",
    "__version__",
]
