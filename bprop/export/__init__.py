"""Take a trained model elsewhere: ONNX export of bprop models and estimators.

- `to_onnx(model, n_features, *, preprocessing=None, classes=None)`: a bprop
  model (with a run's standardization and class labels) as an
  ``onnx.ModelProto``; ``bprop export RUN -o model.onnx`` on the command line.
- `CONVERTERS` / `register_converter`: one converter per layer class, keyed
  by the class name; a new layer becomes exportable with one function.
- Importing this package registers bprop's `MLPClassifier` and `MLPRegressor`
  with skl2onnx (when it is installed), so ``skl2onnx.to_onnx`` converts
  pipelines that contain them.

Needs the ``onnx`` extra: ``pip install 'bprop[onnx]'``.
"""

from .layers import CONVERTERS, convert_layer, register_converter
from .model import to_onnx
from .sklearn import register_estimators

__all__ = ["CONVERTERS", "convert_layer", "register_converter", "register_estimators",
           "to_onnx"]

register_estimators()
