"""The fused engine: a whole training step over packed buffers, tested equal to the reference.

The reference core (`bprop.layers`, `bprop.losses`, `bprop.optim`) is what
students read; this package is an optimisation of one thing only, the
training step of a stack of the library's own layers, loss and optimizer.
`bprop.training.Trainer` chooses it with ``engine="auto"`` (whenever
`unsupported` returns None) or ``engine="fused"``.

- `blas`: gemm/gemv/axpy through numpy's own OpenBLAS (ctypes), with a
  self-test and the ``BPROP_NUMPY_BLAS=0`` escape to plain numpy;
- `packing`: parameters and optimizer state copied into flat buffers;
- `kernels`: in-place activations, dropout and fused losses;
- `compiled`: one-pass ReLU and softmax-loss kernels when numba is installed
  (the optional extra ``bprop[fast]``, opt-in with ``BPROP_NUMBA=1``);
- `engine`: `FusedStep`, the compiled step;
- `sparse`: `SparseStep`, the compiled step for a scipy.sparse X, updating
  the Parameters in place.
"""

from .engine import FusedStep, flatten, unsupported
from .sparse import SparseStep

__all__ = ["FusedStep", "SparseStep", "flatten", "unsupported"]
