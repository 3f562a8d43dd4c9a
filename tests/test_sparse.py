"""Sparse input kept sparse: the first Linear, the Trainer and the estimators on scipy.sparse X."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from bprop.estimators import MLPClassifier, MLPRegressor
from bprop.layers import Dropout, Linear, ReLU, Sequential
from bprop.losses import SoftmaxNLL
from bprop.optim import SGD
from bprop.training.trainer import Trainer
from bprop.validation import check_data

SPARSE_CLASSES = (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array, sp.csc_array,
                  sp.coo_array)


def sparse_data(n=120, d=40, density=0.1, seed=0, fmt="csr"):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format=fmt, random_state=seed)
    return X, rng.integers(0, 3, n)


@pytest.fixture
def no_densify(monkeypatch):
    """Every way of turning a sparse feature matrix dense raises.

    Only matrices of at least 20 columns (the data's): scikit-learn's
    LabelBinarizer builds and densifies a small sparse one-hot of the labels.
    """

    for cls in SPARSE_CLASSES:
        for name in ("toarray", "todense", "__array__"):
            original = getattr(cls, name, None)

            def refuse(self, *args, _original=original, **kwargs):
                if self.shape[1] >= 20 or _original is None:
                    raise AssertionError("a sparse matrix was densified")
                return _original(self, *args, **kwargs)

            monkeypatch.setattr(cls, name, refuse, raising=False)


def test_linear_takes_a_sparse_x_as_it_is():
    X, _ = sparse_data()
    layer = Linear(40, 5, rng=0)
    y_sparse = layer.forward(X)
    dy = np.random.default_rng(1).normal(size=y_sparse.shape)
    layer.backward_params(dy)
    dW_sparse = layer.weight.grad.copy()
    dx_sparse = layer.backward(dy)
    np.testing.assert_allclose(y_sparse, layer.forward(X.toarray()), rtol=1e-12)
    layer.backward_params(dy)
    np.testing.assert_allclose(dW_sparse, layer.weight.grad, rtol=1e-12)
    np.testing.assert_allclose(dx_sparse, dy @ layer.weight.value.T)


def test_linear_reads_integer_sparse_as_floats_and_refuses_other_formats():
    layer = Linear(4, 2, rng=0)
    X = sp.csr_matrix(np.eye(4, dtype=np.int64))
    np.testing.assert_allclose(layer.forward(X), layer.weight.value + layer.bias.value)
    with pytest.raises(ValueError, match="CSR or CSC, got COO"):
        layer.forward(X.tocoo())


@pytest.mark.parametrize("layer", [ReLU(), Dropout(0.5, rng=0)])
def test_other_layers_say_only_linear_takes_sparse(layer):
    X, _ = sparse_data()
    with pytest.raises(ValueError, match="only Linear takes sparse input: put a Linear first"):
        layer.forward(X)
    model = Sequential(layer, Linear(40, 3, rng=0))
    with pytest.raises(ValueError, match="only Linear takes sparse input"):
        model.forward(X)


def test_check_data_keeps_sparse_as_csr_and_checks_values(no_densify):
    X, y = sparse_data(fmt="csc")
    Xc, yc, _ = check_data(X, y, None, np.dtype(np.float32))
    assert sp.issparse(Xc) and Xc.format == "csr" and Xc.dtype == np.float32
    csr = X.tocsr()
    assert check_data(csr, y, None, np.dtype(np.float64))[0] is csr  # no copy when it fits
    bad = csr.copy()
    bad.data[3] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        check_data(bad, y, None, np.dtype(np.float64))
    with pytest.raises(ValueError, match="sparse COO matrix; pass CSR or CSC"):
        check_data(X.tocoo(), y, None, np.dtype(np.float64))
    with pytest.raises(ValueError, match="120 samples but its targets have 3"):
        check_data(csr, y[:3], None, np.dtype(np.float64))


def test_trainer_falls_back_to_the_reference_step_on_sparse_data(no_densify):
    X, y = sparse_data()
    model = Sequential(Linear(40, 8, rng=0), ReLU(), Linear(8, 3, rng=1))
    trainer = Trainer(model, SoftmaxNLL(), SGD(model.parameters(), lr=0.1), rng=0)
    history = trainer.fit(X, y, epochs=2, validation_data=(X, y))
    assert trainer.engine_used == "reference" and len(history) == 2
    assert np.isfinite(trainer.evaluate(X, y)["loss"])
    with pytest.raises(ValueError, match="engine='fused': data of type csr_matrix"):
        Trainer(model, SoftmaxNLL(), SGD(model.parameters(), lr=0.1), engine="fused").fit(X, y, 1)


def test_trainer_trains_the_same_model_on_sparse_and_dense_data():
    X, y = sparse_data()
    weights = []
    for data in (X, X.toarray()):
        model = Sequential(Linear(40, 8, rng=0), ReLU(), Linear(8, 3, rng=1))
        Trainer(model, SoftmaxNLL(), SGD(model.parameters(), lr=0.1, momentum=0.9), rng=0,
                engine="reference").fit(data, y, epochs=3)
        weights.append([p.value for p in model.parameters()])
    for a, b in zip(*weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("params", [
    dict(solver="sgd"),
    dict(solver="adam", early_stopping=True),
    dict(solver="sgd", batch_size=16, alpha=1e-2, learning_rate="invscaling"),
    dict(solver="lbfgs"),
])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_classifier_fits_the_same_model_on_sparse_as_on_its_dense_copy(params, fmt):
    X, y = sparse_data(fmt=fmt)
    kw = dict(hidden_layer_sizes=(16,), max_iter=6, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = MLPClassifier(**kw).fit(X, y)
        b = MLPClassifier(**kw).fit(X.toarray(), y)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X.toarray()), atol=1e-12)
    assert a.score(X, y) == b.score(X.toarray(), y)
    if params["solver"] != "lbfgs":
        assert a.loss_curve_ == pytest.approx(b.loss_curve_, rel=1e-12)


def test_classifier_matches_scikit_learn_on_sparse_input():
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = sparse_data()
    kw = dict(hidden_layer_sizes=(16,), solver="sgd", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = MLPClassifier(**kw).fit(X, y), SkMLP(**kw).fit(X, y)
    for p, q in zip(ours.coefs_, theirs.coefs_, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    assert ours.score(X, y) == theirs.score(X, y)


def test_regressor_and_partial_fit_take_sparse_input(no_densify):
    X, _ = sparse_data(fmt="csc")
    t = np.random.default_rng(2).normal(size=X.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=4, random_state=0).fit(X, t)
        clf = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
        clf.partial_fit(X, t > 0, classes=[False, True])
    assert reg.predict(X).shape == (X.shape[0],)
    assert clf.predict(X).shape == (X.shape[0],)
    assert len(reg.hidden_activations(X)[0]) == X.shape[0]


def test_the_estimator_never_densifies_a_wide_sparse_matrix(no_densify):
    # 1000 x 20000 float64 is 160 MB dense; its 20,000 non-zeros are 0.24 MB
    X = sp.random(1000, 20000, density=0.001, format="csr", random_state=0)
    y = np.random.default_rng(0).integers(0, 3, 1000)
    dense_bytes = X.shape[0] * X.shape[1] * 8
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0,
                                early_stopping=True).fit(X, y)
            clf.predict(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the weights (20000 x 8: 1.3 MB), their gradient, velocity and copies, and the
    # modules imported on the way: about 12 MB, against 160 MB for one dense copy
    assert peak < dense_bytes / 10, f"peak {peak / 1e6:.1f} MB"


def test_float32_sparse_trains_in_float32():
    X, y = sparse_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(
            X.astype(np.float32), y)
    assert clf.coefs_[0].dtype == np.float32
