"""Bad input never wins: the cases of /work/shared/cases/reliability.md (kinds K1-K12).

Each test feeds one bad input (or fault) and asserts the right behaviour: a
one-line error naming the file/key/line (exit 2), or the correct result;
never a traceback, never a silently wrong number. Seeds are fixed.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
import zipfile

import numpy as np
import pytest

import bprop
from bprop import modelfile
from bprop.cli import main
from bprop.config.fields import ConfigError
from bprop.config.loader import apply_overrides, load_config, load_yaml

BASE = """\
data: {name: csv, path: wine.csv, target: label}
model: [{type: Linear, out: 16}, ReLU, {type: Linear, out: 3}]
optimizer: {type: SGD, lr: 0.05, momentum: 0.9}
train: {epochs: 5, batch_size: 16}
"""


def wine_table():
    from sklearn.datasets import load_wine

    b = load_wine()
    names = [n.replace("/", "_") for n in b.feature_names]
    labels = np.array(["barolo", "grignolino", "barbera"])[b.target]
    return names, b.data, labels


def write_csv(path, names, X, labels, delimiter=",", label_name="label"):
    lines = [delimiter.join([*names, label_name])]
    lines += [delimiter.join([*(repr(float(v)) for v in row), lab])
              for row, lab in zip(X, labels, strict=True)]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def wine(tmp_path, monkeypatch):
    """wine.csv (13 named features, string labels) and base.yaml in a fresh folder."""
    monkeypatch.chdir(tmp_path)
    names, X, labels = wine_table()
    write_csv(tmp_path / "wine.csv", names, X, labels)
    (tmp_path / "base.yaml").write_text(BASE)
    return tmp_path


def err_line(capsys):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return err


def trained_run(wine, capsys, *extra):
    assert main(["train", "base.yaml", "--out", "run", "--quiet", *extra]) == 0
    capsys.readouterr()
    return wine / "run"


# --------------------------------------------------------------------- K1 YAML


def test_k1_duplicate_key_is_refused_naming_both_lines(wine, capsys):
    (wine / "dup.yaml").write_text(BASE + "train: {epochs: 2}\n")
    assert main(["train", "dup.yaml", "--out", "r"]) == 2
    err = err_line(capsys)
    assert "duplicate key 'train'" in err and "line 5" in err and "line 4" in err
    assert not (wine / "r").exists()


def test_k1_alias_bomb_is_refused_fast_with_a_short_message(wine, capsys):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    (wine / "bomb.yaml").write_text("\n".join(lines) + "\nname: *a9\nmodel: [Linear]\n")
    start = time.perf_counter()
    assert main(["train", "bomb.yaml"]) == 2
    assert time.perf_counter() - start < 1.0
    err = err_line(capsys)
    assert "anchors and aliases" in err and len(err) < 300


def test_k1_yaml_12_numbers_in_files_and_overrides(wine):
    (wine / "n.yaml").write_text(BASE + "seed: 0123\n")
    assert load_config("n.yaml")["seed"] == 123  # YAML 1.1 would say 83 (octal)
    assert apply_overrides({}, ["seed=0123"])["seed"] == 123
    assert apply_overrides({}, ["a=1e-3"])["a"] == 0.001
    with pytest.raises(ConfigError, match=r"train\.epochs.*'1:30'"):  # 1.1: 90 (base 60)
        load_config("base.yaml", ["train.epochs=1:30"])
    (wine / "yes.yaml").write_text(BASE.replace("batch_size: 16", "batch_size: 16, shuffle: yes"))
    with pytest.raises(ConfigError, match="train.shuffle.*'yes'"):
        load_config("yes.yaml")


def test_k1_messages_show_a_cut_repr_of_huge_values(wine):
    with pytest.raises(ConfigError) as info:
        load_config("base.yaml", ["name=[" + ", ".join(["abcdef"] * 50_000) + "]"])
    assert len(str(info.value)) < 400


def test_k1_bom_in_a_config_is_skipped(wine):
    (wine / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert load_yaml("bom.yaml")["train"]["epochs"] == 5


# ------------------------------------------------------------------ K2 columns


def test_k2_eval_matches_columns_by_name(wine, capsys):
    run = trained_run(wine, capsys)
    names, X, labels = wine_table()
    perm = np.random.default_rng(0).permutation(len(names))
    write_csv(wine / "perm.csv", [names[j] for j in perm], X[:, perm], labels)
    scores = []
    for f in ("wine.csv", "perm.csv"):
        assert main(["eval", str(run), "--data", f, "--target", "label"]) == 0
        scores.append(json.loads(capsys.readouterr().out)["accuracy"])
    assert scores[0] > 0.9 and scores[1] == scores[0]


def test_k2_predict_refuses_names_that_do_not_match(wine, capsys):
    run = trained_run(wine, capsys)
    names, X, labels = wine_table()
    bad = [names[0].upper(), *names[1:]]
    perm = np.random.default_rng(1).permutation(len(names))
    write_csv(wine / "new.csv", [bad[j] for j in perm], X[:, perm], labels)
    assert main(["predict", str(run), "new.csv"]) == 2
    err = err_line(capsys)
    assert f"missing {names[0]!r}" in err and f"unknown {names[0].upper()!r}" in err


def test_k2_duplicate_column_names_are_refused(wine, capsys):
    names, X, labels = wine_table()
    write_csv(wine / "wine.csv", [names[0], *names[:-1]], X, labels)
    assert main(["train", "base.yaml", "--out", "r"]) == 2
    assert f"{names[0]!r} more than once" in err_line(capsys)
    assert not (wine / "r").exists()


def test_k2_byte_order_mark_is_read(wine, capsys):
    text = (wine / "wine.csv").read_bytes()
    (wine / "wine.csv").write_bytes(b"\xef\xbb\xbf" + text)
    run = trained_run(wine, capsys)
    meta = modelfile.load_metadata(run / "model.npz")["preprocessing"]
    assert meta["target_names"] == ["label"] and not meta["feature_names"][0].startswith("\ufeff")


def test_k2_blank_labels_are_refused_naming_the_rows(wine, capsys):
    lines = (wine / "wine.csv").read_text().splitlines()
    for i in (3, 7):
        lines[i] = lines[i].rsplit(",", 1)[0] + ","
    (wine / "wine.csv").write_text("\n".join(lines) + "\n")
    assert main(["train", "base.yaml", "--out", "r"]) == 2
    assert "blank on line(s) 4, 8" in err_line(capsys)


def test_k2_headerless_predict_counts_columns(wine, capsys):
    run = trained_run(wine, capsys)
    _, X, _ = wine_table()
    (wine / "short.csv").write_text("\n".join(",".join(map(str, r[:12])) for r in X[:5]))
    assert main(["predict", str(run), "short.csv"]) == 2
    assert "has 12 columns and no header, expected 13" in err_line(capsys)


def test_k2_run_directory_is_self_contained_and_remembers_the_delimiter(wine, capsys):
    names, X, labels = wine_table()
    write_csv(wine / "semi.csv", names, X, labels, delimiter=";")
    (wine / "base.yaml").write_text(BASE.replace("wine.csv", "semi.csv").replace(
        "target: label}", "target: label, delimiter: ';'}"))
    run = trained_run(wine, capsys)
    assert main(["eval", str(run)]) == 0
    before = json.loads(capsys.readouterr().out)
    moved = wine / "elsewhere" / "run"
    shutil.move(str(run), moved)
    (wine / "semi.csv").rename(wine / "gone.csv")
    assert main(["eval", str(moved)]) == 0
    assert json.loads(capsys.readouterr().out) == before
    write_csv(wine / "new.csv", names, X[:4], labels[:4], delimiter=";")
    assert main(["predict", str(moved), "new.csv"]) == 0  # the delimiter was remembered
    assert len(capsys.readouterr().out.splitlines()) == 5
    write_csv(wine / "tab.csv", names, X[:4], labels[:4], delimiter="\t")
    assert main(["predict", str(moved), "tab.csv", "--delimiter", "\t"]) == 0
    assert main(["eval", str(moved), "--data", "tab.csv", "--delimiter", "\t"]) == 0


# ----------------------------------------------------------- K3 non-finite values


@pytest.mark.parametrize("cell", ["nan", "inf", "-inf", "1e309"])
def test_k3_non_finite_training_cell_is_refused_before_the_run_directory(wine, capsys, cell):
    lines = (wine / "wine.csv").read_text().splitlines()
    cells = lines[5].split(",")
    cells[2] = cell
    lines[5] = ",".join(cells)
    (wine / "wine.csv").write_text("\n".join(lines) + "\n")
    assert main(["train", "base.yaml", "--out", "r"]) == 2
    err = err_line(capsys)
    names = wine_table()[0]
    assert "wine.csv" in err and f"line 6, column {names[2]!r}" in err and "finite" in err
    assert not (wine / "r").exists()


def test_k3_predict_refuses_a_nan_cell(wine, capsys):
    run = trained_run(wine, capsys)
    names, X, labels = wine_table()
    X = X[:5].copy()
    X[3, 4] = np.nan
    write_csv(wine / "new.csv", names, X, labels[:5])
    assert main(["predict", str(run), "new.csv", "-o", "p.csv"]) == 2
    assert f"line 5, column {names[4]!r}" in err_line(capsys)
    assert not (wine / "p.csv").exists()


def test_k3_predict_refuses_outputs_that_overflow(wine, capsys):
    # finite cells far outside the training range: the network's output overflows
    run = trained_run(wine, capsys)
    names, X, labels = wine_table()
    X = X[:5].copy()
    X[2, 0], X[2, 1] = 1e308, -1e308
    write_csv(wine / "huge.csv", names, X, labels[:5])
    assert main(["predict", str(run), "huge.csv", "-o", "p.csv"]) == 2
    err = err_line(capsys)
    assert "data row 3" in err and "overflows" in err and "Warning" not in err
    assert not (wine / "p.csv").exists()


def test_k3_huge_features_are_standardized_not_zeroed(wine, capsys):
    names, X, labels = wine_table()
    write_csv(wine / "wine.csv", names, X * 1e300, labels)
    run = trained_run(wine, capsys, "train.epochs=30")
    prep = modelfile.load_metadata(run / "model.npz")["preprocessing"]
    assert np.isfinite(prep["x_scale"]).all() and np.isfinite(prep["x_mean"]).all()
    assert json.loads((run / "summary.json").read_text())["test_accuracy"] > 0.8


def test_k3_estimators_and_trainer_never_predict_from_nan(rng):
    from bprop.estimators import MLPClassifier

    X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    X[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(X)
    net = bprop.layers.Sequential(bprop.layers.Linear(3, 2, rng=0))
    trainer = bprop.Trainer(net, bprop.losses.SoftmaxNLL(), bprop.optim.SGD(net.parameters(), 0.1))
    with pytest.raises(ValueError, match="NaN or infinity"):
        trainer.predict_raw(X)


# --------------------------------------------------------------- K4 divergence


def test_k4_exploding_loss_stops_with_exit_1_and_keeps_a_checkpoint(wine, capsys):
    code = main(["train", "base.yaml", "--out", "r", "--quiet", "optimizer.lr=1e6",
                 "train.dtype=float64"])
    assert code == 1
    err = capsys.readouterr().err
    assert "epoch 1" in err and "smaller learning rate" in err and "Traceback" not in err
    from bprop.training.checkpoints import load_checkpoint

    state = load_checkpoint(wine / "r" / "checkpoint.npz")
    assert all(np.isfinite(p).all() for p in state["params"])
    assert not (wine / "r" / "model.npz").exists()


def test_k4_guard_names_epoch_and_batch(rng):
    from bprop.training.callbacks import DivergenceGuard
    from bprop.training.trainer import DivergedError

    X, y = rng.normal(size=(64, 3)), rng.normal(size=(64, 1))
    net = bprop.layers.Sequential(bprop.layers.Linear(3, 1, rng=0))
    trainer = bprop.Trainer(net, bprop.losses.SquaredError(),
                            bprop.optim.SGD(net.parameters(), lr=5.0), batch_size=8, rng=0,
                            callbacks=[DivergenceGuard(factor=100)])
    with pytest.raises(DivergedError, match=r"epoch \d+, batch \d+.*smaller learning rate"):
        trainer.fit(X, y, 50)


# -------------------------------------------------------------------- K5 task


def test_k5_task_is_settable_printed_and_suggested(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(60), 50)
    X = y[:, None] / 60 + 0.01 * rng.normal(size=(3000, 2))
    lines = ["a,b,cls"] + [f"{a:.6f},{b:.6f},{c}" for (a, b), c in zip(X, y, strict=True)]
    (tmp_path / "ids.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "c.yaml").write_text(
        "data: {name: csv, path: ids.csv, target: cls}\n"
        "model: [{type: Linear, out: 60}]\ntrain: {epochs: 1}\n")
    assert main(["train", "c.yaml", "--out", "a"]) == 2  # 60 distinct ids: regression by rule
    err = err_line(capsys)
    assert "data.task: classification" in err
    assert main(["train", "c.yaml", "--out", "b", "data.task=classification"]) == 0
    assert "task: classification, 60 classes" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="data.task"):
        load_config("c.yaml", ["data.task=both"])


# ------------------------------------------------------------------- K6 resume


def test_k6_resume_refuses_an_edited_config(wine, capsys):
    run = trained_run(wine, capsys)
    (run / "model.npz").unlink()
    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(text.replace("- ReLU", "- Tanh"))
    assert main(["train", "--resume", str(run)]) == 2
    assert "model[1]" in err_line(capsys)
    (run / "config.yaml").write_text(text.replace("lr: 0.05", "lr: 0.5"))
    assert main(["train", "--resume", str(run)]) == 2
    assert "optimizer.lr" in err_line(capsys)


@pytest.mark.parametrize("schedule", [
    "Cosine", "{type: ReduceOnPlateau, patience: 1, factor: 0.01}"])
def test_k6_training_longer_is_never_a_no_op(wine, capsys, schedule):
    run = trained_run(wine, capsys, f"schedule={schedule}", "train.epochs=6")
    before = [p.value.copy() for p in bprop.load(run / "model.npz").parameters()]
    assert main(["train", "--resume", str(run), "train.epochs=10"]) == 0
    out = capsys.readouterr().out
    assert "restarts from lr 0.05" in out
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) == 11
    lr_col = history[0].split(",").index("lr")
    assert float(history[7].split(",")[lr_col]) == pytest.approx(0.05)  # epoch 7 at base lr
    after = bprop.load(run / "model.npz").parameters()
    assert not np.allclose(before[0], after[0].value)


def test_k6_resume_writes_the_final_files_of_a_finished_run(wine, capsys):
    run = trained_run(wine, capsys)
    summary = json.loads((run / "summary.json").read_text())
    (run / "model.npz").unlink()
    assert main(["eval", str(run)]) == 2
    assert "--resume" in err_line(capsys)
    assert main(["train", "--resume", str(run)]) == 0
    assert "wrote the final files" in capsys.readouterr().out
    assert main(["eval", str(run)]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == summary["test_accuracy"]


def damage(path, how):
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:300])
    elif how == "garbage":
        path.write_bytes(b"PK\x03\x04" + os.urandom(500))
    else:
        with zipfile.ZipFile(path) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        if how == "missing array":
            members.pop(sorted(n for n in members if n.startswith("a"))[0])
        else:  # a header that is a JSON list
            import io

            buf = io.BytesIO()
            np.save(buf, np.array(json.dumps([1, 2, 3])))
            members["__bprop__.npy"] = buf.getvalue()
        with zipfile.ZipFile(path, "w") as zf:
            for n, data in members.items():
                zf.writestr(n, data)


@pytest.mark.parametrize("how", ["truncated", "garbage", "missing array", "list header"])
def test_k6_damaged_checkpoint_is_one_line(wine, capsys, how):
    run = trained_run(wine, capsys, "train.epochs=3")
    (run / "model.npz").unlink()
    damage(run / "checkpoint.npz", how)
    assert main(["train", "--resume", str(run)]) == 2
    err = err_line(capsys)
    assert "checkpoint.npz" in err and len(err.splitlines()) == 1


# ------------------------------------------------- K7 state across trainings


def test_k7_one_early_stopping_serves_three_trainings(rng):
    from bprop.training.callbacks import EarlyStopping

    X = rng.normal(size=(64, 2))
    y = (X[:, 0] > 0).astype(int)
    stop = EarlyStopping(monitor="loss", patience=3)
    epochs = []
    for seed in range(3):
        net = bprop.layers.Sequential(bprop.layers.Linear(2, 2, rng=seed))
        trainer = bprop.Trainer(net, bprop.losses.SoftmaxNLL(),
                                bprop.optim.SGD(net.parameters(), lr=0.1), rng=seed,
                                callbacks=[stop])
        trainer.fit(X, y, 15)
        epochs.append(trainer.epoch)
    assert epochs == [15, 15, 15]


def test_k7_refit_starts_from_scratch_callbacks_included():
    from sklearn.datasets import load_iris

    from bprop.estimators import MLPClassifier
    from bprop.training.callbacks import EarlyStopping

    X, y = load_iris(return_X_y=True)
    cb = EarlyStopping(monitor="loss", patience=3, restore_best_weights=True)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0, callbacks=[cb])
    clf.fit(X, y)
    clf.fit(X, (y + 1) % 3)
    fresh = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0,
                          callbacks=[EarlyStopping(monitor="loss", patience=3,
                                                   restore_best_weights=True)])
    fresh.fit(X, (y + 1) % 3)
    assert clf.n_iter_ == fresh.n_iter_ > 3
    np.testing.assert_array_equal(clf.predict_proba(X), fresh.predict_proba(X))


def test_k7_schedule_takes_its_base_rate_from_each_optimizer(rng):
    from bprop.optim.schedules import StepDecay

    X, y = rng.normal(size=(16, 2)), np.arange(16) % 2
    sched = StepDecay(step_size=1, gamma=0.5)
    for lr in (0.1, 0.4):
        net = bprop.layers.Sequential(bprop.layers.Linear(2, 2, rng=0))
        trainer = bprop.Trainer(net, bprop.losses.SoftmaxNLL(),
                                bprop.optim.SGD(net.parameters(), lr=lr), callbacks=[sched])
        trainer.fit(X, y, 2)
        assert trainer.history["lr"] == [lr, lr / 2]


# ---------------------------------------------------------------- K8 output paths


@pytest.mark.parametrize("out", ["wine.csv/run", "/proc/bprop-run", "/sys/bprop-run"])
def test_k8_bad_out_is_one_line(wine, capsys, out):
    assert main(["train", "base.yaml", "--out", out, "--quiet"]) == 2
    assert "--out" in err_line(capsys)


def test_k8_predict_output_errors_are_one_line(wine, capsys):
    run = trained_run(wine, capsys)
    (wine / "adir").mkdir()
    assert main(["predict", str(run), "wine.csv", "-o", "adir"]) == 2
    assert "is a directory" in err_line(capsys)
    if os.path.exists("/dev/full"):
        assert main(["predict", str(run), "wine.csv", "-o", "/dev/full"]) == 2
        assert "-o" in err_line(capsys)
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # never renamed over


def test_k8_links_keep_their_target_replaced_and_pipes_are_written(tmp_path):
    from bprop.modelfile import atomic_write

    (tmp_path / "target.csv").write_text("old")
    (tmp_path / "link.csv").symlink_to("target.csv")
    atomic_write(tmp_path / "link.csv", "new")
    assert (tmp_path / "link.csv").is_symlink()
    assert (tmp_path / "target.csv").read_text() == "new"
    if os.path.exists("/dev/null"):
        atomic_write("/dev/null", "discarded")
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_k8_full_disk_is_one_line(wine, capsys, monkeypatch):
    import errno

    from bprop.cli import rundir

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "run/checkpoint.npz")

    monkeypatch.setattr(rundir.checkpoints, "save_checkpoint", full)
    assert main(["train", "base.yaml", "--out", "run", "--quiet"]) == 2
    assert "No space left on device" in err_line(capsys)


@pytest.mark.parametrize("bad", ["name=../../escape", "name=a/b", "name=..",
                                 "data.delimiter=';;'"])
def test_k8_names_and_delimiters(wine, capsys, bad):
    assert main(["train", "base.yaml", bad, "--quiet"]) == 2
    err_line(capsys)
    assert not (wine.parent / "escape").exists()


def test_k8_run_files_follow_the_umask(wine, capsys):
    old = os.umask(0o022)
    try:
        run = trained_run(wine, capsys)
    finally:
        os.umask(old)
    for name in ("model.npz", "checkpoint.npz", "summary.json", "config.yaml"):
        assert stat.S_IMODE(os.stat(run / name).st_mode) == 0o644, name


# ------------------------------------------------------------- K9 model files


def npy_bytes(header: str, payload: bytes = b"") -> bytes:
    head = header.encode("latin1")
    pad = 64 - (10 + len(head) + 1) % 64
    head = head + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + len(head).to_bytes(2, "little") + head + payload


def model_file(path, header, members=None):
    import io

    buf = io.BytesIO()
    np.save(buf, np.array(json.dumps(header)))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("__bprop__.npy", buf.getvalue())
        for name, data in (members or {}).items():
            if isinstance(data, np.ndarray):
                b = io.BytesIO()
                np.save(b, data)
                data = b.getvalue()
            zf.writestr(name, data)
    return path


GOOD = {"format": "bprop-model", "version": 1,
        "model": {"type": "Linear", "n_in": 2, "n_out": 2}, "metadata": {}}


@pytest.mark.parametrize("header, members, words", [
    ({**GOOD, "version": "2"}, {}, "version must be an integer"),
    ([1, 2], {}, "JSON list"),
    ({k: v for k, v in GOOD.items() if k != "model"}, {}, "no model architecture"),
    (GOOD, {"param_0.npy": np.array([["a", "b"], ["c", "d"]]),
            "param_1.npy": np.zeros(2)}, "dtype <U1"),
    (GOOD, {"param_0.npy": np.zeros((2, 2), complex), "param_1.npy": np.zeros(2)},
     "complex"),
    (GOOD, {"param_0.npy": np.zeros((2, 2)), "param_1.npy": np.zeros(2),
            "evil.npy": np.zeros(1)}, "unexpected member 'evil.npy'"),
    (GOOD, {"param_0.npy": np.full((2, 2), np.nan), "param_1.npy": np.zeros(2)},
     "NaN or infinite"),
    ({**GOOD, "model": {"type": "Linear", "n_in": 20000, "n_out": 20000}},
     {"param_0.npy": np.zeros((2, 2)), "param_1.npy": np.zeros(2)},
     "more values than the file's arrays hold"),
    (GOOD, {"param_0.npy": npy_bytes("{'descr': '<f8', 'fortran_order': False, "
                                     "'shape': (400000000,), }"),
            "param_1.npy": np.zeros(2)}, "more than"),
])
def test_k9_malformed_model_files_are_value_errors_naming_the_file(
        tmp_path, header, members, words):
    path = model_file(tmp_path / "m.npz", header, members)
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        bprop.load(path)
    assert time.perf_counter() - start < 2
    assert "m.npz" in str(info.value) and words in str(info.value)


def test_k9_deep_nesting_and_text_files(tmp_path):
    deep = tmp_path / "deep.npz"
    with zipfile.ZipFile(deep, "w") as zf:
        import io

        buf = io.BytesIO()
        np.save(buf, np.array("[" * 3000 + "]" * 3000))
        zf.writestr("__bprop__.npy", buf.getvalue())
    with pytest.raises(ValueError, match="deep.npz"):
        bprop.load(deep)
    text = tmp_path / "text.npz"
    text.write_text("hello, I am not a model\n")
    with pytest.raises(ValueError, match="text.npz is not a bprop model file") as info:
        bprop.load(text)
    assert "allow_pickle" not in str(info.value)


def test_k9_cli_shows_a_damaged_model_as_one_line(wine, capsys):
    run = trained_run(wine, capsys)
    (run / "model.npz").write_bytes(b"garbage")
    assert main(["predict", str(run), "wine.csv"]) == 2
    assert "model.npz" in err_line(capsys)


# ---------------------------------------------------------------- K10 progress


def test_k10_progress_inside_long_epochs_and_constant_checkpoints(wine, capsys, monkeypatch):
    from bprop.training import callbacks

    lines = callbacks.EpochLines(seconds=0.0)
    net = bprop.layers.Sequential(bprop.layers.Linear(2, 2, rng=0))
    rng = np.random.default_rng(0)
    trainer = bprop.Trainer(net, bprop.losses.SoftmaxNLL(),
                            bprop.optim.SGD(net.parameters(), lr=0.1), batch_size=4,
                            callbacks=[lines])
    trainer.fit(rng.normal(size=(12, 2)), np.arange(12) % 2, 1)
    assert "epoch 1/1  batch 2" in capsys.readouterr().out
    sizes = []
    for epochs in (2, 40):
        run = wine / f"r{epochs}"
        assert main(["train", "base.yaml", "--out", str(run), "--quiet",
                     f"train.epochs={epochs}"]) == 0
        sizes.append(os.path.getsize(run / "checkpoint.npz"))
        assert len((run / "history.csv").read_text().splitlines()) == epochs + 1
    assert abs(sizes[0] - sizes[1]) < 100  # the checkpoint does not hold the history


def test_k10_summary_reports_the_wall_time(wine, capsys):
    start = time.perf_counter()
    run = trained_run(wine, capsys)
    took = time.perf_counter() - start
    seconds = json.loads((run / "summary.json").read_text())["seconds"]
    epochs = sum(float(r.split(",")[-1]) for r in
                 (run / "history.csv").read_text().splitlines()[1:])
    assert epochs <= seconds <= took


# -------------------------------------------------------------- K11 coefs_


def test_k11_coefs_and_intercepts_item_assignment_writes_through(rng):
    from bprop.estimators import MLPRegressor

    X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    est = MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)
    est.coefs_[1] = np.zeros_like(est.coefs_[1])
    est.intercepts_[1] = np.array([2.5])
    np.testing.assert_allclose(est.predict(X), 2.5)
    with pytest.raises(ValueError, match="shape"):
        est.coefs_[0] = np.zeros((2, 2))


# ---------------------------------------------------------- K12 small things


def test_k12_load_gives_a_model_ready_to_predict(tmp_path, rng):
    from bprop.layers import Dropout, Linear, Sequential

    net = Sequential(Linear(4, 8, rng=0), Dropout(0.5), Linear(8, 2, rng=1))
    loaded = bprop.load(bprop.save(net, tmp_path / "m.npz"))
    x = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(loaded.forward(x), loaded.forward(x))
    np.testing.assert_array_equal(loaded.forward(x), net.eval().forward(x))


def test_k12_every_readme_python_block_runs_on_its_own(tmp_path, monkeypatch):
    import warnings

    from readme_blocks import README

    monkeypatch.chdir(tmp_path)
    import re

    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5
    for i, block in enumerate(blocks):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(block, f"README block {i}", "exec"), {"__name__": "__readme__"})


def test_k5_a_sweep_over_a_csv_skips_its_finished_trials(wine, capsys):
    # data.task: auto is filled in by the run; the sweep must still recognise its trials
    args = ["sweep", "base.yaml", "optimizer.lr=0.01,0.1", "--out", "sw", "--jobs", "1"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    assert "2 skipped;" in capsys.readouterr().out


def test_k9_preprocessing_that_does_not_fit_the_network_is_the_files_fault(wine, capsys):
    run = trained_run(wine, capsys)
    model = bprop.load(run / "model.npz")
    meta = modelfile.load_metadata(run / "model.npz")
    prep = meta["preprocessing"]
    prep["feature_names"] = prep["feature_names"][:5]
    modelfile.save(model, run / "model.npz", metadata=meta)
    names, X, labels = wine_table()
    write_csv(wine / "new.csv", names, X[:4], labels[:4])
    assert main(["predict", str(run), "new.csv"]) == 2
    err = err_line(capsys)
    assert "model.npz" in err and "5 feature names" in err and "13 means" in err


def test_k2_a_directory_given_as_data_is_named_as_one(wine, capsys):
    assert main(["train", "base.yaml", f"data.path={wine}", "--out", "r"]) == 2
    assert "is a directory" in err_line(capsys)
    run = trained_run(wine, capsys)
    assert main(["eval", str(run), "--data", str(wine)]) == 2
    assert "is a directory" in err_line(capsys)


def test_k9_loading_draws_no_random_weights(tmp_path, monkeypatch):
    from bprop import init as bprop_init
    from bprop.layers import Linear, ReLU, Sequential

    net = Sequential(Linear(3, 4, init="he_normal", rng=0), ReLU(), Linear(4, 2, rng=1))
    path = bprop.save(net, tmp_path / "m.npz")

    def no_draws(*args, **kwargs):
        raise AssertionError("a random initialiser ran while loading")

    for name in ("he_normal", "glorot_uniform"):
        monkeypatch.setitem(bprop_init.INITIALIZERS, name, no_draws)
    loaded = bprop.load(path)
    assert repr(loaded) == repr(net) and loaded[0].init == "he_normal"
    np.testing.assert_array_equal(loaded[0].weight.value, net[0].weight.value)


# ------------------------------------------- a second break-it review's inputs


def _edit_metadata(run, edit):
    model = bprop.load(run / "model.npz")
    meta = modelfile.load_metadata(run / "model.npz")
    edit(meta["preprocessing"])
    modelfile.save(model, run / "model.npz", metadata=meta)


@pytest.mark.parametrize("edit,words", [
    (lambda p: p["x_scale"].__setitem__(0, -1.0), "must be > 0"),
    (lambda p: p["x_scale"].__setitem__(0, 0.0), "must be > 0"),
    (lambda p: p["x_scale"].__setitem__(0, float("nan")), "non-finite"),
    (lambda p: p.__setitem__("x_mean", None), "no 'x_mean'"),
    (lambda p: p.__setitem__("classes", ["a", "a", "b"]), "repeat a class"),
    (lambda p: p.__setitem__("classes", ["a", "b"]), "2 classes, its network has 3 outputs"),
    (lambda p: p.__setitem__("task", "regression"), "1 regression target(s)"),
    (lambda p: p["feature_names"].__setitem__(1, p["feature_names"][0]), "repeats a feature"),
])
def test_k9_model_metadata_that_cannot_be_right_is_the_files_fault(wine, capsys, edit, words):
    run = trained_run(wine, capsys)
    _edit_metadata(run, edit)
    names, X, labels = wine_table()
    write_csv(wine / "new.csv", names, X[:4], labels[:4])
    assert main(["predict", str(run), "new.csv", "-o", "p.csv"]) == 2
    err = err_line(capsys)
    assert "model.npz" in err and words in err
    assert not (wine / "p.csv").exists()


def test_k6_a_checkpoint_with_nan_weights_or_impossible_epochs_is_refused(wine, capsys):
    from bprop.training.checkpoints import read_checkpoint, save_checkpoint

    assert main(["train", "base.yaml", "--out", "run", "--quiet", "train.epochs=2"]) == 0
    capsys.readouterr()
    run = wine / "run"
    state, config = read_checkpoint(run / "checkpoint.npz")
    bad = {**state, "params": [np.full_like(state["params"][0], np.nan), *state["params"][1:]]}
    save_checkpoint(run / "checkpoint.npz", bad, config=config)
    (run / "model.npz").unlink()
    assert main(["train", "--resume", str(run)]) == 2
    assert "NaN or infinite" in err_line(capsys)
    assert not (run / "model.npz").exists()
    save_checkpoint(run / "checkpoint.npz", {**state, "epoch": 10**9}, config=config)
    assert main(["train", "--resume", str(run)]) == 2
    assert "damaged" in err_line(capsys)


def test_k8_predict_never_writes_over_a_run_file_and_eval_split_with_data(wine, capsys):
    run = trained_run(wine, capsys)
    names, X, labels = wine_table()
    write_csv(wine / "new.csv", names, X[:4], labels[:4])
    before = (run / "config.yaml").read_text()
    assert main(["predict", str(run), "new.csv", "-o", str(run / "config.yaml")]) == 2
    assert "run's own files" in err_line(capsys)
    assert (run / "config.yaml").read_text() == before
    assert main(["eval", str(run), "--data", "wine.csv", "--split", "val"]) == 2
    assert "--split" in err_line(capsys)


def test_k11_coefs_keep_their_length_and_need_a_fit(rng):
    from sklearn.exceptions import NotFittedError

    from bprop.estimators import MLPClassifier

    with pytest.raises(NotFittedError, match="coefs_"):
        MLPClassifier().coefs_  # noqa: B018
    X = rng.normal(size=(30, 3))
    clf = MLPClassifier(max_iter=3, random_state=0).fit(X, (X[:, 0] > 0).astype(int))
    for change in (lambda c: c.append(np.zeros((2, 2))), lambda c: c.pop(),
                   lambda c: c.__delitem__(0)):
        with pytest.raises(TypeError, match="one array per layer"):
            change(clf.coefs_)
    assert len(clf.coefs_) == 2
