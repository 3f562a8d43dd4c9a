"""`History`: what the training loop records for every epoch."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

#: the Trainer's own columns, in the order history.csv shows them
STANDARD = ("epoch", "loss", "l2", "objective", "accuracy", "val_loss", "val_accuracy", "lr",
            "seconds")
#: the columns every history has (NaN where there is no value: no validation data)
ALWAYS = ("epoch", "loss", "val_loss", "val_accuracy", "lr", "seconds")


class Record(dict):
    """One epoch's logs: a dict whose `ALWAYS` columns read as NaN when absent.

    ``"val_loss" in record`` stays False without validation data (early
    stopping on it says so), while ``record["val_loss"]`` is NaN, as a
    history.csv cell left empty.
    """

    def __missing__(self, key: str) -> float:
        if key in ALWAYS:
            return math.nan
        raise KeyError(key)


class History:
    """Per-epoch records: the Trainer's logs (`STANDARD` columns) and any callback's.

    ``history["loss"]`` is the list of one column (NaN for an epoch that has
    no value: no validation data, a column a callback started later);
    ``history.records`` the list of dicts, one per epoch; ``history.columns``
    the columns in use: `ALWAYS` and the other `STANDARD` ones present in some
    record (``l2``, ``objective``, ``accuracy``), in the `STANDARD` order,
    then every other numeric key in the order it first appeared.

    Parameters
    ----------
    records : iterable of dict of str to float, optional
        Epoch logs to start from (a checkpoint's `plain_records`), each
        copied into a `Record`.

    Examples
    --------
    >>> h = History()
    >>> h.append({"epoch": 1, "loss": 0.5})
    >>> h.append({"epoch": 2, "loss": 0.25, "grad_norm": 3.0})
    >>> h.columns, h["grad_norm"]
    (('epoch', 'loss', 'val_loss', 'val_accuracy', 'lr', 'seconds', 'grad_norm'), [nan, 3.0])
    """

    def __init__(self, records: Iterable[dict[str, float]] = ()) -> None:
        self.records: list[dict[str, Any]] = [Record(r) for r in records]

    def append(self, logs: dict[str, float]) -> None:
        """Record one epoch.

        Parameters
        ----------
        logs : dict of str to float
            The epoch's logs. A `Record` (what the Trainer passes) is kept
            itself, not a copy, so a number a callback adds to it in
            ``on_epoch_end`` is recorded too; another dict is copied.
        """
        self.records.append(logs if isinstance(logs, Record) else Record(logs))

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of the records: `STANDARD` ones first, then the others."""
        return columns_of(self.records)

    def plain_records(self) -> list[dict[str, float]]:
        """The records with their numeric values only, as floats (for checkpoints).

        Returns
        -------
        list of dict of str to float
            One dict per epoch; non-numeric values (and booleans) left out,
            so the result is plain JSON.
        """
        return [{k: float(v) for k, v in r.items() if _is_number(v)} for r in self.records]

    def __getitem__(self, key: str) -> list[float]:
        """One column, one value per epoch.

        Parameters
        ----------
        key : str
            A column of `columns` (``"loss"``, ``"val_accuracy"``, ...).

        Returns
        -------
        list of float, length len(history)
            NaN for an epoch without a value.

        Raises
        ------
        KeyError
            For an unknown column (the message lists the known ones).
        """
        if key not in self.columns:
            raise KeyError(f"unknown history column {key!r}; columns: {self.columns}")
        return [float(r.get(key, math.nan)) for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"History({len(self)} epochs)"


def columns_of(records: Iterable[dict[str, Any]], known: Iterable[str] = ()) -> tuple[str, ...]:
    """The columns of ``records`` (as `History.columns`), with ``known`` ones kept.

    Parameters
    ----------
    records : iterable of dict
        Epoch records.
    known : iterable of str
        Columns already in use (a history.csv header): the result holds them
        all, so that the new rows of a long run need not be scanned again.

    Returns
    -------
    tuple of str
    """
    seen = dict.fromkeys(known)
    seen.update(dict.fromkeys(k for r in records for k in r if _is_number(r[k])))
    return tuple([c for c in STANDARD if c in seen or c in ALWAYS]
                 + [c for c in seen if c not in STANDARD])


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) or (
        hasattr(v, "dtype") and getattr(v, "ndim", 1) == 0 and v.dtype.kind in "fiu")
