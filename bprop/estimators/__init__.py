"""Drop-in replacements for scikit-learn's MLP estimators, built on bprop.

Change one import line::

    from bprop.estimators import MLPClassifier, MLPRegressor

and the same parameters mean the same model, trained by bprop's own training
loop, with extras scikit-learn does not offer (class_weight, dropout, custom
layer stacks, callbacks, a validation loss curve and the network itself as
``model_``).
"""

from ..validation import InvalidParameterError
from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["InvalidParameterError", "MLPClassifier", "MLPRegressor"]
