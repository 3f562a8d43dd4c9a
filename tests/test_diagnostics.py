"""The Diagnostics callback: gradient norms per layer, activation statistics, files.

Random draws come from ``np.random.default_rng(0)`` (the ``rng`` fixture) or seeds in the test.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from bprop.layers import Linear, ReLU, Sequential, Sigmoid, Tanh
from bprop.losses import SoftmaxNLL
from bprop.optim import SGD
from bprop.training import Trainer
from bprop.training.diagnostics import Diagnostics


def _deep(activation, rng_seed=0, depth=6, width=32, init="glorot_uniform"):
    layers = [Linear(8, width, init=init, rng=rng_seed), activation()]
    for i in range(depth - 1):
        layers += [Linear(width, width, init=init, rng=rng_seed + i + 1), activation()]
    return Sequential(*layers, Linear(width, 2, rng=99))


def _train(net, X, y, diag, epochs=2):
    trainer = Trainer(net, SoftmaxNLL(), SGD(net.parameters(), lr=0.01), rng=0,
                      callbacks=[diag])
    trainer.fit(X, y, epochs=epochs)
    return trainer


def _data(rng, n=128):
    X = rng.normal(size=(n, 8))
    return X, (X[:, 0] > 0).astype(int)


def test_sigmoid_gradients_vanish_towards_the_input_relu_ones_do_not(rng):
    X, y = _data(rng)
    ratios = {}
    for activation, init in ((Sigmoid, "glorot_uniform"), (ReLU, "he_normal")):
        diag = Diagnostics(X)
        _train(_deep(activation, init=init), X, y, diag)
        norms = diag.gradient_norms()
        first, last = norms["0 Linear.weight"][-1], norms["10 Linear.weight"][-1]
        ratios[activation.__name__] = first / last
    # each sigmoid layer multiplies the backward signal by at most 1/4
    assert ratios["Sigmoid"] < 0.05, ratios
    assert ratios["ReLU"] > 10 * ratios["Sigmoid"], ratios


def test_dead_relu_and_saturated_tanh_are_counted(rng):
    X, y = _data(rng)
    net = Sequential(Linear(8, 10, rng=0), ReLU(), Linear(10, 10, rng=1), Tanh(),
                     Linear(10, 2, rng=2))
    net[0].bias.value[:5] = -100.0  # units 0-4 can never fire
    net[2].weight.value *= 50.0  # tanh inputs far from 0
    diag = Diagnostics(X)
    _train(net, X, y, diag, epochs=1)
    dead = diag.series("dead_fraction")["1 ReLU"][0]
    assert dead == pytest.approx(0.5)
    assert diag.series("saturated_fraction")["3 Tanh"][0] > 0.7
    relu_out = np.maximum(X @ net[0].weight.value + net[0].bias.value, 0)
    assert diag.series("act_mean")["1 ReLU"][0] == pytest.approx(relu_out.mean())
    assert diag.series("act_std")["1 ReLU"][0] == pytest.approx(relu_out.std())


def test_files_and_mode_are_left_right(tmp_path, rng):
    X, y = _data(rng, 64)
    net = Sequential(Linear(8, 4, rng=0), Tanh(), Linear(4, 2, rng=1))
    diag = Diagnostics(X, csv_path=tmp_path / "d.csv", png_path=tmp_path / "d.png")
    trainer = _train(net, X, y, diag, epochs=3)
    rows = list(csv.DictReader((tmp_path / "d.csv").open()))
    assert set(rows[0]) == {"epoch", "layer", "type", "quantity", "value"}
    assert {r["epoch"] for r in rows} == {"1", "2", "3"}
    assert (tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"
    assert trainer.model.training  # the probe ran in eval mode and the mode was put back
    restored = Diagnostics()
    restored.load_state_dict(diag.state_dict())
    assert restored.rows == diag.rows


def test_files_are_written_atomically(tmp_path, rng, monkeypatch):
    # a failure while writing leaves the old file whole, never half of a new one
    import matplotlib.figure

    X, y = _data(rng, 32)
    diag = Diagnostics(X)
    _train(Sequential(Linear(8, 4, rng=0), Tanh(), Linear(4, 2, rng=1)), X, y, diag, epochs=1)
    csv_file, png_file = tmp_path / "d.csv", tmp_path / "d.png"
    csv_file.write_text("old csv\n")
    png_file.write_bytes(b"old png")
    diag.rows.append({**diag.rows[-1], "value": object()})  # cannot be formatted: fails midway
    with pytest.raises(TypeError):
        diag.to_csv(csv_file)

    def broken_savefig(self, target, **kwargs):
        if hasattr(target, "write"):
            target.write(b"half a png")
        else:
            open(target, "wb").write(b"half a png")  # noqa: SIM115 (a writer that dies midway)
        raise OSError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        diag.plot(png_file)
    assert csv_file.read_text() == "old csv\n" and png_file.read_bytes() == b"old png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "d.png"]  # no temporaries


def test_without_probe_only_gradient_norms(rng):
    X, y = _data(rng, 64)
    diag = Diagnostics()
    _train(Sequential(Linear(8, 4, rng=0), ReLU(), Linear(4, 2, rng=1)), X, y, diag, epochs=1)
    assert {r["quantity"] for r in diag.rows} == {"grad_norm.weight", "grad_norm.bias"}


def test_vanishing_gradients_example(capsys, tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "vanishing_gradients.py"
    spec = importlib.util.spec_from_file_location("example_vanishing_gradients", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--plot", str(tmp_path / "v.png")])
    sig, relu = result["sigmoid"], result["relu"]
    assert len(sig) == len(relu) == 7
    # sigmoid: every layer's gradient is smaller than the next one's, by > 100x overall
    assert all(a < b for a, b in zip(sig, sig[1:], strict=False))
    assert sig[0] / sig[-1] < 1e-2
    # relu: first and last layer within 10x of each other
    assert relu[0] / relu[-1] > 0.1
    assert "sigmoid: first / last layer" in capsys.readouterr().out
    assert (tmp_path / "v.png").read_bytes()[:4] == b"\x89PNG"
