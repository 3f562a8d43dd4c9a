"""Config loading: defaults, overrides, and one clear message per bad config."""

from __future__ import annotations

import pytest
import yaml

from bprop.config.fields import ConfigError, Field
from bprop.config.loader import apply_overrides, dump, load_config, load_yaml, resolve

MINIMAL = {"model": [{"type": "Linear", "out": 10}]}


def test_minimal_config_gets_every_default():
    cfg = resolve(MINIMAL, name="mini")
    assert list(cfg) == ["name", "seed", "data", "model", "loss", "optimizer", "schedule",
                         "train"]
    assert cfg["name"] == "mini" and cfg["seed"] == 0
    assert cfg["data"]["name"] == "digits" and cfg["data"]["test_size"] == 0.2
    assert cfg["optimizer"] == {"type": "SGD", "lr": 0.01, "momentum": 0.0,
                                "nesterov": False, "weight_decay": 0.0, "clip_norm": None,
                                "clip_value": None}
    assert cfg["schedule"] == "Constant"
    assert cfg["train"]["epochs"] == 30 and cfg["train"]["dtype"] == "float64"
    assert cfg["model"] == [{"type": "Linear", "out": 10, "init": "glorot_uniform"}]


def test_resolved_config_round_trips_through_yaml():
    raw = {**MINIMAL, "model": [{"type": "Linear", "out": 8}, "ReLU",
                                {"type": "Dropout", "p": 0.1}, {"type": "Linear", "out": 10}],
           "schedule": "Cosine", "optimizer": {"type": "Adam"}}
    cfg = resolve(raw, name="x")
    assert cfg["schedule"] == {"type": "Cosine", "epochs": 30, "min_lr": 0.0}
    again = resolve(yaml.safe_load(dump(cfg)), name="other")
    assert again == cfg


def test_every_shipped_config_resolves():
    import glob

    paths = sorted(glob.glob("configs/*.yaml"))
    assert len(paths) >= 6
    for path in paths:
        cfg = load_config(path)
        assert resolve(yaml.safe_load(dump(cfg))) == cfg


def test_float_field_accepts_yaml_exponent_strings():
    # YAML 1.1 reads 1e-4 (no dot) as a string: accept it as the number it means.
    assert Field(float, 0.0, low=0).check("x", "1e-4") == 1e-4
    cfg = resolve(yaml.safe_load("model: [{type: Linear, out: 2}]\n"
                                 "optimizer: {type: SGD, weight_decay: 1e-4}"))
    assert cfg["optimizer"]["weight_decay"] == 1e-4


@pytest.mark.parametrize("overrides, check", [
    (["optimizer.lr=0.5"], lambda c: c["optimizer"]["lr"] == 0.5),
    (["train.shuffle=false"], lambda c: c["train"]["shuffle"] is False),
    (["model.0.out=3"], lambda c: c["model"][0]["out"] == 3),
    (["model[0].out=4"], lambda c: c["model"][0]["out"] == 4),
    (["data=iris"], lambda c: c["data"]["name"] == "iris"),
    (["data.name=moons", "data.noise=0.3"], lambda c: c["data"]["noise"] == 0.3),
    (["schedule.type=StepDecay", "schedule.step_size=5"],
     lambda c: c["schedule"] == {"type": "StepDecay", "step_size": 5, "gamma": 0.1}),
    (["optimizer={type: Adam, lr: 0.002}"], lambda c: c["optimizer"]["beta1"] == 0.9),
    (["model=[{type: Linear, out: 5}, Tanh, {type: Linear, out: 10}]"],
     lambda c: c["model"][1] == "Tanh"),
])
def test_overrides_are_typed_as_yaml(overrides, check):
    raw = {**MINIMAL, "optimizer": "SGD", "schedule": "Constant"}
    assert check(resolve(apply_overrides(raw, overrides)))


def test_overrides_do_not_modify_the_input():
    raw = {"model": [{"type": "Linear", "out": 10}]}
    apply_overrides(raw, ["model.0.out=3"])
    assert raw["model"][0]["out"] == 10


BAD = [  # (config or override list, key path, words the message must contain)
    ({"modle": []}, "modle", "did you mean 'model'"),
    ({"data": {}}, "model", "required"),
    ({"model": []}, "model", "non-empty list"),
    ({"model": {"type": "Linear"}}, "model", "list"),
    ({"model": [{"out": 3}]}, "model[0]", "'type'"),
    ({"model": ["Relu"]}, "model[0].type", "did you mean 'ReLU'"),
    ({"model": [{"type": "Linear"}]}, "model[0].out", "required"),
    ({"model": [{"type": "Linear", "out": 0}]}, "model[0].out", ">= 1"),
    ({"model": [{"type": "Linear", "out": 2, "outs": 3}]}, "model[0].outs", "did you mean"),
    ({"model": [{"type": "Linear", "out": 2, "init": "glorot"}]}, "model[0].init",
     "glorot_uniform"),
    ({"model": [{"type": "Dropout", "p": 1.5}]}, "model[0].p", "[0, 1)"),
    ({"model": [{"type": "Sequential"}]}, "model[0].type", "directly"),
    (["loss=SoftmaxNL"], "loss.type", "did you mean 'SoftmaxNLL'"),
    (["optimizer.type=RMSprop"], "optimizer.type", "allowed"),
    (["optimizer.lr=-1"], "optimizer.lr", "> 0"),
    (["optimizer.lr=fast"], "optimizer.lr", "'fast'"),
    (["optimizer.momentom=0.9"], "optimizer.momentom", "did you mean 'momentum'"),
    (["optimizer.momentum=1.5"], "optimizer.momentum", "[0, 1)"),
    (["schedule=StepDecay", "schedule.step_size=0"], "schedule.step_size", ">= 1"),
    (["schedule=Warmup"], "schedule.type", "allowed"),
    (["train.epochs=ten"], "train.epochs", "an integer"),
    (["train.batch_size=true"], "train.batch_size", "a boolean"),
    (["train.dtype=float16"], "train.dtype", "float32, float64"),
    (["train.early_stopping=true", "data.val_size=0"], "train.monitor", "val_size"),
    (["schedule={type: ReduceOnPlateau, monitor: val_los}"], "schedule.monitor",
     "did you mean 'val_loss'"),
    (["data.name=digit"], "data.name", "did you mean 'digits'"),
    (["data.test_size=1.5"], "data.test_size", "(0, 1)"),
    (["data.test_size=0.7", "data.val_size=0.3"], "data.val_size", "< 1"),
    (["data.name=moons", "data.n_samples=5.5"], "data.n_samples", "an integer"),
    (["data.name=blobs", "data.centerz=3"], "data.centerz", "did you mean 'centers'"),
    (["data.name=csv"], "data.path", "required"),
    (["seed=-1"], "seed", ">= 0"),
    (["model.7.out=3"], "model.7.out", "index"),
]


@pytest.mark.parametrize("bad, path, words", BAD)
def test_bad_configs_name_the_key_path(bad, path, words):
    raw = bad if isinstance(bad, dict) else apply_overrides(MINIMAL, [])
    try:
        if isinstance(bad, list):
            raw = apply_overrides(raw, bad)
        resolve(raw)
    except ConfigError as err:
        assert err.path == path, str(err)
        assert words in str(err), str(err)
        assert "\n" not in str(err)
    else:
        pytest.fail(f"{bad} was accepted")


@pytest.mark.parametrize("text, words", [
    ("model: [{type: Linear, out: 10}\n", "malformed YAML: line 2"),
    ("model:\n\t- ReLU\n", "malformed YAML"),
    ("", "is empty"),
    ("- a\n- b\n", "mapping"),
])
def test_bad_yaml_names_the_file(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="bad.yaml") as info:
        load_yaml(str(path))
    assert words in str(info.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_yaml(str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="is a directory"):
        load_yaml(str(tmp_path))


def test_data_path_is_found_beside_the_config(tmp_path, monkeypatch):
    (tmp_path / "d.csv").write_text("a,b\n1,0\n2,1\n")
    (tmp_path / "c.yaml").write_text("data: {name: csv, path: d.csv}\n"
                                     "model: [{type: Linear, out: 2}]\n")
    monkeypatch.chdir("/")
    cfg = load_config(str(tmp_path / "c.yaml"))
    assert cfg["data"]["path"] == str(tmp_path / "d.csv")
    with pytest.raises(ConfigError, match="data.path: no such file"):
        load_config(str(tmp_path / "c.yaml"), ["data.path=missing.csv"])


def test_monitors_are_checked_once_per_run(monkeypatch):
    from bprop.config import build, loader

    calls = []
    real = loader.check_monitors
    monkeypatch.setattr(loader, "check_monitors", lambda cfg: calls.append(1) or real(cfg))
    cfg = resolve({**MINIMAL, "data": "iris", "model": [{"type": "Linear", "out": 3}],
                   "train": {"early_stopping": True, "monitor": "val_accuracy"}})
    run = build.prepare(cfg)
    assert calls == [1] and run.early_stopping.monitor == "val_accuracy"
    # what needs the data (are there classes to count?) is checked when it is loaded
    cfg = resolve({**MINIMAL, "data": "diabetes", "model": [{"type": "Linear", "out": 1}],
                   "train": {"early_stopping": True, "monitor": "val_accuracy"}})
    with pytest.raises(ConfigError, match="^train.monitor: 'val_accuracy' needs a classification"):
        build.prepare(cfg)


def test_prepare_builds_typed_objects_once():
    from bprop.config.build import prepare
    from bprop.layers import Sequential
    from bprop.optim import SGD
    from bprop.optim.schedules import StepDecay
    from bprop.training.callbacks import EarlyStopping

    cfg = resolve({**MINIMAL, "data": "iris", "model": [{"type": "Linear", "out": 3}],
                   "optimizer": {"lr": 0.5}, "schedule": "StepDecay",
                   "train": {"early_stopping": True}})
    run = prepare(cfg)
    assert isinstance(run.model, Sequential) and isinstance(run.optimizer, SGD)
    assert isinstance(run.schedule, StepDecay) and isinstance(run.early_stopping, EarlyStopping)
    assert run.optimizer.params == run.model.parameters() and run.optimizer.lr == 0.5
    assert run.trainer.model is run.model and run.trainer.optimizer is run.optimizer


def test_callbacks_section_is_optional_and_round_trips():
    assert "callbacks" not in resolve(MINIMAL)
    cfg = resolve({**MINIMAL, "callbacks": [{"type": "EarlyStopping", "patience": 3},
                                            "EpochLines"]})
    assert list(cfg)[-2:] == ["callbacks", "train"]
    assert cfg["callbacks"][0] == {"type": "EarlyStopping", "monitor": "val_loss", "patience": 3,
                                   "min_delta": 0.0, "mode": "auto",
                                   "restore_best_weights": False}
    assert resolve(yaml.safe_load(dump(cfg))) == cfg
    with pytest.raises(ConfigError, match=r"^callbacks\[0\]\.patience: patience must be"):
        resolve({**MINIMAL, "callbacks": [{"type": "EarlyStopping", "patience": 0}]})


# -- fields from a user's signature, in a module without `from __future__ import annotations`


def _layer(spec):
    return resolve({"model": [spec, {"type": "Linear", "out": 2}]})["model"][0]


def test_fields_read_plain_annotations(user_plugin):
    assert _layer({"type": "Scale", "a": 0.5}) == {"type": "Scale", "a": 0.5}  # a float
    with pytest.raises(ConfigError, match=r"model\[0\]\.a: a must be a number > 0"):
        _layer({"type": "Scale", "a": 0})
    with pytest.raises(ConfigError, match=r"model\[0\]\.k: required key missing \(an integer\)"):
        _layer("NeedsK")
    with pytest.raises(ConfigError, match=r"k must be an integer, got 2\.5"):
        _layer({"type": "NeedsK", "k": 2.5})


def test_fields_read_literal_tuple_optional_and_kwargs(user_plugin):
    assert _layer({"type": "Tup", "sizes": [3, 4]})["sizes"] == [3, 4]
    with pytest.raises(ConfigError, match=r"sizes must be a list of integers, got \[3, 'x'\]"):
        _layer({"type": "Tup", "sizes": [3, "x"]})
    assert _layer({"type": "Lit", "mode": "b"})["mode"] == "b"
    with pytest.raises(ConfigError, match="mode must be one of a, b, got 'c'"):
        _layer({"type": "Lit", "mode": "c"})
    assert _layer({"type": "OptInt", "k": None})["k"] is None
    with pytest.raises(ConfigError, match="k must be an integer or null, got 1.5"):
        _layer({"type": "OptInt", "k": 1.5})
    assert _layer({"type": "Kw", "foo": 1, "bar": [1]}) == {"type": "Kw", "foo": 1, "bar": [1]}


def test_a_tuple_argument_is_built_as_a_tuple(user_plugin):
    from bprop.config.entries import build

    layer = build("layer", _layer({"type": "Tup", "sizes": [3, 4]}))
    assert layer.sizes == (3, 4)
    assert build("layer", {"type": "Kw", "foo": 1}).kw == {"foo": 1}


def test_field_types_of_fixed_length_tuples():
    assert Field(tuple, ..., item=int, length=2).check("x", [1, 2]) == [1, 2]
    with pytest.raises(ConfigError, match="must be a list of 2 integers"):
        Field(tuple, ..., item=int, length=2).check("x", [1, 2, 3])


# -- imports: modules that register a user's classes


@pytest.fixture
def beside(tmp_path, user_plugin):
    """A copy of the user's plugin module as ``fix11_beside.py`` in a folder with a config."""
    import shutil
    import sys

    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(user_plugin.__file__, folder / "fix11_beside.py")
    from bprop import registry

    for table in registry._TABLES.values():  # the copy registers the same names again
        for name, cls in list(table.items()):
            if cls.__module__ == user_plugin.__name__:
                del table[name]
    yield folder
    sys.modules.pop("fix11_beside", None)


def test_imports_register_classes_before_the_model_is_checked(beside, monkeypatch):
    import sys

    from bprop import registry

    monkeypatch.chdir(beside.parent)  # found beside the config, not in the working directory
    (beside / "c.yaml").write_text("imports: [fix11_beside]\nmodel: [{type: Scale, a: 0.5}, "
                                   "{type: Linear, out: 2}]\n")
    cfg = load_config(str(beside / "c.yaml"))
    # recorded as the file it was found as: a run's config.yaml imports it from anywhere
    assert "fix11_beside" in sys.modules
    assert cfg["imports"] == [str(beside / "fix11_beside.py")]
    assert list(cfg)[:3] == ["name", "seed", "imports"] and cfg["model"][0]["a"] == 0.5
    assert str(beside / "fix11_beside.py") in dump(cfg)
    assert load_config(str(beside / "c.yaml"))["imports"] == cfg["imports"]
    sys.modules.pop("fix11_beside")
    registry._TABLES["layer"].pop("Scale")
    (beside / "again.yaml").write_text(dump(cfg))
    assert load_config(str(beside / "again.yaml"))["imports"] == cfg["imports"]


@pytest.mark.parametrize("imports,words", [
    ("fix11_beside", "imports: must be a list of module names"),
    ([".rel"], r"imports\[0\]: must be a module name"),
    (["fix11_no_such_module"], r"imports\[0\]: cannot import 'fix11_no_such_module': "
                               "ModuleNotFoundError"),
])
def test_bad_imports_are_one_line(imports, words):
    with pytest.raises(ConfigError, match=words):
        resolve({**MINIMAL, "imports": imports})


def test_an_unknown_layer_says_how_to_import_your_own():
    with pytest.raises(ConfigError, match=r"unknown layer 'Scale'.*list the module that "
                                          r"registers it under imports: \(or run bprop "
                                          r"--import MODULE\)"):
        resolve({"model": ["Scale"]})
