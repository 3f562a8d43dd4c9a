"""The training loop: `Trainer` (the one loop), callbacks, history, checkpoints.

Stands on the reference core (`bprop.layers`, `bprop.losses`, `bprop.optim`)
and knows nothing of configs or the command line; `bprop.estimators` and
`bprop.cli` both train through `Trainer`.
"""

from .callbacks import Callback, EarlyStopping, ProgressBar
from .diagnostics import Diagnostics  # imported here so that configs can name it
from .history import History
from .trainer import DivergedError, Trainer, fit

__all__ = ["Callback", "Diagnostics", "DivergedError", "EarlyStopping", "History", "ProgressBar",
           "Trainer", "fit"]
