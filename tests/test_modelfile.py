"""Model files: round trip, no pickle, clear errors for foreign files."""

from __future__ import annotations

import numpy as np
import pytest

import bprop
from bprop.layers import Dropout, Layer, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Softmax
from bprop.registry import lookup, register_layer


def test_round_trip_keeps_architecture_and_weights(tmp_path, rng):
    net = Sequential(
        Linear(4, 6, rng=0),
        LeakyReLU(0.2),
        Dropout(0.1),
        Linear(6, 3, init="he_normal", rng=1),
        Sigmoid(),
        Linear(3, 2, dtype=np.float32, rng=2),
        Softmax(),
    )
    path = bprop.save(net, tmp_path / "model.npz")
    loaded = bprop.load(path)
    assert repr(loaded) == repr(net)
    x = rng.normal(size=(5, 4))
    np.testing.assert_array_equal(loaded.eval().forward(x), net.eval().forward(x))
    assert loaded[5].weight.value.dtype == np.float32
    with np.load(path, allow_pickle=False) as archive:  # readable without pickle
        assert "__bprop__" in archive.files


def test_metadata_round_trip(tmp_path):
    path = bprop.save(Linear(2, 2, rng=0), tmp_path / "m.npz", metadata={"classes": [3, 5]})
    assert bprop.modelfile.load_metadata(path) == {"classes": [3, 5]}


def test_foreign_files_are_rejected(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.zeros(3))
    with pytest.raises(ValueError, match="not a bprop model file"):
        bprop.load(plain)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a bprop model file"):
        bprop.load(text)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __bprop__=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="not a bprop model file"):
        bprop.load(pickled)


def test_unknown_layer_type_is_reported(tmp_path):
    class Mystery(Layer):
        def forward(self, x):
            return x

        def backward(self, dy):
            return dy

    path = bprop.save(Sequential(Linear(2, 2, rng=0), Mystery()), tmp_path / "m.npz")
    with pytest.raises(ValueError, match="unknown layer 'Mystery'"):
        bprop.load(path)
    register_layer(Mystery)
    assert isinstance(bprop.load(path)[1], Mystery)


def test_a_user_layer_keeps_its_constructor_arguments(tmp_path, rng, user_plugin):
    # get_config() returned {} by default: Scale(0.5) came back as Scale(2.0)
    net = Sequential(Linear(3, 4, rng=0), user_plugin.Scale(0.5), user_plugin.Tup((3, 4)))
    loaded = bprop.load(bprop.save(net, tmp_path / "m.npz"))
    assert loaded[1].a == 0.5 and list(loaded[2].sizes) == [3, 4]
    x = rng.normal(size=(5, 3))
    np.testing.assert_array_equal(loaded.forward(x), net.eval().forward(x))


def test_an_argument_that_cannot_be_read_back_is_refused_on_save(tmp_path, user_plugin):
    path = tmp_path / "m.npz"
    with pytest.raises(ValueError, match=r"^Hidden: cannot read the constructor argument "
                                          r"'factor' back .*define Hidden\.get_config\(\)"):
        bprop.save(Sequential(Linear(2, 2, rng=0), user_plugin.Hidden(3.0)), path)
    assert not path.exists()
    assert repr(user_plugin.Hidden(3.0)) == "Hidden(...)"  # still printable


def test_save_refuses_what_is_not_a_model(tmp_path):
    with pytest.raises(TypeError, match="expects a bprop Layer .* got str 'x'"):
        bprop.save("x", tmp_path / "x.npz")


def test_a_file_whose_layer_is_unknown_names_the_module_to_import(tmp_path, user_plugin):
    from bprop import registry

    path = bprop.save(Sequential(Linear(2, 2, rng=0), user_plugin.Scale(0.5)), tmp_path / "m.npz")
    registry._TABLES["layer"].pop("Scale")  # as in a fresh process that did not import it
    with pytest.raises(ValueError, match="unknown layer 'Scale'; it is defined in module "
                                         "'bprop_user_plugin': import it first"):
        bprop.load(path)


def test_registry_suggests_near_misses():
    assert lookup("layer", "ReLU") is ReLU
    with pytest.raises(ValueError, match="did you mean 'ReLU'"):
        lookup("layer", "Relu")
    with pytest.raises(ValueError, match="did you mean 'SoftmaxNLL'"):
        lookup("loss", "SoftmaxNll")


def test_save_is_atomic_on_failure(tmp_path, monkeypatch):
    path = bprop.save(Linear(2, 2, rng=0), tmp_path / "m.npz")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        bprop.save(Linear(2, 2, rng=1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_models_and_checkpoints_are_one_format(tmp_path):
    from bprop.modelfile import read_archive
    from bprop.training.checkpoints import load_checkpoint, save_checkpoint

    state = {"epoch": 3, "params": [np.arange(4.0), np.ones((2, 2), np.float32)],
             "optimizer": {"t": np.int64(7), "v": (np.zeros(2), None)}, "rng": "{}"}
    path = save_checkpoint(tmp_path / "checkpoint.npz", state)
    header, arrays = read_archive(path, "bprop-checkpoint")
    assert header["format"] == "bprop-checkpoint" and header["version"] == 1
    assert len(arrays) == 3  # the arrays travel as arrays, the rest as JSON
    back = load_checkpoint(path)
    assert back["epoch"] == 3 and back["optimizer"]["t"] == 7
    assert back["params"][1].dtype == np.float32 and back["optimizer"]["v"][1] is None
    np.testing.assert_array_equal(back["params"][0], np.arange(4.0))
    with pytest.raises(ValueError, match="not a bprop model file .format 'bprop-checkpoint'"):
        bprop.load(path)
    model = bprop.save(Linear(2, 2, rng=0), tmp_path / "m.npz")
    with pytest.raises(ValueError, match="not a bprop checkpoint .format 'bprop-model'"):
        load_checkpoint(model)


def test_checkpoints_of_the_older_format_still_load(tmp_path):
    import json

    from bprop.training.checkpoints import load_checkpoint

    old = {"trainer": {"epoch": 2, "params": [{"__array__": "a0"}]}}
    np.savez(tmp_path / "old.npz", a0=np.arange(3.0), __checkpoint__=np.array(json.dumps(old)))
    state = load_checkpoint(tmp_path / "old.npz")
    assert state["epoch"] == 2  # unwrapped: what Trainer.load_state_dict takes
    np.testing.assert_array_equal(state["params"][0], np.arange(3.0))


def test_atomic_write_takes_text_bytes_or_a_writer(tmp_path):
    from bprop.modelfile import atomic_write

    assert atomic_write(tmp_path / "a.txt", "é\n").read_text(encoding="utf-8") == "é\n"
    assert atomic_write(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    atomic_write(tmp_path / "c.npz", lambda f: np.savez(f, x=np.arange(2)))
    with np.load(tmp_path / "c.npz") as f:
        assert f["x"].tolist() == [0, 1]

    def fail(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(tmp_path / "a.txt", fail)
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "é\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin", "c.npz"]
