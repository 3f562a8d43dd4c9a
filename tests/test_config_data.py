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


# ------------------------------------------------- sparse files: kept sparse, scaled only


def sparse_files(tmp_path, n=200, d=60, seed=0):
    import scipy.sparse as sp
    from sklearn.datasets import dump_svmlight_file

    X = sp.random(n, d, density=0.1, format="csr", random_state=seed) * 10
    y = np.random.default_rng(seed).integers(0, 2, n)
    sp.save_npz(tmp_path / "X.npz", X)
    np.save(tmp_path / "y.npy", y)
    dump_svmlight_file(X, y, str(tmp_path / "d.svm"))
    return X, y


@pytest.mark.parametrize("cfg", [
    {"name": "sparse", "path": "X.npz", "y": "y.npy"},
    {"name": "svmlight", "path": "d.svm", "n_features": 60},
])
def test_sparse_files_stay_sparse_and_are_scaled_without_centering(tmp_path, cfg):
    from sklearn.preprocessing import StandardScaler

    X, y = sparse_files(tmp_path)
    cfg = {**cfg, **{k: str(tmp_path / cfg[k]) for k in ("path", "y") if k in cfg}}
    raw = data.load(data.check_config(cfg), seed=0)
    assert raw.X.format == "csr" and raw.X.shape == (200, 60)
    ds = prepared(**cfg)
    for part in (ds.X_train, ds.X_val, ds.X_test):
        assert part.format == "csr"
    assert not ds.prep.x_mean.any()  # centering would fill in every zero
    rows = data.split(raw, {**data.check_config(cfg), "standardize": False},
                      task="classification", seed=0).X_train
    expected = StandardScaler(with_mean=False).fit(rows)
    np.testing.assert_allclose(ds.prep.x_scale, expected.scale_, rtol=1e-10)
    np.testing.assert_allclose(ds.X_train.toarray(), expected.transform(rows).toarray(),
                               rtol=1e-10)
    assert ds.X_train.nnz == rows.nnz


def test_sparse_file_errors(tmp_path):
    sparse_files(tmp_path)
    np.save(tmp_path / "short.npy", np.zeros(5))
    with pytest.raises(ConfigError, match="data.y: .*one target per sample \\(200\\)"):
        prepared(name="sparse", path=str(tmp_path / "X.npz"), y=str(tmp_path / "short.npy"))
    with pytest.raises(ConfigError, match="data.path: .*scipy.sparse.save_npz"):
        prepared(name="sparse", path=str(tmp_path / "y.npy"), y=str(tmp_path / "y.npy"))
    (tmp_path / "bad.svm").write_text("1 1:x\n")
    with pytest.raises(ConfigError, match="data.path: cannot read .* as svmlight"):
        prepared(name="svmlight", path=str(tmp_path / "bad.svm"))


def test_sparse_file_with_a_nan_names_its_row_and_feature(tmp_path):
    import scipy.sparse as sp

    X = sp.csr_matrix(np.eye(6))
    X.data[4] = np.nan
    sp.save_npz(tmp_path / "X.npz", X)
    np.save(tmp_path / "y.npy", np.arange(6) % 2)
    with pytest.raises(ConfigError, match="row 5, feature 'x4' is nan"):
        prepared(name="sparse", path=str(tmp_path / "X.npz"), y=str(tmp_path / "y.npy"))


def test_cli_trains_and_evaluates_on_a_sparse_file_without_densifying(tmp_path, monkeypatch):
    import json

    import scipy.sparse as sp

    from bprop.cli.app import main

    sparse_files(tmp_path)
    (tmp_path / "c.yaml").write_text(
        "data: {name: sparse, path: X.npz, y: y.npy}\n"
        "model: [{type: Linear, out: 8}, ReLU, {type: Linear, out: 2}]\n"
        "train: {epochs: 2, batch_size: 16}\n")

    def refuse(self, *args, **kwargs):
        raise AssertionError("a sparse matrix was densified")

    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        monkeypatch.setattr(cls, "toarray", refuse)
    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "c.yaml"), "--out", str(run), "--quiet"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert 0 <= summary["test_accuracy"] <= 1 and np.isfinite(summary["test_loss"])


# ------------------------------------ .npy files larger than memory: memory-mapped, read per batch


def npy_files(tmp_path, n=300, d=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1, 10, 100, 1e3, 1e6, 1e-4, 1] + [0, 5, -3, 1e6, 1e7, 1, 0]
    X[:, 6] = 2.5  # a constant column
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 5)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    return X, y


def test_npy_files_are_memory_mapped_and_give_the_npz_dataset(tmp_path, monkeypatch):
    npy_files(tmp_path)
    monkeypatch.setattr(data, "RELEASE_BYTES", 200)  # many chunks: the statistics are merged
    cfg = {"x": str(tmp_path / "X.npy"), "y": str(tmp_path / "y.npy")}
    raw = data.load(data.check_config({"name": "npy", **cfg}), seed=0)
    assert isinstance(raw.X, np.memmap) and not raw.X.flags.writeable
    mapped = prepared(name="npy", **cfg)
    inmemory = prepared(name="npz", path=str(tmp_path / "d.npz"))
    np.testing.assert_allclose(mapped.prep.x_mean, inmemory.prep.x_mean, rtol=1e-12)
    np.testing.assert_allclose(mapped.prep.x_scale, inmemory.prep.x_scale, rtol=1e-12)
    assert mapped.prep.x_scale[6] == 1.0
    for part in ("train", "val", "test"):
        rows = getattr(mapped, f"X_{part}")
        assert isinstance(rows, data.MappedRows)
        # equal up to rounding: column 5 (spread 1e-4 around 1) loses 12 digits either way
        np.testing.assert_allclose(rows[np.arange(len(rows))], getattr(inmemory, f"X_{part}"),
                                   rtol=1e-9, atol=1e-10)
        np.testing.assert_array_equal(getattr(mapped, f"y_{part}"),
                                      getattr(inmemory, f"y_{part}"))
    rows = mapped.astype(np.float32).X_train
    assert rows[3:7].dtype == np.float32 and rows[3:7].shape == (4, 7)
    with pytest.raises(TypeError, match="would read the whole file"):
        np.asarray(rows)


def test_npy_file_errors(tmp_path):
    X, _ = npy_files(tmp_path)
    X[250, 2] = np.inf
    np.save(tmp_path / "bad.npy", X)
    np.save(tmp_path / "flat.npy", np.zeros(10))
    y = str(tmp_path / "y.npy")
    with pytest.raises(ConfigError, match="row 251, feature 'x2' is inf"):
        prepared(name="npy", x=str(tmp_path / "bad.npy"), y=y)
    with pytest.raises(ConfigError, match="data.x: .*must hold a 2-D numeric array"):
        prepared(name="npy", x=str(tmp_path / "flat.npy"), y=y)
    with pytest.raises(ConfigError, match="data.y: .*one target per sample \\(300\\)"):
        prepared(name="npy", x=str(tmp_path / "X.npy"), y=str(tmp_path / "flat.npy"))
    with pytest.raises(ConfigError, match="data.x: .* is an .npz archive"):
        prepared(name="npy", x=str(tmp_path / "d.npz"), y=y)
    (tmp_path / "text.npy").write_text("1,2\n")
    with pytest.raises(ConfigError, match="data.x: cannot read .* as .npy"):
        prepared(name="npy", x=str(tmp_path / "text.npy"), y=y)


def test_cli_trains_on_an_npy_file_several_times_larger_than_its_memory_growth(tmp_path):
    """200 MB of float32 features, one epoch: the process grows by a fraction of the file
    (about 40 MB, bounded by the chunks it reads, whatever the file's size)."""
    import subprocess
    import sys
    from pathlib import Path

    n, d = 200_000, 250
    path = tmp_path / "X.npy"
    rng = np.random.default_rng(0)
    with open(path, "wb") as f:  # written in chunks: this process stays small too
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (n, d)})
        for _ in range(0, n, 20_000):
            f.write(rng.normal(size=(20_000, d)).astype("<f4").tobytes())
    np.save(tmp_path / "y.npy", rng.integers(0, 2, n))
    (tmp_path / "c.yaml").write_text(
        "data: {name: npy, x: X.npy, y: y.npy}\n"
        "model: [{type: Linear, out: 16}, ReLU, {type: Linear, out: 2}]\n"
        "train: {epochs: 1, batch_size: 256}\n")
    script = (
        "import resource, sys\n"
        "import matplotlib.pyplot, sklearn.model_selection, bprop.cli.app\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "code = bprop.cli.app.main(['train', sys.argv[1], '--out', sys.argv[2], '--quiet'])\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(code, (after - before) * 1024)\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "c.yaml"),
                          str(tmp_path / "run")], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": root, "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg",
                              "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    code, growth = map(int, out.stdout.split()[-2:])
    assert code == 0, out.stderr
    file_bytes = path.stat().st_size
    assert growth < file_bytes / 3, f"grew {growth / 1e6:.0f} MB for a {file_bytes / 1e6:.0f} MB"
    assert (tmp_path / "run" / "summary.json").is_file()
