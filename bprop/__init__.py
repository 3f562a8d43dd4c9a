"""bprop: neural networks the way backpropagation is taught.

Layers with ``forward``/``backward`` (`bprop.layers`), losses
(`bprop.losses`), optimizers and schedules (`bprop.optim`), the one training
loop (`bprop.train`), a gradient checker (`bprop.gradcheck`) and model files
(`save` / `load`).
"""

from . import layers, losses, optim
from .gradcheck import check_gradients, numerical_gradient
from .io import load, save
from .parameter import Parameter
from .train import History, Trainer, fit

__version__ = "0.1.0"

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
