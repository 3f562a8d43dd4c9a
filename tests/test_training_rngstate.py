"""Random generator states as JSON: every numpy BitGenerator, old checkpoints,
and a Trainer that resumes bit for bit with non-default generators."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bprop import Trainer
from bprop.layers import Dropout, Linear, ReLU, Sequential
from bprop.losses import SoftmaxNLL
from bprop.optim import SGD
from bprop.training.checkpoints import (
    _decode,
    _encode,
    dump_rng_state,
    load_checkpoint,
    load_rng_state,
    save_checkpoint,
)

BIT_GENERATORS = [np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937, np.random.Philox,
                  np.random.SFC64]


def _assert_same_state(a, b):
    """Equal values and, for arrays and numpy scalars, equal dtypes."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_same_state(a[k], b[k])
    elif isinstance(a, (np.ndarray, np.generic)):
        assert isinstance(b, type(a)) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert type(a) is type(b) and a == b


@pytest.mark.parametrize("bit_generator", BIT_GENERATORS, ids=lambda c: c.__name__)
def test_every_bit_generator_round_trips_exactly(bit_generator):
    rng = np.random.Generator(bit_generator(0))
    rng.random(3)
    rng.integers(0, 10, dtype=np.uint32)  # leaves a buffered half-word (has_uint32)
    text = dump_rng_state(rng)
    json.loads(text)  # standard JSON, nothing Python-specific
    other = np.random.Generator(bit_generator(123))
    load_rng_state(other, text)
    _assert_same_state(rng.bit_generator.state, other.bit_generator.state)
    np.testing.assert_array_equal(rng.random(50), other.random(50))


def test_numpy_scalars_and_arrays_keep_their_dtype():
    value = {"u64": np.uint64(2**64 - 1), "i8": np.int8(-3), "f32": np.float32(0.1),
             "empty": np.zeros((0, 2), dtype=np.uint32), "big": np.array([2**64 - 1], np.uint64)}
    back = json.loads(json.dumps(value, default=_encode), object_hook=_decode)
    _assert_same_state(value, back)


def test_plain_json_states_from_older_checkpoints_still_load():
    rng = np.random.default_rng(5)
    rng.random(7)
    old = json.dumps(rng.bit_generator.state)  # how checkpoints stored PCG64 states before
    assert dump_rng_state(rng) == old  # and still do: PCG64's state needs no tags
    other = np.random.default_rng(0)
    load_rng_state(other, old)
    assert rng.random() == other.random()


def test_bad_states_are_refused_with_a_value_error():
    mt = np.random.Generator(np.random.MT19937(0))
    with pytest.raises(ValueError):
        load_rng_state(np.random.default_rng(0), dump_rng_state(mt))  # MT19937 into PCG64
    with pytest.raises(ValueError, match="not valid JSON"):
        load_rng_state(mt, "{not json")
    with pytest.raises(ValueError, match="unsupported dtype"):
        load_rng_state(mt, '{"x": {"__ndarray__": ["a"], "dtype": "|O", "shape": [1]}}')
    with pytest.raises(ValueError, match="malformed"):
        load_rng_state(mt, '{"x": {"__ndarray__": [1]}}')  # no dtype
    with pytest.raises(ValueError, match="does not fit a MT19937"):
        load_rng_state(mt, '{"bit_generator": "MT19937"}')  # no "state"
    with pytest.raises(ValueError, match="does not fit"):
        load_rng_state(mt, "[1, 2]")
    with pytest.raises(TypeError, match="cannot store"):
        json.dumps({"x": np.array(["a"])}, default=_encode)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def _trainer():
    # Shuffling from MT19937 and dropout masks from Philox: both states hold arrays.
    dropout = Dropout(0.3, rng=np.random.Generator(np.random.Philox(9)))
    net = Sequential(Linear(4, 8, rng=0), dropout, ReLU(), Linear(8, 2, rng=1))
    opt = SGD(net.parameters(), lr=0.1, momentum=0.9)
    return Trainer(net, SoftmaxNLL(), opt, batch_size=16,
                   rng=np.random.Generator(np.random.MT19937(4)))


def _assert_same_weights(a, b):
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
        np.testing.assert_array_equal(pa.value, pb.value)


def test_trainer_with_non_default_generators_resumes_bit_for_bit(blobs):
    X, y = blobs
    straight = _trainer()
    straight.fit(X, y, epochs=2)
    first = _trainer()
    first.fit(X, y, epochs=1)
    resumed = _trainer()
    resumed.load_state_dict(first.state_dict())
    resumed.fit(X, y, epochs=2)
    _assert_same_weights(straight, resumed)


def test_checkpoint_file_with_non_default_generators_resumes_bit_for_bit(blobs, tmp_path):
    # The CLI's checkpoint path: a JSON header plus arrays, read with allow_pickle=False.
    X, y = blobs
    straight = _trainer()
    straight.fit(X, y, epochs=2)
    first = _trainer()
    first.fit(X, y, epochs=1)
    save_checkpoint(tmp_path / "checkpoint.npz", first.state_dict())
    resumed = _trainer()
    resumed.load_state_dict(load_checkpoint(tmp_path / "checkpoint.npz"))
    resumed.fit(X, y, epochs=2)
    _assert_same_weights(straight, resumed)
