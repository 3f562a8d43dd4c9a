"""Plain state dicts of small objects, for checkpoints.

Callbacks and learning-rate schedules keep their resumable state in plain
attributes (counters, best values, a base learning rate, best weights);
`plain_state` collects them and `load_plain_state` puts them back, so that a
checkpointed run resumes with its schedules and early-stopping counters intact.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .metrics import Monitor


def plain_state(obj: Any) -> dict[str, Any]:
    """The plain attributes of ``obj``: numbers, strings, None, arrays and lists of
    arrays (copied), and the best value of each `Monitor` attribute (as ``"name.best"``).

    Parameters
    ----------
    obj : object
        Any object whose ``vars()`` hold its state.

    Returns
    -------
    dict
        JSON-able values and numpy arrays, keyed by attribute name.
    """
    state: dict[str, Any] = {}
    for key, value in vars(obj).items():
        if isinstance(value, (int, float, str, bool, type(None))):
            state[key] = value
        elif isinstance(value, np.ndarray):
            state[key] = value.copy()
        elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
            state[key] = [v.copy() for v in value]
        elif isinstance(value, Monitor):
            state[f"{key}.best"] = value.best
    return state


def load_plain_state(obj: Any, state: dict[str, Any]) -> None:
    """Set the attributes saved by `plain_state` back on ``obj``.

    Parameters
    ----------
    obj : object
    state : dict
        From `plain_state`; a ``"name.best"`` key sets the best value of the
        `Monitor` in attribute ``name``.
    """
    for key, value in state.items():
        owner, _, attr = key.rpartition(".")
        if owner and isinstance(getattr(obj, owner, None), Monitor):
            setattr(getattr(obj, owner), attr, value)
        else:
            setattr(obj, key, value)
