"""The model summary and the discoverability commands: bprop summary, list, init."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from bprop import registry
from bprop.cli import main
from bprop.config.datasets import SETS
from bprop.config.loader import load_config
from bprop.layers import Dropout, Layer, Linear, ReLU, Sequential, Tanh
from bprop.parameter import Parameter
from bprop.summary import summary

# ---------------------------------------------------------------- the summary


def table_rows(text):
    """The layer rows of a summary: (index, name, shape, params, trainable)."""
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s*([\d.]+)\s+(\S+(?:\(.*?\))?)\s+(\(N, [\d, ]+\))\s+([\d,]+)\s+([\d,]+)$",
                     line)
        if m:
            rows.append((m[1], m[2], m[3], int(m[4].replace(",", "")),
                         int(m[5].replace(",", ""))))
    return rows


def totals(text):
    return {m[1]: int(m[2].replace(",", ""))
            for m in re.finditer(r"^(Total|Trainable|Non-trainable) params: ([\d,]+)", text, re.M)}


def test_summary_counts_every_parameter_and_shape():
    net = Sequential(Linear(13, 40, rng=0), ReLU(), Dropout(0.3),
                     Sequential(Linear(40, 7, rng=1), Tanh()), Linear(7, 3, rng=2))
    text = net.summary(13)
    rows = table_rows(text)
    assert [r[0] for r in rows] == ["0", "1", "2", "3.0", "3.1", "4"]
    assert [r[2] for r in rows] == ["(N, 40)", "(N, 40)", "(N, 40)", "(N, 7)", "(N, 7)",
                                    "(N, 3)"]
    assert [r[3] for r in rows] == [13 * 40 + 40, 0, 0, 40 * 7 + 7, 0, 7 * 3 + 3]
    n = sum(p.value.size for p in net.parameters())
    assert totals(text) == {"Total": n, "Trainable": n, "Non-trainable": 0}
    assert f"({n * 8 / 1024:.2f} KB)" in text  # float64: 8 bytes a parameter
    assert text == summary(net, 13)


def test_summary_leaves_the_model_untouched():
    net = Sequential(Linear(3, 2, rng=0), Dropout(0.5, rng=1))
    before = [p.value.copy() for p in net.parameters()]
    net.summary(3)
    assert net.training and getattr(net.layers[0], "_x", None) is None
    for a, p in zip(before, net.parameters(), strict=True):
        np.testing.assert_array_equal(a, p.value)


def test_arrays_that_are_not_parameters_are_non_trainable():
    class Shift(Layer):  # a running statistic, as BatchNorm keeps
        def __init__(self, n):
            self.scale = Parameter(np.ones(n), "scale")
            self.running_mean = np.zeros(n)

        def forward(self, x):
            self._x = x
            return (x - self.running_mean) * self.scale.value

    text = Sequential(Linear(4, 6, rng=0), Shift(6)).summary(4)
    assert table_rows(text)[1][3:] == (12, 6)
    assert totals(text) == {"Total": 30 + 12, "Trainable": 30 + 6, "Non-trainable": 6}


def test_summary_names_the_layer_whose_input_does_not_fit():
    net = Sequential(Linear(4, 8, rng=0), ReLU(), Linear(5, 2, rng=1))
    with pytest.raises(ValueError, match=r"layer 2 \(Linear\(5, 2\)\) does not accept .*\(N, 8\)"):
        net.summary(4)
    with pytest.raises(ValueError, match="n_features must be an integer >= 1"):
        net.summary(0)


def test_train_prints_the_summary_unless_quiet(tmp_path, capsys):
    assert main(["train", "configs/xor.yaml", "--out", str(tmp_path / "a"),
                 "train.epochs=1"]) == 0
    out = capsys.readouterr().out
    assert "Total params:" in out and out.index("Total params:") < out.index("epoch 1/1")
    assert main(["train", "configs/xor.yaml", "--out", str(tmp_path / "b"), "--quiet",
                 "train.epochs=1"]) == 0
    assert "Total params:" not in capsys.readouterr().out


def test_bprop_summary_of_a_run_and_of_a_config(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "configs/iris.yaml", "--out", str(run), "--quiet",
                 "train.epochs=1", "model.0.out=9"]) == 0
    capsys.readouterr()
    assert main(["summary", str(run)]) == 0
    from_run = capsys.readouterr().out
    assert "(trained)" in from_run
    assert [r[3] for r in table_rows(from_run)] == [4 * 9 + 9, 0, 9 * 3 + 3]
    assert main(["summary", "configs/iris.yaml", "model.0.out=9"]) == 0
    from_config = capsys.readouterr().out
    assert "(untrained)" in from_config
    assert from_config.splitlines()[1:] == from_run.splitlines()[1:]
    assert main(["summary", str(tmp_path / "nothing.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


# ------------------------------------------------------------------ bprop list


def listing(capsys, *args):
    assert main(["list", *args]) == 0
    return capsys.readouterr().out


def entry(text, name):
    """The lines of one entry: its name line and the indented keys under it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"  {re.escape(name)}\b", line))
    end = next((i for i in range(start + 1, len(lines))
                if not lines[i].startswith("    ") or re.match(r"  \S", lines[i])), len(lines))
    return lines[start:end]


@pytest.mark.parametrize("kind", ["layer", "loss", "optimizer", "schedule", "callback"])
def test_list_shows_every_registered_name(kind, capsys):
    text = listing(capsys, kind + ("es" if kind == "loss" else "s"))
    for name in registry.names(kind):
        if kind == "layer" and name == "Sequential":  # a config refuses it: not listed
            assert not re.search(r"^  Sequential\b", text, re.M)
            continue
        assert entry(text, name), name


def test_list_shows_keys_defaults_and_description(capsys):
    text = listing(capsys, "optimizers")
    sgd = "\n".join(entry(text, "SGD"))
    assert "Stochastic gradient descent" in sgd
    for key in ("lr: 0.01", "momentum: 0.0", "nesterov: false", "weight_decay: 0.0"):
        assert key in sgd
    linear = "\n".join(entry(listing(capsys, "layers"), "Linear"))
    assert "out: required" in linear and "init: glorot_uniform" in linear
    relu = entry(listing(capsys, "layers"), "ReLU")[0]
    assert "also relu" in relu


def test_list_shows_a_class_the_user_registers(capsys):
    @registry.register("layer")
    class Swish(Layer):
        """x * sigmoid(beta * x), the SiLU for beta = 1."""

        def __init__(self, beta: float = 1.0):
            self.beta = beta

    try:
        lines = entry(listing(capsys, "layers"), "Swish")
        assert "x * sigmoid(beta * x)" in lines[0] and "beta: 1.0" in lines[1]
    finally:
        registry._TABLES["layer"].pop("Swish")


def test_list_datasets_with_their_parameters(capsys):
    text = listing(capsys, "datasets")
    for name in SETS:
        assert entry(text, name)
    moons = "\n".join(entry(text, "moons"))
    assert "[classification]" in moons and "n_samples: 500" in moons and "noise: 0.1" in moons
    assert "test_size: 0.2" in text
    assert "[regression]" in entry(text, "diabetes")[0]


def test_list_all_and_a_wrong_kind(capsys):
    text = listing(capsys)
    for heading in ("layers", "losses", "optimizers", "schedules", "callbacks", "datasets"):
        assert re.search(rf"^{heading}  \(", text, re.M)
    assert main(["list", "optimisers"]) == 2
    assert "did you mean 'optimizers'" in capsys.readouterr().err


def test_list_callbacks_says_where_they_go_in_a_config(capsys):
    # configs name callbacks in their `callbacks:` list, not in the train section
    assert main(["list", "callbacks"]) == 0
    heading = capsys.readouterr().out.splitlines()[0]
    assert "callbacks: a list of" in heading and "train section" not in heading


# ------------------------------------------------------------------ bprop init


@pytest.mark.parametrize("data", ["digits", "diabetes", "spirals", "linnerud"])
def test_init_writes_a_config_that_trains(data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "starter", "--data", data]) == 0
    text = (tmp_path / "starter.yaml").read_text()
    assert text.count("#") > 20  # commented, line by line
    cfg = load_config("starter.yaml")
    assert cfg["data"]["name"] == data and cfg["name"] == "starter"
    assert main(["train", "starter.yaml", "--out", "run", "--quiet", "train.epochs=2"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert np.isfinite(summary["test_loss"]) and summary["epochs"] == 2
    assert ("test_accuracy" in summary) == (SETS[data].task == "classification")


def test_init_for_a_csv_file_with_text_labels(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    labels = np.array(["cat", "dog", "emu"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0)]
    rows = "".join(f"{t},{a},{b}\n" for (a, b), t in zip(X, labels, strict=True))
    (tmp_path / "pets.csv").write_text("kind,x,y\n" + rows)
    assert main(["init", "pets", "--data", "pets.csv", "--target", "kind"]) == 0
    assert "{type: Linear, out: 3}" in (tmp_path / "pets.yaml").read_text()
    assert main(["train", "pets.yaml", "--out", "run", "--quiet", "train.epochs=1"]) == 0


def test_init_refuses_to_overwrite_and_names_bad_data(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "a"]) == 0
    (tmp_path / "a.yaml").write_text("mine")
    assert main(["init", "a"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "a.yaml").read_text() == "mine"
    assert main(["init", "a", "--force", "--data", "iris"]) == 0
    assert main(["init", "b", "--data", "irsi"]) == 2
    assert "did you mean 'iris'" in capsys.readouterr().err
    assert not (tmp_path / "b.yaml").exists()


@pytest.mark.parametrize("name", ["", "  ", ".", "..", "sub/", "bad\x01name"])
def test_init_with_a_name_that_is_no_file_name_is_a_one_line_error(name, tmp_path, capsys,
                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["init", name]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("bprop: error: NAME: ")
    assert list(tmp_path.iterdir()) == []


def test_summary_columns_stay_aligned_past_index_ten():
    layers = [Linear(3, 3, rng=i) if i % 2 == 0 else ReLU() for i in range(11)]
    text = summary(Sequential(*layers, Sequential(Linear(3, 2, rng=0), Tanh())), 3)
    lines = text.splitlines()
    body = [ln for ln in lines if re.match(r"\s*\d", ln)]
    assert len(body) == 14
    names = {ln.split()[1] for ln in body}
    assert {"Linear(3,", "ReLU", "Sequential", "Tanh"} <= names
    # the names form one column, and so do the shapes, whatever the index's width
    starts = {re.search(r"(Linear|ReLU|Sequential|Tanh)", ln).start() for ln in body}
    assert len(starts) == 1
    shape_at = {ln.index("(N,") for ln in body if "(N," in ln}
    assert shape_at == {lines[0].index("Output shape")}


def test_the_cli_module_docstring_names_every_command():
    import argparse

    from bprop.cli import app

    parser = app.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in sub.choices:
        assert f"``{command}``" in app.__doc__, command
