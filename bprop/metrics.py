"""Tracking a logged metric: `Monitor`, shared by early stopping and `ReduceOnPlateau`."""

from __future__ import annotations

import math

from .validation import check_nonnegative


class Monitor:
    """Tracks the best value of one logged metric ("loss", "val_loss", "val_accuracy", ...).

    ``mode="auto"`` minimises losses and maximises accuracies and scores.
    """

    def __init__(self, monitor: str, mode: str = "auto", min_delta: float = 0.0) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if ("acc" in monitor or "score" in monitor) else "min"
        self.monitor, self.mode = monitor, mode
        self.min_delta = check_nonnegative("min_delta", min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def value(self, logs: dict[str, float]) -> float:
        if self.monitor not in logs:
            raise ValueError(
                f"cannot monitor {self.monitor!r}: the epoch logs hold {sorted(logs)} "
                "(val_* metrics need validation data)"
            )
        return float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        """Whether ``value`` beats the best by more than min_delta (and record it)."""
        if math.isnan(value):
            return False
        better = (
            value < self.best - self.min_delta
            if self.mode == "min"
            else value > self.best + self.min_delta
        )
        if better:
            self.best = value
        return better


