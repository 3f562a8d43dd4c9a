"""`History`: what the training loop records for every epoch."""

from __future__ import annotations

import math
from collections.abc import Iterable


class History:
    """Per-epoch records: ``epoch``, ``loss``, ``val_loss``, ``val_accuracy``, ``lr``, ``seconds``.

    ``history["loss"]`` is the list of one column; ``history.records`` the
    list of dicts (one per epoch). Missing values (no validation data) are NaN.
    """

    columns = ("epoch", "loss", "val_loss", "val_accuracy", "lr", "seconds")

    def __init__(self, records: Iterable[dict[str, float]] = ()) -> None:
        self.records: list[dict[str, float]] = [dict(r) for r in records]

    def append(self, logs: dict[str, float]) -> None:
        """Record one epoch.

        Parameters
        ----------
        logs : dict of str to float
            The epoch's logs; only `columns` are kept, missing ones as NaN.
        """
        self.records.append({c: float(logs.get(c, math.nan)) for c in self.columns})

    def __getitem__(self, key: str) -> list[float]:
        """One column, one value per epoch (KeyError for an unknown column)."""
        if key not in self.columns:
            raise KeyError(f"unknown history column {key!r}; columns: {self.columns}")
        return [r[key] for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"History({len(self)} epochs)"
