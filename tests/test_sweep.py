"""``bprop sweep`` and the ``sweep:`` section: grids, random search, local processes,
Dask, skipping and resuming on a rerun, failed trials, sweep.csv; and the
estimators' GridSearchCV on a Dask cluster (the README's example)."""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from bprop import modelfile
from bprop.cli import main, rundir
from bprop.cli import sweep as sweep_cli
from bprop.cli.train import Interrupted
from bprop.config import ConfigError, load_config
from bprop.config.sweep import check_sweep, expand, parse_cli, split_values

XOR = "configs/xor.yaml"
README = Path(__file__).resolve().parents[1] / "README.md"
RUN_FILES = {"config.yaml", "history.csv", "checkpoint.npz", "model.npz", "summary.json",
             "loss_curve.png"}


def weights(run_dir):
    return [p.value for p in modelfile.load(Path(run_dir) / "model.npz").parameters()]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# -- the spec: grid, random search, errors ----------------------------------


def test_grid_is_every_combination_in_order():
    spec = check_sweep({"params": {"optimizer.lr": [0.1, 0.01], "model.0.out": [4, 8, 16],
                                   "seed": 3}})
    trials = expand(spec)
    assert len(trials) == 6 and len({t.name for t in trials}) == 6
    assert trials[0].overrides == ["optimizer.lr=0.1", "model.0.out=4", "seed=3"]
    assert trials[1].overrides == ["optimizer.lr=0.1", "model.0.out=8", "seed=3"]
    assert trials[-1].overrides == ["optimizer.lr=0.01", "model.0.out=16", "seed=3"]
    assert trials[0].name == "optimizer.lr=0.1,model.0.out=4,seed=3"
    # a value that is no file name still gives a distinct, safe name
    odd = expand(check_sweep({"params": {"optimizer": [{"type": "SGD", "lr": 0.1}, "Adam"]}}))
    assert odd[0].overrides == ["optimizer={type: SGD, lr: 0.1}"]
    assert re.fullmatch(r"[A-Za-z0-9._=,+-]+", odd[0].name) and odd[0].name != odd[1].name


def test_command_line_lists_and_fixed_values():
    assert split_values("{type: SGD, lr: 0.1},Adam") == ["{type: SGD, lr: 0.1}", "Adam"]
    assert split_values("[8, 16]") == ["[8, 16]"]
    fixed, params = parse_cli(["optimizer.lr=1e-3,0.1", "train.epochs=2", "model.0.out=[8, 1]"])
    assert fixed == ["train.epochs=2", "model.0.out=[8, 1]"]
    assert params == {"optimizer.lr": ["1e-3", "0.1"]}
    with pytest.raises(ConfigError, match="empty value"):
        parse_cli(["optimizer.lr=0.1,"])


def test_random_search_is_reproducible_and_in_range():
    params = {"optimizer.lr": {"distribution": "loguniform", "low": 1e-4, "high": 1e-1},
              "optimizer.momentum": {"distribution": "uniform", "low": 0.5, "high": 0.9},
              "train.batch_size": {"distribution": "randint", "low": 8, "high": 10},
              "model.0.out": [4, 8]}
    spec = check_sweep({"method": "random", "trials": 12, "seed": 7, "params": params})
    a, b = expand(spec), expand(spec)
    assert a == b and len(a) == 12
    assert expand({**spec, "seed": 8}) != a
    assert expand({**spec, "trials": 20})[:12] == a  # more trials extend the list
    values = {k: [] for k in params}
    for t in a:
        for k, v in t.values:
            values[k].append(float(v))
    assert all(1e-4 <= v <= 1e-1 for v in values["optimizer.lr"])
    assert all(0.5 <= v <= 0.9 for v in values["optimizer.momentum"])
    assert set(values["train.batch_size"]) <= {8, 9, 10} and set(values["model.0.out"]) <= {4, 8}
    # log-uniform: about as many draws below the geometric middle as above it
    assert 3 <= sum(v < 10 ** -2.5 for v in values["optimizer.lr"]) <= 9


@pytest.mark.parametrize("section, path, words", [
    ({"method": "bayes"}, "sweep.method", "grid, random"),
    ({"params": {"optimizer.lr": {"distribution": "uniform", "low": 0, "high": 1}}},
     "sweep.params.optimizer.lr", "distributions are for method: random"),
    ({"method": "random", "params": {"optimizer.lr": {"distribution": "loguniform",
                                                      "low": 0, "high": 1}}},
     "sweep.params.optimizer.lr.low", "low > 0"),
    ({"method": "random", "params": {"optimizer.lr": {"distribution": "normal", "low": 0,
                                                      "high": 1}}},
     "sweep.params.optimizer.lr.distribution", "uniform, loguniform, randint"),
    ({"params": {"optimiser.lr": [0.1]}}, "sweep.params.optimiser.lr", "'optimizer'"),
    ({"params": {"optimizer.lr": []}}, "sweep.params.optimizer.lr", "at least one"),
    ({"params": [0.1, 0.2]}, "sweep.params", "mapping"),
    ({"trials": 0}, "sweep.trials", ">= 1"),
    ({"grid": {"optimizer.lr": [0.1]}}, "sweep.grid", "allowed: method, params"),
])
def test_bad_sweep_sections_name_the_key(section, path, words, tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(Path(XOR).read_text() + "sweep: " + json.dumps(section) + "\n")
    for command in ("sweep", "train"):  # the loader checks the section for both
        assert main([command, str(cfg), "--out", str(tmp_path / command)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"bprop: error: {path}: ") and words in err
        assert len(err.splitlines()) == 1
    assert not (tmp_path / "sweep").exists() and not (tmp_path / "train").exists()


def test_a_run_of_a_config_with_a_sweep_section_is_one_plain_run(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(Path(XOR).read_text() + "sweep: {params: {optimizer.lr: [0.1, 1]}}\n")
    assert "sweep" not in load_config(str(cfg))
    assert main(["train", str(cfg), "--out", str(tmp_path / "r"), "train.epochs=1",
                 "--quiet"]) == 0
    assert "sweep" not in (tmp_path / "r" / "config.yaml").read_text()
    assert main(["sweep", XOR, "train.epochs=1"]) == 2  # nothing to sweep
    assert "nothing to sweep" in capsys.readouterr().err


def test_threads_times_jobs_never_exceed_the_cores(tmp_path):
    assert sweep_cli.plan(None, 10, 8) == (8, 1)
    assert sweep_cli.plan(3, 10, 8) == (3, 2)
    assert sweep_cli.plan(None, 2, 8) == (2, 4)  # fewer trials than cores: more threads each
    assert sweep_cli.plan(16, 10, 8) == (8, 1)
    # and the worker applies it: BLAS runs with the threads it was given
    out = sweep_cli.run_trial(os.path.abspath(XOR), ["train.epochs=1"], str(tmp_path / "t"),
                              threads=1)
    assert out["status"] == "done" and out["blas_threads"] == 1


# -- running sweeps --------------------------------------------------------------


def test_local_parallel_sweep_failure_csv_and_rerun(tmp_path, capsys):
    out = tmp_path / "sw"
    args = ["sweep", XOR, "optimizer.lr=0.1,-1,0.5", "train.epochs=2", "--jobs", "2",
            "--out", str(out)]
    assert main(args) == 1  # one trial failed; the others ran to the end
    text = capsys.readouterr().out
    assert "2 at a time" in text and "2 done, 1 failed" in text
    rows = read_csv(out / "sweep.csv")
    assert [r["optimizer.lr"] for r in rows] == ["0.1", "-1", "0.5"]
    assert [r["status"] for r in rows] == ["done", "failed", "done"]
    assert rows[1]["error"].startswith("optimizer.lr: ") and "> 0" in rows[1]["error"]
    assert "\n" not in rows[1]["error"] and rows[0]["error"] == ""
    assert list(rows[0])[:3] == ["trial", "optimizer.lr", "status"]
    assert {"test_loss", "test_accuracy", "train_loss", "epochs", "seconds"} <= set(rows[0])
    for row in (rows[0], rows[2]):
        run = out / row["trial"]
        assert RUN_FILES <= set(os.listdir(run))
        summary = json.loads((run / "summary.json").read_text())
        assert float(row["test_loss"]) == pytest.approx(summary["test_loss"], rel=1e-5)
        assert int(row["epochs"]) == summary["epochs"] == 2
        assert f"lr: {row['optimizer.lr']}" in (run / "config.yaml").read_text()
    assert (out / "sweep.png").stat().st_size > 1000
    # the table is sorted by the metric: xor has no validation part, so the training loss
    table = text[text.index("sorted by train_loss"):].splitlines()[2:5]
    best = min((r for r in rows if r["train_loss"]), key=lambda r: float(r["train_loss"]))
    assert table[0].split()[1] == best["optimizer.lr"]
    assert "failed" in table[2]

    # a trial is an ordinary run: its config.yaml retrains it alone, to the same weights
    first = out / rows[0]["trial"]
    assert main(["train", str(first / "config.yaml"), "--out", str(tmp_path / "alone"),
                 "--quiet"]) == 0
    for wa, wb in zip(weights(first), weights(tmp_path / "alone"), strict=True):
        np.testing.assert_array_equal(wa, wb)

    # the same sweep again: finished trials are skipped, not retrained
    stamp = (first / "model.npz").stat().st_mtime_ns
    assert main(args) == 1
    assert "2 skipped, 1 failed" in capsys.readouterr().out
    assert (first / "model.npz").stat().st_mtime_ns == stamp
    again = read_csv(out / "sweep.csv")
    assert [r["status"] for r in again] == ["skipped", "failed", "skipped"]
    assert [r["test_loss"] for r in again] == [r["test_loss"] for r in rows]


def test_interrupted_trials_resume_on_the_next_run(tmp_path, monkeypatch, capsys):
    args = ["sweep", XOR, "optimizer.lr=0.1,0.3", "train.epochs=3", "--jobs", "1",
            "--out", str(tmp_path / "sw")]

    def stop(self, trainer, batch, loss):
        if trainer.epoch == 1 and batch == 3:  # mid-epoch 2, after the checkpoint of epoch 1
            raise Interrupted(15)
    monkeypatch.setattr(rundir.Recorder, "on_batch_end", stop, raising=False)
    # the signal stopped the trial: the sweep stops too, the next trial never starts
    assert main(args) == 130
    rows = read_csv(tmp_path / "sw" / "sweep.csv")
    assert [r["status"] for r in rows] == ["interrupted"] * 2
    assert rows[0]["error"].startswith("SIGTERM: checkpoint of epoch 1 saved")
    assert rows[0]["error"].endswith(f"continue with bprop train --resume "
                                     f"{tmp_path / 'sw' / rows[0]['trial']}")
    assert "run the sweep again" in rows[1]["error"] and rows[1]["epochs"] == "0"
    assert not (tmp_path / "sw" / rows[1]["trial"]).exists()
    captured = capsys.readouterr()
    assert "interrupted:" in captured.out and "failed:" not in captured.out
    assert "bprop: interrupted" in captured.err
    monkeypatch.undo()

    assert main(args) == 0
    assert "1 done, 1 resumed" in capsys.readouterr().out
    rows = read_csv(tmp_path / "sw" / "sweep.csv")
    assert [(r["status"], r["epochs"]) for r in rows] == [("resumed", "3"), ("done", "3")]
    # resumed to the weights of an uninterrupted run
    assert main(["train", XOR, "optimizer.lr=0.1", "train.epochs=3", "--quiet",
                 "--out", str(tmp_path / "whole")]) == 0
    for wa, wb in zip(weights(tmp_path / "whole"), weights(tmp_path / "sw" / rows[0]["trial"]),
                      strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_random_search_from_the_config_section(tmp_path, capsys):
    cfg = tmp_path / "r.yaml"
    cfg.write_text(Path(XOR).read_text() + (
        "sweep:\n  method: random\n  trials: 2\n  seed: 1\n  monitor: test_accuracy\n"
        "  params:\n"
        "    optimizer.lr: {distribution: loguniform, low: 0.01, high: 1}\n"
        "    model.0.out: [4, 8]\n"))
    args = ["sweep", str(cfg), "train.epochs=1", "--jobs", "1", "--out", str(tmp_path / "sw")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "random search (seed 1)" in out and "sorted by test_accuracy" in out
    rows = read_csv(tmp_path / "sw" / "sweep.csv")
    assert len(rows) == 2 and [r["status"] for r in rows] == ["done", "done"]
    assert all(0.01 <= float(r["optimizer.lr"]) <= 1 and r["model.0.out"] in "48" for r in rows)
    header, *table = out[out.index("sorted by test_accuracy"):].splitlines()[1:4]
    column = header.split().index("test_accuracy")
    accuracies = [float(line.split()[column]) for line in table]
    assert accuracies == sorted(accuracies, reverse=True)  # accuracy: the largest first
    # a trial's config is the base with its draws, and without the sweep section
    text = (tmp_path / "sw" / rows[0]["trial"] / "config.yaml").read_text()
    assert f"lr: {rows[0]['optimizer.lr']}" in text and "sweep" not in text
    # more trials from the same seed: the first two are the ones already run
    assert main([*args, "sweep.trials=3"]) == 0
    again = read_csv(tmp_path / "sw" / "sweep.csv")
    assert [r["status"] for r in again][:2] == ["skipped", "skipped"] and len(again) == 3
    assert [r["trial"] for r in again][:2] == [r["trial"] for r in rows]


def test_a_rerun_after_a_config_change_stops_before_any_trial(tmp_path, capsys):
    args = ["sweep", XOR, "optimizer.lr=0.1,0.5", "--jobs", "1", "--out", str(tmp_path)]
    assert main([*args, "train.epochs=1"]) == 0
    before = {n: (tmp_path / n).read_bytes() for n in ("sweep.csv", "sweep.png")}
    capsys.readouterr()
    assert main([*args, "train.epochs=2"]) == 2
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and "train.epochs changed" in err
    assert "sweep:" not in out  # nothing ran
    assert {n: (tmp_path / n).read_bytes() for n in before} == before  # the summary is kept


def test_a_value_fixed_on_the_command_line_wins_over_the_section(tmp_path, capsys):
    cfg = tmp_path / "r.yaml"
    cfg.write_text(Path(XOR).read_text() + (
        "sweep:\n  method: random\n  trials: 3\n  seed: 0\n  params:\n"
        "    optimizer.lr: {distribution: loguniform, low: 0.01, high: 1}\n"
        "    model[0].out: [4, 8]\n"))
    out = tmp_path / "sw"
    assert main(["sweep", str(cfg), "optimizer.lr=0.05", "train.epochs=1", "--jobs", "1",
                 "--out", str(out)]) == 0
    text, err = capsys.readouterr()
    assert "note: optimizer.lr=0.05 (command line) replaces" in err
    assert "over model[0].out;" in text
    rows = read_csv(out / "sweep.csv")
    assert "optimizer.lr" not in rows[0] and {r["model[0].out"] for r in rows} <= {"4", "8"}
    for r in rows:  # every trial trained with the command line's value
        assert "lr: 0.05" in (out / r["trial"] / "config.yaml").read_text()
    # the same key in another spelling is the same key; fixing every swept key: nothing left
    assert main(["sweep", str(cfg), "optimizer.lr=0.05", "model.0.out=4"]) == 2
    assert "nothing to sweep" in capsys.readouterr().err


@pytest.mark.parametrize("items, section, where, hint", [
    (["optimizer.lrr=0.1,0.2"], "", "optimizer.lrr", "did you mean 'lr'"),
    (["foo.bar=1,2"], "", "foo", "allowed: name, seed"),
    (["model.0.outt=4,8"], "", "model[0].outt", "did you mean 'out'"),
    (["model.7.out=4,8"], "", "model.7.out", "not an index"),
    (["optimizer.lr=0.1,0.2"], "sweep: {params: {train.epoch: [1, 2]}}\n", "train.epoch",
     "did you mean 'epochs'"),
    ([], "sweep: {method: random, params: {optimizer.momentun: {distribution: uniform, "
         "low: 0.1, high: 0.9}}}\n", "optimizer.momentun", "did you mean 'momentum'"),
])
def test_a_misspelled_swept_key_stops_the_sweep_before_any_trial(items, section, where, hint,
                                                                 tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(Path(XOR).read_text() + section)
    assert main(["sweep", str(cfg), *items, "--out", str(tmp_path / "sw")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"bprop: error: {where}: ")
    assert hint in err
    assert not (tmp_path / "sw").exists()


@pytest.mark.parametrize("under", ["", "sub"])
def test_out_on_a_file_is_a_one_line_error(under, tmp_path, capsys):
    (tmp_path / "f").write_text("not a directory\n")
    out = tmp_path / "f" / under if under else tmp_path / "f"
    assert main(["sweep", XOR, "optimizer.lr=0.1,0.5", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("bprop: error: --out: ")
    assert "a file" in err and (tmp_path / "f").read_text() == "not a directory\n"


def test_a_data_path_relative_to_the_working_directory_reaches_every_trial(
        tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    (tmp_path / "d.csv").write_text("a,b,c,answer\n" + "".join(
        f"{a:.4f},{b:.4f},{c:.4f},{int(a + b > 0)}\n" for a, b, c in X))
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "c.yaml").write_text(
        "data: {name: csv, path: d.csv, target: answer}\n"
        "model: [{type: Linear, out: 2}]\ntrain: {epochs: 1}\n")
    monkeypatch.chdir(tmp_path)  # d.csv is found from here, not from the config's folder
    train = sweep_cli._train

    def elsewhere(config, overrides, path):  # a worker in another working directory
        here = os.getcwd()
        os.chdir(tmp_path / "cfg")
        try:
            return train(config, overrides, path)
        finally:
            os.chdir(here)
    monkeypatch.setattr(sweep_cli, "_train", elsewhere)
    assert main(["sweep", "cfg/c.yaml", "optimizer.lr=0.1,0.5", "--jobs", "1",
                 "--out", "sw"]) == 0
    rows = read_csv(tmp_path / "sw" / "sweep.csv")
    assert [r["status"] for r in rows] == ["done", "done"]
    text = (tmp_path / "sw" / rows[0]["trial"] / "config.yaml").read_text()
    assert str(tmp_path / "d.csv") in text


def test_a_trial_locked_by_a_live_run_is_left_alone(tmp_path, capsys):
    out = tmp_path / "sw"
    lock = sweep_cli.TrialLock(out / "optimizer.lr=0.1")
    with lock:  # another sweep holds the first trial
        with pytest.raises(sweep_cli.Busy, match="another sweep is training this trial"):
            with sweep_cli.TrialLock(out / "optimizer.lr=0.1"):
                pass
        assert main(["sweep", XOR, "optimizer.lr=0.1,0.5", "train.epochs=1", "--jobs", "1",
                     "--out", str(out)]) == 1
        rows = read_csv(out / "sweep.csv")
        assert [r["status"] for r in rows] == ["busy", "done"]
        assert "pid" in rows[0]["error"] and not (out / rows[0]["trial"]).exists()
        assert "busy:" in capsys.readouterr().out
    assert not lock.path.exists()  # released
    # a stale lock (its process is gone, or it was not touched for long) is taken over
    lock.path.write_text(json.dumps({"pid": 2 ** 22 + 12345, "host": os.uname().nodename}))
    with sweep_cli.TrialLock(out / "optimizer.lr=0.1"):
        assert str(os.getpid()) in lock.path.read_text()
    lock.path.write_text(json.dumps({"pid": os.getpid(), "host": "elsewhere"}))
    os.utime(lock.path, (0, 0))
    with sweep_cli.TrialLock(out / "optimizer.lr=0.1"):
        pass
    assert main(["sweep", XOR, "optimizer.lr=0.1,0.5", "train.epochs=1", "--jobs", "1",
                 "--out", str(out)]) == 0


def test_a_killed_worker_fails_its_trial_only(tmp_path, capsys):
    import multiprocessing
    import signal
    import threading
    import time

    out = tmp_path / "sw"
    args = ["sweep", XOR, "optimizer.lr=0.1,0.3,0.5", "train.epochs=150", "--jobs", "2",
            "--out", str(out)]
    if sweep_cli.plan(2, 3, sweep_cli._cores())[0] < 2:
        args[3] = "train.epochs=2"  # one core: the trials run in this process, none to kill
    codes = []
    sweeping = threading.Thread(target=lambda: codes.append(main(args)))
    sweeping.start()
    deadline = time.monotonic() + 60
    killed = False
    while not killed and sweeping.is_alive() and time.monotonic() < deadline \
            and args[3] == "train.epochs=150":
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.05)
    sweeping.join(300)
    rows = read_csv(out / "sweep.csv")
    if killed:
        assert codes == [1]
        assert [r["status"] for r in rows].count("failed") == 1
        dead = next(r for r in rows if r["status"] == "failed")
        assert dead["error"].startswith("worker died (killed by signal 9)")
        assert sum(r["status"] == "done" for r in rows) == 2
    else:
        assert codes == [0]


def test_ctrl_c_writes_the_summary_with_interrupted_trials(tmp_path, monkeypatch, capsys):
    calls = []
    real = sweep_cli.run_trial

    def trial(*task, threads=None):
        if calls:
            raise KeyboardInterrupt
        calls.append(task)
        return real(*task, threads=threads)
    monkeypatch.setattr(sweep_cli, "run_trial", trial)
    out = tmp_path / "sw"
    assert main(["sweep", XOR, "optimizer.lr=0.1,0.5,0.7", "train.epochs=1", "--jobs", "1",
                 "--out", str(out)]) == 130
    rows = read_csv(out / "sweep.csv")
    assert [r["status"] for r in rows] == ["done", "interrupted", "interrupted"]
    assert "run the sweep again" in rows[1]["error"]
    text = capsys.readouterr().out
    assert "interrupted:" in text and "failed:" not in text
    monkeypatch.undo()
    assert main(["sweep", XOR, "optimizer.lr=0.1,0.5,0.7", "train.epochs=1", "--jobs", "1",
                 "--out", str(out)]) == 0
    assert [r["status"] for r in read_csv(out / "sweep.csv")] == ["skipped", "done", "done"]


# -- Dask ----------------------------------------------------------------------------


def test_dask_missing_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    assert main(["sweep", XOR, "optimizer.lr=0.1,0.5", "--dask", "tcp://127.0.0.1:8786",
                 "--out", str(tmp_path / "sw")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'bprop[dask]'" in err
    assert not (tmp_path / "sw").exists()


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")  # the `dask` extra, part of `test`
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as c:
        yield c


def test_sweep_on_a_dask_cluster(cluster, tmp_path, capsys):
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    args = ["sweep", XOR, "optimizer.lr=0.1,0.5,-2", "train.epochs=2", "--dask",
            cluster.scheduler_address, "--out", str(tmp_path)]
    assert main(args) == 1
    assert "on the Dask cluster" in capsys.readouterr().out
    rows = read_csv(tmp_path / "sweep.csv")
    assert [r["status"] for r in rows] == ["done", "done", "failed"]
    assert rows[2]["error"].startswith("optimizer.lr: ")
    # trials on the cluster are the runs local processes make
    assert main(["train", XOR, "optimizer.lr=0.5", "train.epochs=2", "--quiet",
                 "--out", str(tmp_path / "local")]) == 0
    for wa, wb in zip(weights(tmp_path / "local"), weights(tmp_path / rows[1]["trial"]),
                      strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert main(args) == 1
    assert [r["status"] for r in read_csv(tmp_path / "sweep.csv")] == ["skipped", "skipped",
                                                                       "failed"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore:Port .* is already in use")  # the dashboard's port
def test_readme_gridsearch_on_dask_matches_a_local_search():
    pytest.importorskip("distributed")
    text = README.read_text()
    block = re.search(r"<!-- dask-gridsearch -->\n```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README[dask-gridsearch]", "exec"), namespace)
    client, search = namespace["client"], namespace["search"]
    try:
        ran = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.task_prefixes))
    finally:
        client.close()
        client.cluster.close()
    assert ran > 0  # the fits went to the cluster
    local = namespace["GridSearchCV"](search.estimator, search.param_grid, cv=3).fit(
        namespace["X"], namespace["y"])
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"])
    assert search.best_score_ > 0.85


def test_a_bad_dask_address_fails_at_once(tmp_path, capsys):
    import time

    pytest.importorskip("distributed")
    for address in ("bogus://x", "tcp://"):
        start = time.monotonic()
        assert main(["sweep", XOR, "optimizer.lr=0.1,0.5", "--dask", address,
                     "--out", str(tmp_path / "sw")]) == 2
        assert time.monotonic() - start < 5
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "not a scheduler address" in err
        assert "tcp" in err and not (tmp_path / "sw").exists()


def test_ctrl_c_on_a_dask_sweep_cancels_its_trials(cluster, tmp_path, monkeypatch, capsys):
    import time

    import distributed

    real = distributed.as_completed

    def first_then_ctrl_c(futures, **kwargs):
        for future in real(futures, **kwargs):
            yield future
            raise KeyboardInterrupt
    monkeypatch.setattr(distributed, "as_completed", first_then_ctrl_c)
    args = ["sweep", XOR, "optimizer.lr=0.1,0.2,0.3,0.4,0.5,0.6", "train.epochs=20",
            "--dask", cluster.scheduler_address, "--out", str(tmp_path)]
    assert main(args) == 130
    rows = read_csv(tmp_path / "sweep.csv")
    assert "interrupted" in [r["status"] for r in rows]
    assert all(r["status"] in ("done", "interrupted") for r in rows)
    monkeypatch.undo()
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        deadline = time.monotonic() + 60  # the cluster drops the cancelled trials
        while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0
    assert not list(tmp_path.glob(".*.lock"))  # no trial trains on
    assert main(args) == 0
    assert {r["status"] for r in read_csv(tmp_path / "sweep.csv")} <= {"done", "skipped"}


# -- a diverged trial stays failed; sweep.png on a log axis -----------------------------


def test_a_diverged_trial_stays_failed_on_every_rerun(tmp_path, monkeypatch, capsys):
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    sp.save_npz(tmp_path / "X.npz", sp.random(400, 1000, density=0.02, format="csr",
                                              random_state=0))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, 400))
    (tmp_path / "c.yaml").write_text(
        "data: {name: sparse, path: X.npz, y: y.npy}\n"
        "model: [{type: Linear, out: 32}, ReLU, {type: Linear, out: 3}]\n"
        "optimizer: {type: SGD, lr: 1.0, momentum: 0.9}\n"
        "train: {epochs: 15, batch_size: 32}\n")
    figures = []
    real = sweep_cli.plot_sweep
    monkeypatch.setattr(sweep_cli, "plot_sweep", lambda *a, **k: figures.append(real(*a, **k)))
    args = ["sweep", str(tmp_path / "c.yaml"), "optimizer.lr=1.0,0.001", "--jobs", "1",
            "--out", str(tmp_path / "sw")]
    assert main(args) == 1
    rows = read_csv(tmp_path / "sw" / "sweep.csv")
    assert [r["status"] for r in rows] == ["failed", "done"]
    error = rows[0]["error"]
    assert "training diverged" in error and "\n" not in error
    # the diverged trial's loss (1e6 times the first epoch's) would flatten the other curve
    assert figures[0].axes[0].get_yscale() == "log"
    capsys.readouterr()

    assert main(args) == 1  # resumed, it would diverge again: it is not resumed to "done"
    again = read_csv(tmp_path / "sw" / "sweep.csv")
    assert [r["status"] for r in again] == ["failed", "skipped"]
    assert again[0]["error"] == error
    assert not (tmp_path / "sw" / rows[0]["trial"] / "summary.json").exists()


# -- BLAS threads of trials on Dask workers ---------------------------------------------


@pytest.mark.filterwarnings("ignore:Port .* is already in use")  # the dashboard's port
def test_dask_trials_share_their_host_cores_among_all_its_worker_threads(monkeypatch):
    workers = {"tcp://10.0.0.1:1": {"host": "10.0.0.1", "nthreads": 1},
               "tcp://10.0.0.1:2": {"host": "10.0.0.1", "nthreads": 1},
               "tcp://10.0.0.2:1": {"host": "10.0.0.2", "nthreads": 4}}
    assert sweep_cli.threads_per_trial(2, "10.0.0.1", workers) == 1  # not 2 each
    assert sweep_cli.threads_per_trial(8, "10.0.0.1", workers) == 4
    assert sweep_cli.threads_per_trial(8, "10.0.0.2", workers) == 2
    assert sweep_cli.threads_per_trial(2, "10.0.0.2", workers) == 1  # never 0
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(sweep_cli, "_cores", lambda: 8)  # the workers are threads of this process
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        info = client.scheduler_info()["workers"]  # what the sweep passes to its trials
        addresses = list(info)
        shares = client.gather([client.submit(sweep_cli._worker_threads, info, workers=[a],
                                              pure=False) for a in addresses])
    assert len(addresses) == 2 and shares == [4, 4]  # 8 cores // 2 worker threads on the host


# -- Ctrl-C that reaches the trials but not the sweep ------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("target", ["trials", "sweep"])
def test_a_signal_to_the_trials_alone_or_sigterm_to_the_sweep_stops_it(target, tmp_path):
    # SIGINT that reaches the trials but not the sweep (a sweep ignoring SIGINT, as a
    # background job of a script does), or SIGTERM to the sweep alone (a batch system)
    import signal
    import subprocess
    import time

    out = tmp_path / "sw"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from bprop.cli import main; sys.exit(main())",
         "sweep", os.path.abspath(XOR),
         "optimizer.lr=0.01,0.02,0.03", "data.n_samples=20000", "train.epochs=300",
         "--jobs", "2", "--out", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # both trials trained an epoch: a checkpoint
            locks = list(out.glob(".*.lock")) if out.exists() else []
            if len(locks) == 2 and all(
                    (out / lock.name[1:-5] / "checkpoint.npz").exists() for lock in locks):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the trials did not start")
        if target == "trials":  # SIGINT to the trials' processes, not to the sweep's
            for lock in locks:
                os.kill(json.loads(lock.read_text())["pid"], signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=90) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = proc.stdout.read()
    rows = read_csv(out / "sweep.csv")
    assert [r["status"] for r in rows] == ["interrupted"] * 3, text
    name = "SIGINT" if target == "trials" else "SIGTERM"
    assert sum(f"{name}: checkpoint of epoch" in r["error"] for r in rows) == 2, text
    assert not (out / "optimizer.lr=0.03").exists()  # the third never started
