"""Bad input never wins, second review: the bugs a reviewer left open after issue 14.

Each test fails on the code before its fix: huge inputs that train a useless
model, a model file that declares a huge array, ``1_000`` in a CSV, an empty
``--out``, a second ``Trainer.fit`` that does nothing, and EarlyStopping that
restores the weights but not BatchNorm's running statistics. Seeds are fixed.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import test_reliability
from sklearn.datasets import load_iris
from test_reliability import wine_table, write_csv

import bprop
from bprop.cli import main
from bprop.estimators import MLPClassifier, MLPRegressor
from bprop.training.trainer import DivergedError

wine = test_reliability.wine  # the fixture: wine.csv and base.yaml in a fresh folder

SKLEARN_NON_FINITE = re.escape(
    "Solver produced non-finite parameter weights. The input data may contain large values "
    "and need to be preprocessed."
)


# ------------------------------------------------ 1. huge inputs, non-finite solver state


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_huge_inputs_fail_as_in_scikit_learn(cls, solver):
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's overflow warnings, the ConvergenceWarning
        with pytest.raises(ValueError, match=SKLEARN_NON_FINITE):
            cls(solver=solver, max_iter=5, random_state=0).fit(X * 1e306, y)


@pytest.mark.parametrize("engine", ["reference", "fused"])
def test_trainer_stops_when_adam_state_overflows_with_a_finite_loss(rng, engine):
    # gradients near 1e300 square to inf in Adam's v: the loss stays finite, the weights freeze
    X, y = rng.normal(size=(64, 3)) * 1e300, rng.integers(0, 2, size=64)
    net = bprop.layers.Sequential(bprop.layers.Linear(3, 2, rng=0))
    trainer = bprop.Trainer(net, bprop.losses.SoftmaxNLL(),
                            bprop.optim.Adam(net.parameters(), lr=0.01), rng=0, engine=engine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(DivergedError, match=r"optimizer state 'v'.*epoch 1.*overflow"):
            trainer.fit(X, y, 3)


def test_cli_stops_on_overflowing_gradients_with_one_message(wine, capsys):
    names, X, labels = wine_table()
    write_csv(wine / "huge.csv", names, X * 1e300, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        code = main(["train", "base.yaml", "--out", "r", "--quiet", "data.path=huge.csv",
                     "data.standardize=false", "optimizer={type: Adam, lr: 0.01}"])
    assert code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "gradients overflow" in err and "Standardize" in err
    assert "keeps no trained epoch" in err


# ------------------------------------------- 2. model files: shapes checked before reading


def _spy_reads(monkeypatch):
    from bprop import modelfile

    read, original = [], modelfile._read_member
    monkeypatch.setattr(modelfile, "_read_member",
                        lambda zf, info, path: read.append(info.filename) or
                        original(zf, info, path))
    return read


def test_model_file_array_of_another_shape_is_refused_before_any_data_is_read(
        tmp_path, monkeypatch):
    from test_reliability import GOOD, model_file

    # an honest (deflated) 72 MB member where the architecture needs a (2, 2) weight
    path = model_file(tmp_path / "m.npz", GOOD, {"param_0.npy": np.zeros((3000, 3000)),
                                                 "param_1.npy": np.zeros(2)})
    read = _spy_reads(monkeypatch)
    with pytest.raises(ValueError, match=r"m\.npz: param_0 \(.*\) has shape \(3000, 3000\), "
                                         r"expected \(2, 2\)"):
        bprop.load(path)
    assert read == ["__bprop__.npy"]  # the JSON header only


def test_model_file_member_shorter_than_its_header_declares_is_refused_unread(
        tmp_path, monkeypatch):
    from test_reliability import GOOD, model_file, npy_bytes

    head = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }"
    path = model_file(tmp_path / "m.npz", GOOD, {"param_0.npy": npy_bytes(head, b"\0" * 8),
                                                 "param_1.npy": np.zeros(2)})
    read = _spy_reads(monkeypatch)
    with pytest.raises(ValueError, match=r"param_0\.npy is damaged: its header declares shape "
                                         r"\(2, 2\) \(32 bytes\), the member holds 8"):
        bprop.load(path)
    assert read == ["__bprop__.npy"]


def test_model_metadata_and_a_good_model_read_as_before(tmp_path, monkeypatch, rng):
    from bprop import modelfile

    net = bprop.layers.Sequential(bprop.layers.Linear(3, 4, rng=0), bprop.layers.BatchNorm(4))
    net.forward(rng.normal(size=(8, 3)))  # running statistics away from their start
    path = modelfile.save(net, tmp_path / "m.npz", metadata={"k": 1})
    back = bprop.load(path)
    for a, b in zip(net.parameters(), back.parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)
    for name, b in net.buffers().items():
        np.testing.assert_array_equal(back.buffers()[name], b)
    read = _spy_reads(monkeypatch)
    assert modelfile.load_metadata(path) == {"k": 1}
    assert read == ["__bprop__.npy"]


# ------------------------------------- 3. numbers in a CSV are read as numpy and pandas do


@pytest.mark.parametrize("cell", ["1_000", "\u0661\u0662"])  # digit separator, Arabic-Indic
def test_csv_numbers_python_float_takes_but_numpy_and_pandas_refuse(wine, capsys, cell):
    import io

    import pandas as pd

    # the well-known readers refuse the cell: loadtxt raises, pandas keeps it as text
    with pytest.raises(ValueError):
        np.loadtxt(io.StringIO(f"{cell},1\n"), delimiter=",")
    assert pd.read_csv(io.StringIO(f"a,b\n{cell},1\n"))["a"].dtype.kind not in "iuf"
    lines = (wine / "wine.csv").read_text().splitlines()
    cells = lines[3].split(",")
    lines[3] = ",".join([cell, *cells[1:]])
    (wine / "wine.csv").write_text("\n".join(lines) + "\n")
    assert main(["train", "base.yaml", "--out", "r", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "line 4, column 'alcohol'" in err and "not a number" in err
    assert "numpy.loadtxt and pandas" in err
    assert not (wine / "r").exists()


def test_csv_target_with_a_digit_separator_among_numbers_is_refused(wine, capsys):
    names, X, _ = wine_table()
    y = np.arange(len(X)) % 60 * 1000.0
    write_csv(wine / "reg.csv", names, X, [repr(float(v)) for v in y], label_name="price")
    lines = (wine / "reg.csv").read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ",1_000"
    (wine / "reg.csv").write_text("\n".join(lines) + "\n")
    assert main(["train", "base.yaml", "--out", "r", "--quiet", "data.path=reg.csv",
                 "data.target=price"]) == 2
    err = capsys.readouterr().err.strip()
    assert "line 3, column 'price': '1_000' is not a number" in err and "'_'" in err


def test_csv_predict_refuses_a_digit_separator(wine, capsys):
    assert main(["train", "base.yaml", "--out", "run", "--quiet"]) == 0
    names, X, _ = wine_table()
    rows = [",".join(names)] + [",".join(repr(float(v)) for v in r) for r in X[:3]]
    rows[2] = "1_3.2" + rows[2][rows[2].index(","):]
    (wine / "new.csv").write_text("\n".join(rows) + "\n")
    capsys.readouterr()
    assert main(["predict", "run", "new.csv"]) == 2
    err = capsys.readouterr().err.strip()
    assert "line 3, column 'alcohol': '1_3.2' is not a number" in err


# ------------------------------------------------------------- 4. an empty --out


@pytest.mark.parametrize("args, words", [
    (["base.yaml", "--out", ""], "--out: is empty; give the run directory to make"),
    (["base.yaml", "--out", "  "], "--out: is empty"),
    (["--resume", ""], "--resume: is empty; give the run directory to continue"),
    (["base.yaml", "--resume", ""], "--resume: is empty"),
])
def test_empty_out_or_resume_is_one_line(wine, capsys, args, words):
    (wine / "keep.txt").write_text("x")  # the current directory is not empty
    assert main(["train", "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and words in err and "'.'" not in err
    assert sorted(p.name for p in wine.iterdir()) == ["base.yaml", "keep.txt", "wine.csv"]


# ------------------------------------------- 5. a second fit that has nothing left to do


def _tiny_trainer(rng, callbacks=()):
    X, y = rng.normal(size=(32, 3)), rng.normal(size=(32, 1))
    net = bprop.layers.Sequential(bprop.layers.Linear(3, 1, rng=0))
    trainer = bprop.Trainer(net, bprop.losses.SquaredError(),
                            bprop.optim.SGD(net.parameters(), lr=0.05), batch_size=8, rng=0,
                            callbacks=callbacks)
    return trainer, X, y


def test_fit_again_after_the_target_epochs_warns_and_says_how_to_train_more(rng):
    trainer, X, y = _tiny_trainer(rng)
    trainer.fit(X, y, 3)
    before = [p.value.copy() for p in trainer.model.parameters()]
    for epochs in (3, 2):
        with pytest.warns(UserWarning, match=r"already has 3 epochs.*epochs=4 or more"):
            trainer.fit(X, y, epochs)
    assert trainer.epoch == 3 and len(trainer.history) == 3
    for p, b in zip(trainer.model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.value, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # training longer, or asking for 0 epochs: no warning
        trainer.fit(X, y, 4)
        bprop.Trainer(trainer.model, trainer.loss, trainer.optimizer).fit(X, y, 0)
    assert trainer.epoch == 4


# ------------------------------- 6. EarlyStopping restores BatchNorm's running statistics


class _Scripted(bprop.training.Callback):
    """Logs a made-up score per epoch (best at epoch 2) and keeps each epoch's state."""

    def __init__(self, scores):
        self.scores, self.seen = scores, []

    def on_epoch_end(self, trainer, epoch, logs):
        logs["score"] = self.scores[epoch]
        self.seen.append(([p.value.copy() for p in trainer.model.parameters()],
                          {k: b.copy() for k, b in trainer.model.buffers().items()}))


def test_early_stopping_restores_batchnorm_running_statistics(rng):
    from bprop.training.callbacks import EarlyStopping

    X, y = rng.normal(size=(64, 3)) * 3 + 1, rng.integers(0, 2, size=64)
    L = bprop.layers
    net = L.Sequential(L.Linear(3, 8, rng=0), L.BatchNorm(8), L.ReLU(), L.Linear(8, 2, rng=1))
    script = _Scripted([3.0, 1.0, 2.0, 2.0, 2.0, 2.0])
    stop = EarlyStopping(monitor="score", mode="min", patience=3, restore_best_weights=True)
    trainer = bprop.Trainer(net, bprop.losses.SoftmaxNLL(),
                            bprop.optim.SGD(net.parameters(), lr=0.1), batch_size=16, rng=0,
                            callbacks=[script, stop])
    trainer.fit(X, y, 6)
    assert stop.best_epoch == 2 and trainer.epoch == 5
    params, buffers = script.seen[1]
    last_buffers = script.seen[-1][1]
    assert any(not np.array_equal(buffers[k], last_buffers[k]) for k in buffers)
    for p, best in zip(net.parameters(), params, strict=True):
        np.testing.assert_array_equal(p.value, best)
    for name, b in net.buffers().items():
        np.testing.assert_array_equal(b, buffers[name], err_msg=name)
    # and a checkpoint of the callback keeps them
    fresh = EarlyStopping(monitor="score", mode="min", patience=3, restore_best_weights=True)
    fresh.load_state_dict(stop.state_dict())
    for b in net.buffers().values():
        b[...] = 0.0
    fresh.on_train_end(trainer)
    for name, b in net.buffers().items():
        np.testing.assert_array_equal(b, buffers[name], err_msg=name)


def test_estimator_early_stopping_restores_batchnorm_running_statistics(monkeypatch):
    import bprop.estimators.stochastic as stochastic

    X, y = load_iris(return_X_y=True)
    seen, original = {}, stochastic.SklearnEpochs.on_epoch_end

    def spy(self, trainer, epoch, logs):
        original(self, trainer, epoch, logs)
        seen[self.record.n_iter] = {k: b.copy() for k, b in trainer.model.buffers().items()}

    monkeypatch.setattr(stochastic.SklearnEpochs, "on_epoch_end", spy)
    clf = MLPClassifier(layers=[{"type": "Linear", "out": 16}, "BatchNorm", "ReLU"],
                        early_stopping=True, n_iter_no_change=3, learning_rate_init=0.05,
                        max_iter=200, random_state=0).fit(X, y)
    best = int(np.argmax(clf.validation_scores_)) + 1
    assert best < clf.n_iter_
    assert any(not np.array_equal(seen[best][k], seen[clf.n_iter_][k]) for k in seen[best])
    for name, b in clf.model_.buffers().items():
        np.testing.assert_array_equal(b, seen[best][name], err_msg=name)


@pytest.mark.parametrize("argv", [
    ["sweep", "configs/digits.yaml", "optimizer.lr=0.1,0.2", "--out", ""],
    ["predict", "RUN", "X.csv", "-o", " "]])
def test_empty_output_path_of_sweep_and_predict_is_one_line(argv, tmp_path, capsys):
    argv = [str(tmp_path) if a == "RUN" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is empty" in err[0], err
