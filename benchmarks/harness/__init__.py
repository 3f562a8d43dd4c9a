"""The benchmark harness behind ``benchmarks/run.py``.

- `workload`: the one MLP task every contender trains, the cached data set
  and the in-process reference timing.
- `numpy_loops`: the GEMM bound and two hand-written numpy training loops.
- `peers`: bprop's Trainer and MLPClassifier, scikit-learn and PyTorch.
- `worker`: runs one contender in its own process and measures it.
- `report`: medians, normalized ratios and the markdown table.
"""
