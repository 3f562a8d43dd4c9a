"""`bprop.config.build.prepare`: what a config's train and data keys make of a run."""

from __future__ import annotations

import numpy as np
import pytest

from bprop.config.build import prepare, standardizes_target
from bprop.config.fields import ConfigError
from bprop.config.loader import resolve
from bprop.training.diagnostics import Diagnostics

BN_MODEL = [{"type": "Linear", "out": 8}, "BatchNorm", "ReLU", {"type": "Linear", "out": 3}]


def run_of(**raw):
    return prepare(resolve(raw))


@pytest.mark.parametrize(("loss", "standardized"), [
    ("SquaredError", True), ("Huber", True), ({"type": "Huber", "delta": 2.0}, True),
    ("AbsoluteError", True), ("PoissonDeviance", False),
])
def test_every_regression_loss_but_poisson_trains_on_standardized_targets(loss, standardized):
    assert standardizes_target(loss) is standardized
    run = run_of(data={"name": "diabetes"}, loss=loss,
                 model=[{"type": "Linear", "out": 1}], train={"epochs": 1})
    prep = run.data.prep
    assert (prep.y_mean is not None) is standardized
    if standardized:  # the training targets have mean 0 and scale 1
        assert abs(run.data.y_train.mean()) < 1e-12
        assert run.data.y_train.std() == pytest.approx(1.0)
        # and a prediction decodes to the targets' units
        assert prep.decode_output(np.zeros((1, 1)))[0, 0] == pytest.approx(prep.y_mean[0])
    else:
        assert run.data.y_train.min() >= 0 and run.data.y_train.max() > 100  # raw counts


def test_standardize_target_false_is_kept_for_every_loss():
    run = run_of(data={"name": "diabetes", "standardize_target": False}, loss="Huber",
                 model=[{"type": "Linear", "out": 1}])
    assert run.data.prep.y_mean is None


def test_batchnorm_with_a_last_batch_of_one_is_a_config_error():
    # iris: 150 samples, test 0.2 and val 0.1 leave 105 to train on: 4 * 26 + 1
    with pytest.raises(ConfigError, match=r"train\.batch_size: BatchNorm needs at least 2 "
                                          r"samples .* batch_size=26 on 105 samples leaves a "
                                          r"batch of 1; .*train\.drop_last: true"):
        run_of(data={"name": "iris"}, model=BN_MODEL, train={"batch_size": 26})
    run = run_of(data={"name": "iris"}, model=BN_MODEL,
                 train={"batch_size": 26, "drop_last": True, "epochs": 2})
    run.trainer.fit(run.data.X_train, run.data.y_train, 2)
    assert run.trainer.epoch == 2
    run_of(data={"name": "iris"}, model=BN_MODEL, train={"batch_size": 27})  # 3 * 27 + 24


def test_diagnostics_key_adds_the_callback_and_refuses_the_fused_engine():
    run = run_of(data={"name": "iris"}, model=[{"type": "Linear", "out": 3}],
                 train={"diagnostics": True})
    assert isinstance(run.diagnostics, Diagnostics) and run.diagnostics in run.trainer.callbacks
    assert run.diagnostics.x.shape == (min(256, len(run.data.X_train)), 4)
    assert run_of(data={"name": "iris"}, model=[{"type": "Linear", "out": 3}]).diagnostics is None
    with pytest.raises(ConfigError, match="train.diagnostics: reads every layer's gradients"):
        run_of(data={"name": "iris"}, model=[{"type": "Linear", "out": 3}],
               train={"diagnostics": True, "engine": "fused"})


@pytest.fixture
def images(tmp_path):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    path = tmp_path / "images.npz"
    np.savez(path, X=X.reshape(-1, 1, 8, 8), y=y)
    return str(path), X


def test_npz_images_train_with_a_model_that_starts_with_flatten(images):
    path, X = images
    run = run_of(data={"name": "npz", "path": path},
                 model=["Flatten", {"type": "Linear", "out": 10}], train={"epochs": 1})
    ds = run.data
    assert ds.X_train.shape[1:] == (1, 8, 8) and ds.n_features == 64
    assert ds.prep.input_shape == [1, 8, 8]
    # per pixel: each non-constant pixel has mean 0 and scale 1 over the training part
    flat = ds.X_train.reshape(len(ds.X_train), -1)
    assert np.abs(flat.mean(axis=0)).max() < 1e-12
    assert np.allclose(flat.std(axis=0)[flat.std(axis=0) > 0], 1.0)
    assert (X.std(axis=0) == 0).any()  # digits' border pixels: constant, left unscaled
    # new data: images or their rows, standardized alike
    rows = X[:5]
    np.testing.assert_allclose(ds.prep.transform(rows.reshape(5, 1, 8, 8)).reshape(5, -1),
                               ds.prep.transform(rows))
    run.trainer.fit(ds.X_train, ds.y_train, 1)
    assert run.trainer.engine_used == "reference"  # N-D data: the fused engine takes rows


def test_npz_images_without_flatten_are_refused_by_name(images):
    path, _ = images
    with pytest.raises(ConfigError, match=r"model: the data's samples have shape "
                                          r"\(N, 1, 8, 8\): start the model with Flatten"):
        run_of(data={"name": "npz", "path": path}, model=[{"type": "Linear", "out": 10}])


def test_early_stopping_may_watch_the_objective_or_the_training_accuracy():
    for metric in ("objective", "accuracy"):
        run = run_of(data={"name": "iris"}, model=[{"type": "Linear", "out": 3}],
                     optimizer={"type": "SGD", "lr": 0.1, "weight_decay": 0.01},
                     train={"epochs": 3, "early_stopping": True, "monitor": metric})
        history = run.trainer.fit(run.data.X_train, run.data.y_train, 3)
        assert run.early_stopping.best == (min if metric == "objective" else max)(
            history[metric])
    with pytest.raises(ConfigError, match="train.monitor: 'accuracy' needs a classification"):
        run_of(data={"name": "diabetes"}, model=[{"type": "Linear", "out": 1}],
               train={"early_stopping": True, "monitor": "accuracy"})


def _iris(*model):
    return resolve({"data": {"name": "iris"}, "train": {"epochs": 1},
                    "model": [{"type": "Linear", "out": 4}, *model, {"type": "Linear", "out": 3}]})


def test_a_constructor_that_raises_is_one_config_error(user_plugin):
    # a RuntimeError from a user's __init__ went through as a traceback
    with pytest.raises(ConfigError, match=r"^model\[1\] \(Exploding\): RuntimeError: Exploding "
                                          r"refuses to be built$"):
        prepare(_iris("Exploding"))


def test_a_layer_a_model_file_cannot_rebuild_is_refused_before_training(user_plugin):
    with pytest.raises(ConfigError, match=r"^model\[1\]: Hidden: cannot read the constructor "
                                          r"argument 'factor' back .* could not rebuild it$"):
        prepare(_iris({"type": "Hidden", "factor": 2.0}))
    run = prepare(_iris({"type": "Scale", "a": 0.5}))
    assert run.model[1].a == 0.5
