"""Data sets for configs: loading, splitting, standardizing, files and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from bprop.config import data
from bprop.config.datasets import SETS
from bprop.config.fields import ConfigError


def prepared(task=None, **cfg):
    checked = data.check_config(cfg)
    raw = data.load(checked, seed=0)
    return data.split(raw, checked, task=task or data.guess_task(raw), seed=0)


@pytest.mark.parametrize("name, task, n_features, n_outputs", [
    ("digits", "classification", 64, 10),
    ("iris", "classification", 4, 3),
    ("wine", "classification", 13, 3),
    ("breast_cancer", "classification", 30, 2),
    ("diabetes", "regression", 10, 1),
    ("linnerud", "regression", 3, 3),
    ("xor", "classification", 2, 2),
    ("moons", "classification", 2, 2),
    ("circles", "classification", 2, 2),
    ("blobs", "classification", 2, 3),
    ("spirals", "classification", 2, 3),
    ("classification", "classification", 20, 2),
    ("regression", "regression", 10, 1),
])
def test_every_named_set_loads(name, task, n_features, n_outputs):
    ds = prepared(name=name)
    assert ds.task == task == SETS[name].task
    assert ds.n_features == n_features and ds.n_outputs == n_outputs
    n = sum(len(a) for a in (ds.X_train, ds.X_val, ds.X_test))
    assert n == len(data.load(data.check_config({"name": name}), seed=0).X)


def test_synthetic_parameters_are_used_and_seeded():
    a = data.load(data.check_config({"name": "spirals", "n_samples": 90, "n_classes": 5}), 7)
    b = data.load(data.check_config({"name": "spirals", "n_samples": 90, "n_classes": 5}), 7)
    c = data.load(data.check_config({"name": "spirals", "n_samples": 90, "n_classes": 5}), 8)
    assert a.X.shape == (90, 2) and set(a.y) == set(range(5))
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)


def test_xor_labels_follow_the_signs():
    raw = data.load(data.check_config({"name": "xor", "n_samples": 200}), seed=0)
    np.testing.assert_array_equal(raw.y, (raw.X[:, 0] * raw.X[:, 1] < 0).astype(int))


def test_split_sizes_and_stratification():
    ds = prepared(name="iris", test_size=0.2, val_size=0.2)
    assert (len(ds.X_train), len(ds.X_val), len(ds.X_test)) == (90, 30, 30)
    for y in (ds.y_train, ds.y_val, ds.y_test):
        counts = np.bincount(y, minlength=3)
        assert counts.max() - counts.min() <= 1  # 50/50/50 stays balanced


def test_no_validation_part():
    ds = prepared(name="iris", val_size=0)
    assert ds.X_val is None and ds.y_val is None and len(ds.X_train) == 120


def test_standardization_is_fitted_on_the_training_part_only():
    ds = prepared(name="wine")
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(axis=0), 1, atol=1e-12)
    assert np.abs(ds.X_test.mean(axis=0)).max() > 1e-3  # the test part did not take part
    off = prepared(name="wine", standardize=False)
    assert np.abs(off.X_train.mean(axis=0)).max() > 1


def test_constant_features_do_not_divide_by_zero():
    ds = prepared(name="digits")  # pixel 0 is always 0
    assert np.isfinite(ds.X_train).all() and ds.prep.x_scale[0] == 1.0


def test_regression_targets_are_standardized_and_decoded():
    ds = prepared(name="diabetes")
    np.testing.assert_allclose(ds.y_train.mean(), 0, atol=1e-12)
    raw = data.load(data.check_config({"name": "diabetes"}), seed=0)
    decoded = ds.prep.decode_output(ds.y_test)
    assert np.isin(decoded.round(6), raw.y.round(6)).all()


def test_preprocessor_round_trips_through_json():
    import json

    prep = prepared(name="iris").prep
    again = data.Preprocessor.from_dict(json.loads(json.dumps(prep.to_dict())))
    X = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(again.transform(X), prep.transform(X))
    assert again.classes == [0, 1, 2]


def write_csv(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_csv_with_named_string_target(tmp_path):
    rows = "\n".join(f"{i},{i % 3},{['cat', 'dog'][i % 2]}" for i in range(40))
    path = write_csv(tmp_path, "size,age,animal\n" + rows + "\n")
    ds = prepared(name="csv", path=path, target="animal")
    assert ds.task == "classification" and ds.classes == ["cat", "dog"]
    assert ds.prep.feature_names == ["size", "age"]


def test_csv_without_header_target_by_index(tmp_path):
    path = write_csv(tmp_path, "\n".join(f"{i},{i * 0.5},{i % 3}" for i in range(30)))
    ds = prepared(name="csv", path=path, header=False, target=-1)
    assert ds.task == "classification" and ds.classes == [0, 1, 2]  # a few integers: labels
    ds = prepared(name="csv", path=path, header=False, target=0)
    assert ds.task == "regression" and ds.n_features == 2  # 30 distinct values: numbers


@pytest.mark.parametrize("text, cfg, key, words", [
    ("a,b\n1,2\n", {"target": "label"}, "data.target", "no column 'label'"),
    ("a,b\n1,2\n", {"target": "A"}, "data.target", "did you mean 'a'"),
    ("a,b\n1,2\n", {"target": 5}, "data.target", "out of range"),
    ("1,2\n3,4\n", {"header": False, "target": "b"}, "data.target", "header"),
    ("a,b\n1,x\n", {"target": "a"}, "data.path", "line 2, column 'b'"),
    ("a,b\n1,2\n3\n", {}, "data.path", "line 3 has 1 columns"),
    ("a,b\n", {}, "data.path", "no data rows"),
    ("", {}, "data.path", "empty"),
    ("a\n1\n", {}, "data.path", "at least one feature"),
])
def test_csv_errors(tmp_path, text, cfg, key, words):
    path = write_csv(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        prepared(name="csv", path=path, **cfg)
    assert info.value.path == key and words in str(info.value), str(info.value)


def test_npz_file_and_its_errors(tmp_path):
    rng = np.random.default_rng(0)
    path = str(tmp_path / "d.npz")
    np.savez(path, features=rng.normal(size=(50, 3)), y=rng.normal(size=(50, 2)))
    ds = prepared("regression", name="npz", path=path, x_key="features")
    assert ds.n_features == 3 and ds.n_outputs == 2
    with pytest.raises(ConfigError, match="data.x_key: no array 'X'.*features"):
        prepared(name="npz", path=path)
    bad = write_csv(tmp_path, "a,b\n", "bad.npz")
    with pytest.raises(ConfigError, match="not an .npz archive"):
        prepared(name="npz", path=bad)


def test_split_errors_are_config_errors():
    with pytest.raises(ConfigError, match="stratify"):
        prepared(name="iris", test_size=0.99, val_size=0)
    with pytest.raises(ConfigError, match="numeric targets"):
        raw = data.RawData(np.zeros((10, 1)), np.array(["a", "b"] * 5), ["x"], ["t"], None)
        data.split(raw, data.check_config({"name": "csv", "path": "-"}), task="regression",
                   seed=0)


def test_unknown_set_lists_the_allowed_ones():
    with pytest.raises(ConfigError, match="did you mean 'moons'.*allowed: digits"):
        data.check_config({"name": "moon"})
