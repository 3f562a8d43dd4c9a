"""What the merges of issue 11 promise: each concept in one place, and no detours.

- a config without a ``sweep:`` section never runs the sweep rules;
- `Diagnostics` is built only when ``train.diagnostics`` asks for it, and a
  config can still name it as a callback;
- saving and restoring training state lives in `bprop.training.checkpoints`
  (plain attributes, random generators, files), and schedules keep their own;
- a loss checks sample weights with the estimators' check (one wording).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import bprop.config.sweep as sweep_rules
from bprop import registry
from bprop.config.fields import ConfigError
from bprop.config.loader import dump_flow, load_text, resolve
from bprop.losses import SoftmaxNLL
from bprop.metrics import Monitor
from bprop.optim import SGD, ReduceOnPlateau
from bprop.parameter import Parameter
from bprop.training.checkpoints import (
    dump_rng_state,
    load_plain_state,
    load_rng_state,
    plain_state,
)

MINIMAL = {"model": [{"type": "Linear", "out": 3}], "data": {"name": "iris"}}


def test_sweep_rules_run_only_for_a_sweep_section(monkeypatch):
    calls = []

    def spy(raw, **kwargs):
        calls.append(raw)
        return {}

    monkeypatch.setattr(sweep_rules, "check_sweep", spy)
    resolve(dict(MINIMAL), name="plain")
    assert calls == []  # no sweep section: the sweep module is never asked
    resolve({**MINIMAL, "sweep": {"params": {"optimizer.lr": [0.1, 0.2]}}}, name="swept")
    assert calls == [{"params": {"optimizer.lr": [0.1, 0.2]}}]


def test_a_bad_sweep_section_still_fails_a_plain_run():
    with pytest.raises(ConfigError, match="sweep"):
        resolve({**MINIMAL, "sweep": {"methd": "grid"}}, name="typo")


def test_diagnostics_is_registered_without_building_a_run():
    from bprop.training.diagnostics import Diagnostics

    assert registry.lookup("callback", "Diagnostics") is Diagnostics


def test_yaml_12_rules_live_in_the_loader():
    assert load_text("a: 0123\nb: 1:30\nc: yes\nd: 1e-3") == {"a": 123, "b": "1:30",
                                                             "c": "yes", "d": 0.001}
    assert load_text(dump_flow({"s": "0o17", "n": [1, 2.5]})) == {"s": "0o17", "n": [1, 2.5]}


class _Counter:
    def __init__(self):
        self.wait, self.name, self.best_weights = 3, "x", [np.arange(3.0)]
        self.tracker = Monitor("val_loss", "min")
        self.tracker.best = 0.25
        self.skipped = object()  # not plain: left out


def test_plain_state_round_trip_keeps_monitor_best_and_copies_arrays():
    a = _Counter()
    state = plain_state(a)
    assert set(state) == {"wait", "name", "best_weights", "tracker.best"}
    a.best_weights[0][0] = 99.0
    assert state["best_weights"][0][0] == 0.0  # a copy, not the live array
    b = _Counter()
    b.wait, b.tracker.best = 0, math.inf
    load_plain_state(b, state)
    assert b.wait == 3 and b.tracker.best == 0.25


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.MT19937])
def test_rng_state_round_trip(bit_generator):
    rng = np.random.Generator(bit_generator(7))
    rng.random(5)
    text = dump_rng_state(rng)
    expected = rng.random(4)
    other = np.random.Generator(bit_generator(0))
    load_rng_state(other, text)
    np.testing.assert_array_equal(other.random(4), expected)


def test_schedule_state_round_trip_resumes_plateau_patience():
    p = Parameter(np.zeros(2))
    opt = SGD([p], lr=0.1)
    sched = ReduceOnPlateau(patience=2, factor=0.5)
    sched.begin(opt)
    sched.epoch_end(opt, 0, {"val_loss": 1.0})
    sched.epoch_end(opt, 1, {"val_loss": 2.0})  # one epoch without improvement
    state = sched.state_dict()
    assert state["_tracker.best"] == 1.0 and state["_wait"] == 1 and state["base_lr"] == 0.1
    resumed = ReduceOnPlateau(patience=2, factor=0.5)
    resumed.load_state_dict(state)
    resumed.epoch_end(opt, 2, {"val_loss": 1.5})  # the second epoch without: lr halves
    assert opt.lr == pytest.approx(0.05)


def test_loss_sample_weights_use_the_estimators_check():
    pred, target = np.zeros((3, 2)), np.array([0, 1, 1])
    with pytest.raises(ValueError, match="SoftmaxNLL: Input sample_weight contains NaN"):
        SoftmaxNLL().forward(pred, target, sample_weight=np.array([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="SoftmaxNLL: Negative values"):
        SoftmaxNLL().forward(pred, target, sample_weight=np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="SoftmaxNLL: sample_weight must have shape"):
        SoftmaxNLL().forward(pred, target, sample_weight=np.ones(2))
    w = np.array([1.0, 0.0, 3.0])
    loss = SoftmaxNLL().forward(pred, target, sample_weight=w)
    assert loss == pytest.approx(math.log(2))  # uniform logits: every sample costs log 2


# The rows of README's "Where things live", lowest first: a module imports only from its own
# row or those below (layout case l: optim/schedules.py imported the training loop's callbacks)
ROWS = [{"parameter", "init", "gradcheck", "registry", "validation", "metrics"},
        {"layers", "losses", "optim"}, {"fused"}, {"modelfile"}, {"training"}]


@pytest.mark.parametrize("row", range(len(ROWS)))
def test_each_lower_package_imports_only_from_below(row, bprop_imports):
    allowed = set().union(*ROWS[: row + 1])
    for name in sorted(ROWS[row]):
        package = bprop_imports.root / name
        files = sorted(package.rglob("*.py")) if package.is_dir() else [package.with_suffix(".py")]
        for path in files:
            above = bprop_imports(path) - allowed
            where = path.relative_to(bprop_imports.root)
            assert not above, f"{where} imports bprop.{sorted(above)}"
