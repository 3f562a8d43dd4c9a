"""The ``bprop`` command line, run in-process: train, resume, eval, predict, errors."""

from __future__ import annotations

import glob
import json
import os
import signal

import numpy as np
import pytest

from bprop import modelfile
from bprop.cli import main, rundir

CONFIGS = sorted(glob.glob("configs/*.yaml"))
RUN_FILES = {"config.yaml", "history.csv", "checkpoint.npz", "model.npz", "summary.json",
             "loss_curve.png"}


def weights(run_dir):
    return [p.value for p in modelfile.load(os.path.join(run_dir, "model.npz")).parameters()]


def train(*args):
    return main(["train", *map(str, args), "--quiet"])


@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_every_shipped_config_trains(path, tmp_path):
    out = tmp_path / "run"
    assert train(path, "--out", out, "train.epochs=2") == 0
    assert RUN_FILES <= set(os.listdir(out))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] <= 2 and np.isfinite(summary["test_loss"])
    if "diabetes" not in path:
        assert 0 <= summary["test_accuracy"] <= 1
    lines = (out / "history.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:2] == ["epoch", "loss"] and {"lr", "seconds", "val_loss"} <= set(header)
    assert ("l2" in header) == ("objective" in header)  # every optimizer has a weight_decay
    assert ("accuracy" in header) == ("diabetes" not in path)
    assert len(lines) == 1 + summary["epochs"]


def test_digits_reaches_95_percent(tmp_path, capsys):
    # What `make run` promises, with the shipped config unchanged.
    assert train("configs/digits.yaml", "--out", tmp_path / "run") == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["test_accuracy"] >= 0.95 and summary["epochs"] == 30
    assert "test_accuracy" in capsys.readouterr().out


def test_a_config_the_repo_does_not_ship(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    rows = "\n".join(f"{a:.4f},{b:.4f},{c:.4f},{t}" for (a, b, c), t in zip(X, labels,
                                                                         strict=True))
    (tmp_path / "d.csv").write_text("f1,f2,f3,answer\n" + rows + "\n")
    (tmp_path / "mine.yaml").write_text(
        "data: {name: csv, path: d.csv, target: answer}\n"
        "model: [{type: Linear, out: 8}, {type: LeakyReLU, negative_slope: 0.1},\n"
        "        {type: Dropout, p: 0.1}, {type: Linear, out: 2}]\n"
        "optimizer: {type: Adam, lr: 0.01}\n"
        "train: {epochs: 40, early_stopping: true, patience: 5, monitor: val_accuracy}\n")
    assert train(tmp_path / "mine.yaml", "--out", tmp_path / "run") == 0
    run = tmp_path / "run"
    assert "loss: SoftmaxNLL" in (run / "config.yaml").read_text()  # the default, written out
    assert json.loads((run / "summary.json").read_text())["test_accuracy"] > 0.9
    # predict reads the header, ignores the target column and returns the original labels
    assert main(["predict", str(run), str(tmp_path / "d.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    out = (tmp_path / "p.csv").read_text().splitlines()
    assert out[0] == "prediction,p_no,p_yes" and len(out) == 201
    assert np.mean([line.split(",")[0] == t for line, t in zip(out[1:], labels,
                                                                strict=True)]) > 0.9


def test_resolved_config_reruns_to_the_same_model(tmp_path):
    assert train("configs/xor.yaml", "--out", tmp_path / "a", "train.epochs=3") == 0
    assert train(tmp_path / "a" / "config.yaml", "--out", tmp_path / "b") == 0
    for wa, wb in zip(weights(tmp_path / "a"), weights(tmp_path / "b"), strict=True):
        np.testing.assert_array_equal(wa, wb)


STATEFUL = ["train.epochs=6", "model.1={type: Dropout, p: 0.2}", "train.checkpoint_every=2",
            "schedule={type: StepDecay, step_size: 2, gamma: 0.5}",
            "train.early_stopping=true", "train.patience=3", "optimizer.lr=0.05"]


def test_sigterm_then_resume_gives_the_uninterrupted_weights(tmp_path, monkeypatch, capsys):
    # Dropout masks, the shuffling, momentum, the schedule and early stopping all
    # carry state across the interruption; the final weights must match exactly.
    assert train("configs/digits.yaml", "--out", tmp_path / "a", *STATEFUL) == 0

    def kill(self, trainer, batch, loss):
        if trainer.epoch == 3 and batch == 5:  # mid-epoch 4, after a checkpoint at epoch 2
            os.kill(os.getpid(), signal.SIGTERM)
    monkeypatch.setattr(rundir.Recorder, "on_batch_end", kill, raising=False)
    assert train("configs/digits.yaml", "--out", tmp_path / "b", *STATEFUL) == 128 + 15
    assert "checkpoint of epoch 3 saved" in capsys.readouterr().err
    assert not (tmp_path / "b" / "model.npz").exists()
    monkeypatch.undo()

    assert main(["train", "--resume", str(tmp_path / "b"), "--quiet"]) == 0
    for wa, wb in zip(weights(tmp_path / "a"), weights(tmp_path / "b"), strict=True):
        np.testing.assert_array_equal(wa, wb)
    sa, sb = (json.loads((tmp_path / r / "summary.json").read_text()) for r in "ab")
    assert sa["test_loss"] == sb["test_loss"]
    assert main(["train", "--resume", str(tmp_path / "b")]) == 0
    assert "already complete" in capsys.readouterr().out


def test_resume_can_extend_a_finished_run(tmp_path):
    assert train("configs/xor.yaml", "--out", tmp_path / "a", "train.epochs=4") == 0
    assert train("configs/xor.yaml", "--out", tmp_path / "b", "train.epochs=2") == 0
    assert main(["train", "--resume", str(tmp_path / "b"), "train.epochs=4", "--quiet"]) == 0
    for wa, wb in zip(weights(tmp_path / "a"), weights(tmp_path / "b"), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert "epochs: 4" in (tmp_path / "b" / "config.yaml").read_text()
    assert main(["train", "--resume", str(tmp_path / "b"), "optimizer.lr=1"]) == 2


def test_checkpoints_are_written_atomically(tmp_path, monkeypatch):
    assert train("configs/xor.yaml", "--out", tmp_path / "a", "train.epochs=2") == 0
    before = (tmp_path / "a" / "checkpoint.npz").read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError):
        rundir.save_checkpoint(tmp_path / "a" / "checkpoint.npz", {"trainer": {}, "callbacks": []})
    assert (tmp_path / "a" / "checkpoint.npz").read_bytes() == before
    assert not [f for f in os.listdir(tmp_path / "a") if f.endswith(".tmp")]


def test_run_directories_are_never_overwritten(tmp_path, monkeypatch, capsys):
    xor = os.path.abspath("configs/xor.yaml")
    monkeypatch.chdir(tmp_path)
    assert train(xor, "train.epochs=1") == 0
    assert train(xor, "train.epochs=1") == 0  # same second: a -2 suffix, not a clash
    made = sorted(os.listdir(tmp_path / "runs"))
    assert len(made) == 2 and all(m.startswith("xor-") for m in made)
    assert train(xor, "--out", f"runs/{made[0]}") == 2
    assert "already exists" in capsys.readouterr().err


def test_eval_predict_gradcheck_print_config(tmp_path, capsys):
    run = tmp_path / "run"
    assert train("configs/diabetes.yaml", "--out", run, "train.epochs=3") == 0
    capsys.readouterr()
    assert main(["eval", str(run)]) == 0
    result = json.loads(capsys.readouterr().out)
    summary = json.loads((run / "summary.json").read_text())
    assert result["loss"] == pytest.approx(summary["test_loss"])
    assert result["r2"] == pytest.approx(summary["test_r2"]) and result["n_samples"] == 89
    assert main(["eval", str(run), "--data", "diabetes"]) == 0
    assert json.loads(capsys.readouterr().out)["n_samples"] == 442
    (tmp_path / "x.csv").write_text("0,0,0,0,0,0,0,0,0,0\n")
    assert main(["predict", str(run), str(tmp_path / "x.csv")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "prediction" and 50 < float(out[1]) < 300  # original units
    assert main(["gradcheck", "configs/spirals.yaml"]) == 0
    assert "gradients OK" in capsys.readouterr().out
    assert main(["print-config", "configs/breast_cancer.yaml", "train.epochs=7"]) == 0
    printed = capsys.readouterr().out
    assert "epochs: 7" in printed and "loss: SigmoidCrossEntropy" in printed


@pytest.mark.parametrize("argv, words", [
    (["train", "configs/nope.yaml"], "configs/nope.yaml: no such file"),
    (["train", "configs/digits.yaml", "optimizer.lr=-1"], "optimizer.lr"),
    (["train", "configs/digits.yaml", "model.2.out=7"], "set the last Linear's out to 10"),
    (["train", "configs/diabetes.yaml", "loss=SoftmaxNLL"], "regression data set"),
    (["train", "configs/diabetes.yaml", "loss=null", "train.early_stopping=true",
      "train.monitor=val_accuracy"], "train.monitor: 'val_accuracy' needs a classification"),
    (["train", "configs/digits.yaml", "oops"], "key.path=value"),
    (["train", "configs/digits.yaml", "--oops"], "unrecognized arguments"),
    (["train"], "CONFIG.yaml"),
    (["train", "--resume", "configs"], "not a run directory"),
    (["eval", "configs"], "not a run directory"),
    (["predict", "configs", "x.csv"], "not a run directory"),
    (["gradcheck", "configs/digits.yaml", "--samples", "0"], "--samples"),
])
def test_bad_input_exits_2_with_one_line(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(os.path.join(os.path.dirname(__file__), ".."))
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2 and words in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2  # argparse adds its usage line


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("bprop ")
    for command in ("train", "eval", "predict", "gradcheck", "print-config"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "usage: bprop " + command in capsys.readouterr().out


def test_readme_error_examples_are_what_bprop_prints(capsys):
    import re
    import shlex
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("<!-- section: cli -->"):text.index("<!-- end section: cli -->")]
    pairs = re.findall(r"^\$ (bprop .*)\n(bprop: error: .*)$", section, re.M)
    assert len(pairs) >= 3
    for command, shown in pairs:
        assert main(shlex.split(command)[1:]) == 2
        printed = capsys.readouterr().err.strip()
        head = shown.split("...")[0]  # the README may elide a long list with "..."
        assert printed.startswith(head), (printed, shown)


def test_predict_reads_csv_as_training_does(tmp_path, capsys):
    # one csv reader for data files and predict inputs: the same checks, the same words
    run = tmp_path / "run"
    assert train("configs/xor.yaml", "--out", run, "train.epochs=1") == 0
    names = modelfile.load_metadata(run / "model.npz")["preprocessing"]["feature_names"]
    capsys.readouterr()
    for text, words in [
        (f"{names[1]},{names[0]}\n0.5,x\n", f"line 2, column {names[0]!r}: 'x' is not a number"),
        (f"{names[0]},{names[1]}\n", "has a header but no data rows"),
        ("1,2\n3\n", "line 2 has 1 columns, expected 2"),
        ("", "is empty"),
    ]:
        (tmp_path / "in.csv").write_text(text)
        assert main(["predict", str(run), str(tmp_path / "in.csv")]) == 2
        assert words in capsys.readouterr().err
    # by header name, in any column order; written atomically with -o
    (tmp_path / "in.csv").write_text(f"{names[1]},{names[0]}\n0.5,-0.5\n-0.5,0.5\n")
    assert main(["predict", str(run), str(tmp_path / "in.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 3


# --- what a run directory shows: history columns, diagnostics, plots, the loss curve ----


def test_history_csv_takes_a_column_a_callback_starts_later(tmp_path):
    from bprop.layers import Linear, Sequential
    from bprop.losses import SoftmaxNLL
    from bprop.optim import SGD
    from bprop.training import Trainer
    from bprop.training.callbacks import Callback

    class Late(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch >= 2:
                logs["late"] = 10.0 * epoch

    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    net = Sequential(Linear(3, 2, rng=0))
    recorder = rundir.Recorder(tmp_path)
    Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.1, weight_decay=0.01), rng=0,
            callbacks=[Late(), recorder]).fit(X, y, 4)
    lines = (tmp_path / "history.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header == ["epoch", "loss", "l2", "objective", "accuracy", "val_loss",
                      "val_accuracy", "lr", "seconds", "late"]
    assert [line.split(",")[-1] for line in lines[1:]] == ["", "", "20", "30"]
    back = rundir.read_history(tmp_path / "history.csv", epochs=4)
    assert [r["late"] for r in back][2:] == [20.0, 30.0] and np.isnan(back[0]["late"])
    assert back[3]["objective"] == pytest.approx(back[3]["loss"] + back[3]["l2"], rel=1e-5)


def test_diagnostics_and_plots_in_the_run_directory(tmp_path, capsys):
    run = tmp_path / "xor"
    assert train("configs/xor.yaml", "--out", run, "train.epochs=3",
                 "train.diagnostics=true") == 0
    assert {"diagnostics.csv", "diagnostics.png"} <= set(os.listdir(run))
    rows = (run / "diagnostics.csv").read_text().splitlines()
    assert rows[0] == "epoch,layer,type,quantity,value"
    assert any(",grad_norm.weight," in r for r in rows) and rows[-1].startswith("3,")
    capsys.readouterr()
    assert main(["plot", str(run)]) == 0
    assert (run / "decision_boundary.png").stat().st_size > 1000
    assert "decision_boundary.png" in capsys.readouterr().out

    digits = tmp_path / "digits"
    assert train("configs/digits.yaml", "--out", digits, "train.epochs=1") == 0
    assert main(["plot", str(digits), "--out", str(tmp_path / "pics")]) == 0
    assert (tmp_path / "pics" / "weights.png").is_file()
    assert not (digits / "decision_boundary.png").exists()


def test_plot_says_when_there_is_nothing_to_draw(tmp_path, capsys):
    (tmp_path / "iris.yaml").write_text("data: iris\nmodel: [{type: Linear, out: 3}]\n"
                                        "train: {epochs: 1}\n")
    assert train(tmp_path / "iris.yaml", "--out", tmp_path / "run") == 0
    capsys.readouterr()
    assert main(["plot", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "nothing to plot: the data has 4 features" in err and "Traceback" not in err


def test_loss_curve_has_log_axis_markers_and_learning_rate(tmp_path):
    records = [{"epoch": e, "loss": loss, "val_loss": val, "lr": lr, "accuracy": 0.5,
                "val_accuracy": 0.6}
               for e, loss, val, lr in [(1, 1e6, 5.0, 0.1), (2, 2.0, 1.0, 0.1),
                                        (3, 1.0, 0.5, 0.05), (4, 0.5, 0.7, 0.05)]]
    fig = rundir.plot_history(records, tmp_path / "c.png", "t", stopped_epoch=4)
    loss_ax, lr_ax, acc_ax = fig.axes[0], fig.axes[2], fig.axes[1]
    assert loss_ax.get_yscale() == "log"
    labels = loss_ax.get_legend().get_texts()
    texts = [t.get_text() for t in labels]
    assert "best epoch (3)" in texts  # the lowest validation loss
    assert "early stopping (epoch 4)" in texts and "learning rate (right axis)" in texts
    assert lr_ax.get_ylabel() == "learning rate" and lr_ax.get_yscale() == "linear"
    assert acc_ax.get_ylabel() == "accuracy" and len(acc_ax.get_lines()) == 2
    near = [{**r, "loss": 1.0 + r["epoch"] / 10} for r in records]
    fig = rundir.plot_history(near, tmp_path / "d.png", "t", best_epoch=2)
    assert fig.axes[0].get_yscale() == "linear"
    assert "best epoch (2)" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_regression_loss_curve_says_standardized(tmp_path, monkeypatch):
    drawn = {}
    plot = rundir.plot_history
    monkeypatch.setattr(rundir, "plot_history",
                        lambda *a, **kw: drawn.update(kw) or plot(*a, **kw))
    assert train("configs/diabetes.yaml", "--out", tmp_path / "r", "train.epochs=2",
                 "loss=Huber") == 0
    assert drawn["loss_label"] == "loss (standardized targets)"
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["test_rmse"] > 10  # in the targets' units (diabetes: tens to hundreds)
    header = (tmp_path / "r" / "history.csv").read_text().splitlines()[0].split(",")
    assert "accuracy" not in header and "objective" in header


def test_resume_a_run_made_before_the_new_train_keys(tmp_path):
    from bprop.training import checkpoints

    assert train("configs/xor.yaml", "--out", tmp_path / "a", "train.epochs=2") == 0
    state, cfg = checkpoints.read_checkpoint(tmp_path / "a" / "checkpoint.npz")
    for key in ("diagnostics", "drop_last"):  # an older bprop wrote neither
        del cfg["train"][key]
    checkpoints.save_checkpoint(tmp_path / "a" / "checkpoint.npz", state, config=cfg)
    assert main(["train", "--resume", str(tmp_path / "a"), "train.epochs=3", "--quiet"]) == 0


def test_print_config_builds_nothing(tmp_path, capsys, user_plugin):
    # print-config called prepare(): every constructor ran, and one that raised was a traceback
    config = tmp_path / "c.yaml"
    config.write_text("data: {name: iris}\nmodel: [{type: Linear, out: 4}, Exploding, "
                      "{type: Linear, out: 3}]\n")
    assert main(["print-config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "{type: Exploding, k: 1}" in out and "loss: SoftmaxNLL" in out
    assert main(["train", str(config), "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    assert capsys.readouterr().err == ("bprop: error: model[1] (Exploding): RuntimeError: "
                                       "Exploding refuses to be built\n")


def test_import_option_and_the_run_imports_again(tmp_path, capsys, monkeypatch, user_plugin):
    # `bprop train custom.yaml` could not name a user's layer; eval could not load the run
    import sys

    from bprop import registry

    config = tmp_path / "c.yaml"
    config.write_text("data: {name: iris}\ntrain: {epochs: 2}\nmodel: [{type: Linear, out: 4}, "
                      "{type: Scale, a: 0.5}, {type: Linear, out: 3}]\n")
    registry._TABLES["layer"].pop("Scale")
    sys.modules.pop("bprop_user_plugin")
    run = tmp_path / "run"
    assert main(["train", str(config), "--out", str(run), "--quiet"]) == 2
    assert "unknown layer 'Scale'" in capsys.readouterr().err
    assert main(["--import", "bprop_user_plugin", "train", str(config), "--out", str(run),
                 "--quiet"]) == 0
    assert "imports: [bprop_user_plugin]" in (run / "config.yaml").read_text()
    want = json.loads((run / "summary.json").read_text())["test_loss"]
    registry._TABLES["layer"].pop("Scale")  # as in a new process
    sys.modules.pop("bprop_user_plugin")
    capsys.readouterr()
    assert main(["eval", str(run)]) == 0
    assert json.loads(capsys.readouterr().out)["loss"] == pytest.approx(want, rel=1e-12)
    assert modelfile.load(run / "model.npz")[1].a == 0.5
    assert main(["--import", "fix11_missing_module", "list", "layers"]) == 2
    assert capsys.readouterr().err.startswith("bprop: error: --import: cannot import "
                                              "'fix11_missing_module'")


PLUGIN_BESIDE_CONFIG = """
import numpy as np
from bprop.layers import Layer
from bprop.registry import register


@register("layer", "Twice", aliases=("twice",))
class _TwiceImpl(Layer):
    def __init__(self, k: float = 2.0):
        super().__init__()
        self.k = k

    def forward(self, x):
        return self.k * np.asarray(x, dtype=float)

    def backward(self, dy):
        return self.k * dy
"""


def test_a_module_beside_the_config_under_another_name_trains_and_reloads(
        tmp_path, capsys, monkeypatch, clean_registry):
    # a class registered as "Twice" was written back as '_TwiceImpl' (unknown); a module found
    # beside the config was recorded by bare name, which eval run from elsewhere could not find
    import sys

    from bprop import registry

    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "twice_plugin.py").write_text(PLUGIN_BESIDE_CONFIG, encoding="utf-8")
    (folder / "c.yaml").write_text(
        "imports: [twice_plugin]\ndata: {name: iris}\ntrain: {epochs: 2}\n"
        "model: [{type: Linear, out: 4}, {type: Twice, k: 0.5}, {type: Linear, out: 3}]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "twice_plugin", raising=False)
    run = tmp_path / "run"
    assert main(["train", str(folder / "c.yaml"), "--out", str(run), "--quiet"]) == 0
    saved = (run / "config.yaml").read_text()
    assert str(folder / "twice_plugin.py") in saved and "type: Twice" in saved
    want = json.loads((run / "summary.json").read_text())["test_loss"]
    registry._TABLES["layer"].pop("Twice")  # as in a new process, from another directory
    sys.modules.pop("twice_plugin")
    monkeypatch.chdir(folder.parent.parent)
    capsys.readouterr()
    assert main(["eval", str(run)]) == 0
    assert json.loads(capsys.readouterr().out)["loss"] == pytest.approx(want, rel=1e-12)
    layer = modelfile.load(run / "model.npz")[1]
    assert type(layer).__name__ == "_TwiceImpl" and layer.k == 0.5


# -- a diverged run stays diverged: resumed, refused, evaluated -------------------------


def sparse_files(folder, n=400, d=1000, density=0.02, seed=0):
    """A random sparse classification problem: X.npz (save_npz), y.npy, d.svm (one-based)."""
    import scipy.sparse as sp
    from sklearn.datasets import dump_svmlight_file

    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed)
    y = rng.integers(0, 3, n)
    sp.save_npz(folder / "X.npz", X)
    np.save(folder / "y.npy", y)
    dump_svmlight_file(X, y, str(folder / "d.svm"), zero_based=False)
    return X, y


DIVERGING = ("data: {name: sparse, path: X.npz, y: y.npy}\n"
             "model: [{type: Linear, out: 32}, ReLU, {type: Linear, out: 3}]\n"
             "optimizer: {type: SGD, lr: 1.0, momentum: 0.9}\n"
             "train: {epochs: 15, batch_size: 32}\n")


def error_line(err):
    return next(line for line in err.splitlines() if line.startswith("bprop: "))


def test_a_resumed_run_diverges_where_the_uninterrupted_one_does(tmp_path, monkeypatch, capsys):
    sparse_files(tmp_path)
    (tmp_path / "c.yaml").write_text(DIVERGING)
    assert train(tmp_path / "c.yaml", "--out", tmp_path / "a") == 1
    whole = error_line(capsys.readouterr().err)
    assert "training diverged" in whole and "epoch 1," not in whole  # a checkpoint before it
    assert json.loads((tmp_path / "a" / "diverged.json").read_text())["error"] in whole

    def kill(self, trainer, batch, loss):
        if trainer.epoch == 2 and batch == 3:  # mid-epoch 3, after the checkpoint of epoch 2
            os.kill(os.getpid(), signal.SIGTERM)
    monkeypatch.setattr(rundir.Recorder, "on_batch_end", kill, raising=False)
    assert train(tmp_path / "c.yaml", "--out", tmp_path / "b") == 128 + 15
    monkeypatch.undo()
    capsys.readouterr()
    # the divergence guard's reference loss was checkpointed: it stops at the same batch
    assert main(["train", "--resume", str(tmp_path / "b"), "--quiet"]) == 1
    assert error_line(capsys.readouterr().err) == whole
    assert not (tmp_path / "b" / "model.npz").exists()

    # a diverged run is not resumed (it would diverge again), nor evaluated
    stamp = (tmp_path / "a" / "checkpoint.npz").stat().st_mtime_ns
    assert main(["train", "--resume", str(tmp_path / "a"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert error_line(err) == whole and "--resume would diverge" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2
    assert (tmp_path / "a" / "checkpoint.npz").stat().st_mtime_ns == stamp
    assert main(["eval", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err.strip()
    assert "diverged" in err and len(err.splitlines()) == 1


# -- what the Trainer refuses is one line, before any run directory ---------------------


@pytest.mark.parametrize("data, overrides, where, words", [
    ("sparse", ["model=[Dropout, {type: Linear, out: 3}]"], "model[0]", "starts with Dropout"),
    ("digits", ["model=[{type: Linear, out: 16}, BatchNorm, ReLU, {type: Linear, out: 10}]",
                "train.engine=fused"], "train.engine", "BatchNorm"),
    ("npy", ["train.engine=fused"], "train.engine", "MappedRows"),
])
def test_what_the_trainer_refuses_is_one_line_before_the_run_directory(
        data, overrides, where, words, tmp_path, capsys):
    config = data_config(tmp_path, data)
    out = tmp_path / "run"
    assert train(config, "--out", out, *overrides) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"error: {where}: " in err and words in err
    if "engine" in where:
        assert "auto" in err and "reference" in err
    assert not out.exists()


def data_config(folder, data):
    """A config over ``data``: sparse (save_npz), npy (memory-mapped) or digits."""
    if data == "sparse":
        sparse_files(folder, n=120, d=50, density=0.1)
        section = "{name: sparse, path: X.npz, y: y.npy}"
    elif data == "npy":
        rng = np.random.default_rng(0)
        np.save(folder / "X.npy", rng.normal(size=(120, 5)))
        np.save(folder / "y.npy", rng.integers(0, 3, 120))
        section = "{name: npy, x: X.npy, y: y.npy}"
    else:
        section = "digits"
    (folder / "c.yaml").write_text(f"data: {section}\n"
                                   "model: [{type: Linear, out: 8}, ReLU, "
                                   "{type: Linear, out: " + ("10" if data == "digits" else "3")
                                   + "}]\ntrain: {epochs: 2, batch_size: 32}\n")
    return folder / "c.yaml"


@pytest.mark.parametrize("data", ["sparse", "npy"])
def test_diagnostics_on_sparse_and_memory_mapped_data(data, tmp_path, monkeypatch):
    import scipy.sparse as sp

    def refuse(self, *args, **kwargs):
        raise AssertionError("a sparse matrix was densified")
    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        monkeypatch.setattr(cls, "toarray", refuse)
    config = data_config(tmp_path, data)
    assert train(config, "--out", tmp_path / "run", "train.diagnostics=true") == 0
    text = (tmp_path / "run" / "diagnostics.csv").read_text()
    assert "act_std" in text and "grad_norm" in text


def test_a_layer_refusing_the_first_batch_is_one_line_and_leaves_no_directory(
        tmp_path, monkeypatch, capsys):
    from bprop.layers.activations import Tanh

    def refuse(self, x):
        raise ValueError("Tanh.forward cannot take this input")
    monkeypatch.setattr(Tanh, "forward", refuse)
    assert train("configs/xor.yaml", "--out", tmp_path / "run", "train.engine=reference") == 2
    err = capsys.readouterr().err.strip()
    assert err == "bprop: error: Tanh.forward cannot take this input"
    assert not (tmp_path / "run").exists()
    (tmp_path / "empty").mkdir()  # an empty --out given: it stays, empty
    assert train("configs/xor.yaml", "--out", tmp_path / "empty", "train.engine=reference") == 2
    assert (tmp_path / "empty").is_dir() and not list((tmp_path / "empty").iterdir())


# -- eval and predict read the sparse files train reads ---------------------------------


def test_eval_and_predict_read_sparse_files_as_training_does(tmp_path, monkeypatch, capsys):
    import scipy.sparse as sp
    from sklearn.datasets import dump_svmlight_file

    X, y = sparse_files(tmp_path, n=300, d=40, density=0.1)
    (tmp_path / "c.yaml").write_text(
        "data: {name: svmlight, path: d.svm}\n"
        "model: [{type: Linear, out: 8}, ReLU, {type: Linear, out: 3}]\n"
        "train: {epochs: 2, batch_size: 32}\n")
    run = tmp_path / "run"
    assert train(tmp_path / "c.yaml", "--out", run) == 0
    assert "zero_based: false" in (run / "config.yaml").read_text()  # decided from the file
    # new rows whose last columns are empty: read with the training width, they line up
    Xn = X[:50].tolil()
    Xn[:, 30:] = 0
    Xn = Xn.tocsr()
    Xn.eliminate_zeros()
    sp.save_npz(tmp_path / "new.npz", Xn)
    np.save(tmp_path / "new_y.npy", y[:50])
    dump_svmlight_file(Xn, y[:50], str(tmp_path / "new.svm"), zero_based=False)

    def refuse(self, *args, **kwargs):
        raise AssertionError("a sparse matrix was densified")
    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        monkeypatch.setattr(cls, "toarray", refuse)
    capsys.readouterr()
    assert main(["eval", str(run), "--data", str(tmp_path / "new.svm")]) == 0
    by_svm = json.loads(capsys.readouterr().out)
    assert main(["eval", str(run), "--data", str(tmp_path / "new.npz"),
                 "--y", str(tmp_path / "new_y.npy")]) == 0
    by_npz = json.loads(capsys.readouterr().out)
    assert by_svm["n_samples"] == by_npz["n_samples"] == 50
    assert by_svm["loss"] == pytest.approx(by_npz["loss"], rel=1e-12)
    assert main(["predict", str(run), str(tmp_path / "new.svm")]) == 0
    from_svm = capsys.readouterr().out
    assert main(["predict", str(run), str(tmp_path / "new.npz")]) == 0
    assert capsys.readouterr().out == from_svm and len(from_svm.splitlines()) == 51

    # what they cannot read is one short line
    wide = sp.random(5, 60, density=0.5, format="csr", random_state=1)
    dump_svmlight_file(wide, np.zeros(5), str(tmp_path / "wide.svm"), zero_based=False)
    for argv, words in [
        (["eval", str(run), "--data", str(tmp_path / "new.npz")], "--y"),
        (["eval", str(run), "--data", str(tmp_path / "wide.svm")], "more than the 40"),
        (["predict", str(run), str(tmp_path / "wide.svm")], "more than the 40"),
        (["eval", str(run), "--data", "digits", "--y", str(tmp_path / "new_y.npy")], "--y"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err and len(err) < 400
