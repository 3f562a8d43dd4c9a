"""The one registry: lookups and hints, user classes of every kind, and config
fields declared beside each class (checked without building anything)."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import bprop
from bprop import registry
from bprop.config import entries
from bprop.config.build import prepare
from bprop.config.fields import ConfigError, parse_constraint
from bprop.config.loader import resolve
from bprop.layers import Layer, Linear, ReLU, Sequential
from bprop.losses import SquaredError
from bprop.optim.base import Optimizer
from bprop.optim.schedules import Schedule
from bprop.parameter import Parameter
from bprop.training.callbacks import Callback

# What a constructor needs that a config never sets (the run supplies it).
SUPPLIED = {"n_in": 3, "params": lambda: [Parameter(np.zeros((2, 2)))]}
REQUIRED = {"n_out": 2, "epochs": 5}


def test_did_you_mean_is_one_function_for_registry_and_config():
    assert registry.did_you_mean("Relu", ["ReLU", "Tanh"]) == " (did you mean 'ReLU'?)"
    assert registry.did_you_mean("momentom", ["lr", "momentum"]) == " (did you mean 'momentum'?)"
    assert registry.did_you_mean("zzz", ["ReLU"]) == ""
    assert registry.did_you_mean(None, ["ReLU"]) == ""
    with pytest.raises(ValueError, match=r"unknown layer 'Relu' \(did you mean 'ReLU'\?\)"):
        registry.lookup("layer", "Relu")
    with pytest.raises(ConfigError) as info:  # the config says it with the same words
        resolve({"model": ["Relu"]})
    assert "unknown layer 'Relu' (did you mean 'ReLU'?); allowed: " in str(info.value)
    with pytest.raises(ConfigError, match=r"\(did you mean 'momentum'\?\)"):
        resolve({"model": ["ReLU"], "optimizer": {"momentom": 0.9}})


def test_aliases_are_scikit_learns_activation_names():
    for alias, cls in [("relu", "ReLU"), ("logistic", "Sigmoid"), ("tanh", "Tanh"),
                       ("identity", "Identity")]:
        assert registry.lookup("layer", alias) is registry.lookup("layer", cls)


def test_build_is_the_one_dict_to_object_builder():
    spec = {"type": "Sequential", "layers": [{"type": "Linear", "n_in": 3, "n_out": 4},
                                             {"type": "relu"}]}
    net = registry.build("layer", spec)
    assert isinstance(net, Sequential) and isinstance(net[1], ReLU)
    # context goes only to constructors that take it, and never over the spec
    layer = registry.build("layer", {"type": "Linear", "n_out": 2}, n_in=5, params=None)
    assert layer.weight.value.shape == (5, 2)
    assert registry.build("layer", "ReLU", n_in=5, dtype="float32").get_config() == {}
    with pytest.raises(ValueError, match="bad arguments for layer ReLU"):
        registry.build("layer", {"type": "ReLU", "slope": 1})


def _registered_fields():
    for kind in ("layer", "loss", "optimizer", "schedule", "callback"):
        for name, cls in registry.table(kind).items():
            for key, field in entries.fields_of(cls).items():
                yield pytest.param(kind, cls, key, field, id=f"{name}.{key}")


def _construct(kind, cls, **kwargs):
    args = {name: (v() if callable(v) else v) for name, v in SUPPLIED.items()
            if name in registry.arguments(cls)}
    args.update({k: v for k, v in REQUIRED.items() if k in registry.arguments(cls)})
    return registry.build(kind, {"type": cls.__name__, **args, **kwargs})


@pytest.mark.parametrize("kind, cls, key, field", list(_registered_fields()))
def test_declared_ranges_agree_with_the_constructors(kind, cls, key, field):
    # The config checks a class's arguments from its declaration, without
    # building it; the constructor checks them again for direct use. Both must
    # draw the line in the same place.
    name = entries._ORIGINAL.get(key, key)
    extra = {field.when[0]: field.when[1]} if field.when else {}
    inside, outside = [], []
    for bound, is_open, step in [(field.low, field.low_open, -1), (field.high, field.high_open, 1)]:
        if bound is None:
            continue
        bound, delta = field.kind(bound), (1 if field.kind is int else 1e-3)
        (outside if is_open else inside).append(bound)
        outside.append(bound + step * delta)
    if field.choices:
        inside.extend(field.choices)
        outside.append("no-such-choice")
    for value in inside:
        field.check(key, value)
        _construct(kind, cls, **extra, **{name: value})
    for value in outside:
        with pytest.raises(ConfigError, match=rf"{key} must be"):
            field.check(key, value)
        with pytest.raises(ValueError):
            _construct(kind, cls, **extra, **{name: value})


def test_checking_a_config_builds_nothing(monkeypatch):
    built = []

    def refusing(init):
        @functools.wraps(init)  # the signature stays: the config reads it
        def refuse(self, *args, **kwargs):
            built.append(type(self).__name__)
            raise AssertionError("built while checking")
        return refuse

    entries.fields_of.cache_clear()
    for kind in ("layer", "loss", "optimizer", "schedule"):
        for cls in registry.table(kind).values():
            monkeypatch.setattr(cls, "__init__", refusing(cls.__init__))
    cfg = resolve({"model": [{"type": "Linear", "out": 8}, "ReLU", {"type": "Dropout", "p": 0.1},
                             {"type": "LeakyReLU"}, {"type": "Linear", "out": 10}],
                   "loss": "SoftmaxNLL", "optimizer": {"type": "Adam", "lr": 0.01},
                   "schedule": {"type": "ReduceOnPlateau", "factor": 0.5}})
    assert cfg["model"][2] == {"type": "Dropout", "p": 0.1} and not built
    with pytest.raises(ConfigError, match=r"^optimizer.lr: lr must be a number > 0, got -1"):
        resolve({"model": ["ReLU"], "optimizer": {"lr": -1}})
    monkeypatch.undo()
    with pytest.raises(AssertionError):  # the probe itself works: building does call it
        monkeypatch.setattr(ReLU, "__init__", refusing(ReLU.__init__))
        registry.build("layer", "ReLU")
    assert built == ["ReLU"]


def test_a_field_that_applies_only_when_another_says_so():
    # std with the default glorot init was checked, then silently dropped
    for std in (0.5, -1):
        with pytest.raises(ConfigError, match=r"^model\[0\]\.std: std applies only when init "
                                              r"is 'normal' \(here 'glorot_uniform'\)"):
            resolve({"model": [{"type": "Linear", "out": 3, "std": std}]})
    cfg = resolve({"model": [{"type": "Linear", "out": 3}]})
    assert cfg["model"][0] == {"type": "Linear", "out": 3, "init": "glorot_uniform"}
    cfg = resolve({"model": [{"type": "Linear", "out": 3, "init": "normal", "std": 0.5}]})
    assert cfg["model"][0]["std"] == 0.5


@pytest.mark.parametrize("spec", ["~1", "> x", "[0, 1", "0..1", "> 0 when init = normal"])
def test_unreadable_declarations_are_refused(spec):
    with pytest.raises(ValueError, match="config_fields: cannot read"):
        parse_constraint(spec)


def test_users_register_their_own_of_every_kind(clean_registry, tmp_path):
    @registry.register("layer")
    class Scale(Layer):
        config_fields = {"factor": "> 0"}

        def __init__(self, factor: float = 2.0) -> None:
            self.factor = factor

        def forward(self, x):
            return self.factor * x

        def backward(self, dy):
            return self.factor * dy

        def get_config(self):
            return {"factor": self.factor}

    @registry.register("loss")
    class HalfSquaredError(SquaredError):
        def forward(self, pred, target, sample_weight=None):
            return 0.5 * super().forward(pred, target, sample_weight)

        def backward(self):
            return 0.5 * super().backward()

    @registry.register("optimizer")
    class SignSGD(Optimizer):
        def __init__(self, params, lr: float = 0.01, *, weight_decay: float = 0.0) -> None:
            super().__init__(params, lr, weight_decay)

        def step(self):
            for p in self.params:
                p.value -= self.lr * np.sign(p.grad)

    @registry.register("schedule")
    class Halving(Schedule):
        def lr(self, epoch):
            return self.base_lr * 0.5**epoch

    @registry.register("callback")
    class Count(Callback):
        def __init__(self) -> None:
            self.epochs = 0

        def on_epoch_end(self, trainer, epoch, logs):
            self.epochs += 1

    raw = {"data": {"name": "regression", "n_samples": 60, "n_features": 3, "n_informative": 3},
           "model": [{"type": "Linear", "out": 4}, {"type": "Scale", "factor": 0.5},
                     {"type": "Linear", "out": 1}],
           "loss": "HalfSquaredError", "optimizer": {"type": "SignSGD", "lr": 0.01},
           "schedule": "Halving", "callbacks": ["Count"], "train": {"epochs": 2}}
    with pytest.raises(ConfigError, match=r"^model\[0\]\.factor: factor must be a number > 0"):
        resolve({**raw, "model": [{"type": "Scale", "factor": 0}]})
    with pytest.raises(ConfigError, match=r"^optimizer\.lr: lr must be"):  # inherited
        resolve({**raw, "optimizer": {"type": "SignSGD", "lr": 0}})
    with pytest.raises(ConfigError, match=r"^callbacks\[0\]\.type: unknown callback 'Cont'"):
        resolve({**raw, "callbacks": ["Cont"]})
    run = prepare(resolve(raw))
    (count,) = run.callbacks
    assert isinstance(count, Count) and count in run.trainer.callbacks
    assert isinstance(run.optimizer, SignSGD) and isinstance(run.loss, HalfSquaredError)
    run.trainer.fit(run.data.X_train, run.data.y_train, 2)
    assert count.epochs == 2 and run.trainer.history["lr"] == [0.01, 0.005]
    path = bprop.save(run.model, tmp_path / "m.npz")  # model files know the user's layer too
    assert bprop.load(path)[1].factor == 0.5


def test_the_registry_imports_nothing_above_the_maths(bprop_imports):
    # register_layer used to import bprop.layers.base: the registry sits below the layers
    assert bprop_imports(bprop_imports.root / "registry.py") <= {"validation", "parameter"}


def test_register_refuses_what_it_cannot_register():
    with pytest.raises(ValueError, match="unknown registry kind"):
        registry.register("metric")
    with pytest.raises(ValueError, match="decorates a class"):
        registry.register("layer")(lambda x: x)
    with pytest.raises(ValueError, match="Layer subclass"):
        registry.register_layer(int)
    assert math.isclose(registry.lookup("layer", "Linear")(2, 2, rng=0).weight.value.size, 4)
    assert registry.lookup("layer", "Linear") is Linear


def test_a_plugin_cannot_silently_take_a_built_in_name(clean_registry):
    # a user's class registered as "Linear" replaced the library's for every run, even
    # those that never used the plugin
    from bprop.layers import Layer, Linear
    from bprop.registry import lookup, register

    class Linear_(Layer):  # noqa: N801
        pass

    with pytest.raises(ValueError, match=r"'Linear' is taken by bprop\.layers\.linear\.Linear"):
        register("layer", "Linear")(Linear_)
    with pytest.raises(ValueError, match="'relu' is taken"):
        register("layer", "MyReLU", aliases=("relu",))(Linear_)
    assert lookup("layer", "Linear") is Linear
    register("layer", "Linear", override=True)(Linear_)
    assert lookup("layer", "Linear") is Linear_


def test_a_user_class_taking_out_keeps_its_argument(clean_registry):
    # `out` was renamed to the library's `n_out` for every class, a user's included
    import numpy as np

    from bprop.config.entries import build
    from bprop.layers import Layer
    from bprop.registry import register

    @register("layer")
    class TakesOut(Layer):
        def __init__(self, n_in=None, out: int = 4):
            super().__init__()
            self.out = out

        def forward(self, x):
            return np.asarray(x)

        def backward(self, dy):
            return dy

    assert build("layer", {"type": "TakesOut", "out": 5}, n_in=3).out == 5


@pytest.mark.parametrize("error, said", [(RuntimeError("boom\nsecond line"),
                                          "model[0] (Boom): RuntimeError: boom second line"),
                                         (ValueError(""), "model[0]: Boom: ValueError")])
def test_a_constructor_error_is_one_line(clean_registry, error, said):
    from bprop.config.entries import build
    from bprop.config.fields import ConfigError
    from bprop.layers import Layer
    from bprop.registry import register

    @register("layer")
    class Boom(Layer):
        def __init__(self, n_in=None):
            raise error

    with pytest.raises(ConfigError) as info:
        build("layer", {"type": "Boom"}, path="model[0]", n_in=3)
    assert str(info.value) == said
