"""`bprop.plots`: the decision boundary and the first layer's weights, as pictures."""

from __future__ import annotations

import numpy as np
import pytest

from bprop.layers import Flatten, Linear, ReLU, Sequential
from bprop.plots import (
    class_grid,
    decision_boundary,
    first_layer_weights,
    first_linear,
    image_shape_for,
)


def _sign_classifier():
    """Class 1 where x0 > 0: scores (0, x0)."""
    lin = Linear(2, 2, rng=0)
    lin.weight.value[...] = [[0.0, 1.0], [0.0, 0.0]]
    lin.bias.value[...] = 0.0
    return Sequential(lin)


def test_decision_boundary_draws_the_model_regions(tmp_path):
    X = np.random.default_rng(0).uniform(-1, 1, size=(50, 2))
    y = (X[:, 0] > 0).astype(int)
    fig = decision_boundary(_sign_classifier(), X, y, path=tmp_path / "b.png",
                            class_names=["left", "right"], resolution=41)
    assert (tmp_path / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["left", "right"]
    assert ax.get_xlabel() == "x0" and len(ax.collections) >= 3  # regions, line, points
    # the regions drawn are the model's: class 1 where x0 > 0, over X's range and a margin
    G0, G1, Z, k = class_grid(_sign_classifier(), X, 41)
    assert k == 2 and Z.shape == (41, 41)
    np.testing.assert_array_equal(Z, (G0 > 0).astype(int))
    assert G0.min() < X[:, 0].min() and G1.max() > X[:, 1].max()


def test_decision_boundary_takes_one_logit_too():
    lin = Linear(2, 1, rng=0)
    X = np.random.default_rng(1).normal(size=(30, 2))
    y = (X @ lin.weight.value[:, 0] + lin.bias.value[0] > 0).astype(int)
    fig = decision_boundary(Sequential(lin), X, y, resolution=20)
    assert len(fig.axes[0].get_legend().get_texts()) == len(set(y))


@pytest.mark.parametrize(("X", "y", "match"), [
    (np.zeros((4, 3)), np.zeros(4), r"X of shape \(N, 2\)"),
    (np.zeros((4, 2)), np.zeros(3), "4 samples but y has 3"),
])
def test_decision_boundary_refuses_what_it_cannot_draw(X, y, match):
    with pytest.raises(ValueError, match=match):
        decision_boundary(_sign_classifier(), X, y)


def test_first_layer_weights_are_the_units_as_images(tmp_path):
    net = Sequential(Flatten(), Linear(64, 5, rng=3), ReLU(), Linear(5, 10, rng=4))
    fig = first_layer_weights(net, path=tmp_path / "w.png")
    assert (tmp_path / "w.png").is_file()
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 5
    W = net.layers[1].weight.value
    for j, im in enumerate(images):
        np.testing.assert_array_equal(im.get_array(), W[:, j].reshape(8, 8))
        assert im.get_clim() == (-np.abs(W).max(), np.abs(W).max())  # one symmetric scale
    assert first_linear(net) is net.layers[1]


def test_first_layer_weights_needs_an_image():
    with pytest.raises(ValueError, match="takes 10 inputs, not an image"):
        first_layer_weights(Sequential(Linear(10, 3, rng=0)))
    fig = first_layer_weights(Sequential(Linear(10, 3, rng=0)), image_shape=(2, 5))
    assert fig.axes[0].images[0].get_array().shape == (2, 5)
    with pytest.raises(ValueError, match="no Linear layer"):
        first_linear(Sequential(ReLU()))


@pytest.mark.parametrize(("n_in", "shape", "expected"), [
    (64, None, (8, 8)), (784, None, (28, 28)), (30, None, None), (4, None, None),
    (192, (3, 8, 8), (8, 8)), (60, (6, 10), (6, 10)),
])
def test_image_shape_for(n_in, shape, expected):
    assert image_shape_for(n_in, shape) == expected
