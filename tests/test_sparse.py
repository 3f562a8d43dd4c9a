"""Sparse input kept sparse: the first Linear, the Trainer and the estimators on scipy.sparse X."""

from __future__ import annotations

import re
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from bprop.estimators import MLPClassifier, MLPRegressor
from bprop.fused import blas
from bprop.fused import sparse as fused_sparse
from bprop.layers import Dropout, Linear, ReLU, Sequential, Sigmoid, Tanh
from bprop.losses import SigmoidCrossEntropy, SoftmaxNLL, SquaredError
from bprop.optim import SGD, Adam
from bprop.training import Callback
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


def test_trainer_trains_sparse_data_on_the_sparse_fused_step(no_densify):
    X, y = sparse_data()
    model = Sequential(Linear(40, 8, rng=0), ReLU(), Linear(8, 3, rng=1))
    trainer = Trainer(model, SoftmaxNLL(), SGD(model.parameters(), lr=0.1), rng=0)
    ran = fused_sparse.steps
    history = trainer.fit(X, y, epochs=2, validation_data=(X, y))
    assert trainer.engine_used == "fused" and len(history) == 2
    assert fused_sparse.steps == ran + 2 * 4  # 120 samples in batches of 32: 4 steps an epoch
    assert np.isfinite(trainer.evaluate(X, y)["loss"])
    step = fused_sparse.SparseStep(model, SoftmaxNLL(), trainer.optimizer, X.tocsc(), y, 32)
    assert step.X.format == "csr"  # taken as rows, whatever it is given
    assert fused_sparse.SparseStep(model, SoftmaxNLL(), trainer.optimizer, X, y, 32).X is X
    # a first layer that cannot take the sparse matrix: the reference path says why
    model = Sequential(ReLU(), Linear(40, 3, rng=0))
    with pytest.raises(ValueError, match="engine='fused': sparse data needs a Linear first "
                                         "layer, not ReLU"):
        Trainer(model, SoftmaxNLL(), SGD(model.parameters(), lr=0.1), engine="fused").fit(X, y, 1)
    with pytest.raises(ValueError, match="only Linear takes sparse input"):
        Trainer(model, SoftmaxNLL(), SGD(model.parameters(), lr=0.1)).fit(X, y, 1)


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
    ran = fused_sparse.steps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = MLPClassifier(**kw).fit(X, y)
        assert (fused_sparse.steps > ran) == (params["solver"] != "lbfgs")  # the sparse step ran
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
            clf.predict_proba(X)
            clf.predict_log_proba(X)
            clf.score(X, y)
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


# -- the fused step for sparse X (bprop.fused.sparse) equals the reference step --

N, D, BATCH = 203, 40, 32  # 203 = 6 * 32 + 11: a ragged last batch
TOL = {np.float64: 1e-12, np.float32: 1e-5}
OPTIMIZERS = {
    "sgd": lambda ps: SGD(ps, lr=0.05),
    "sgd-decay": lambda ps: SGD(ps, lr=0.05, weight_decay=0.01),
    "momentum-decay": lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
    "nesterov": lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "nesterov-decay": lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True,
                                     weight_decay=0.01),
    "adam": lambda ps: Adam(ps, lr=0.01),
    "adam-decay": lambda ps: Adam(ps, lr=0.01, weight_decay=0.01),
}


def _net(dtype, middle=(ReLU,), k=3):
    layers = [Linear(D, 16, dtype=dtype, rng=1), *[make() for make in middle],
              Linear(16, 8, dtype=dtype, rng=2), Tanh(), Linear(8, k, dtype=dtype, rng=3)]
    return Sequential(*layers)


def _fit(X, engine, dtype, *, opt="nesterov-decay", middle=(ReLU,), loss=SoftmaxNLL, l2=0.0,
         callbacks=(), net=None):
    k = 3 if loss is SoftmaxNLL else 2
    rng = np.random.default_rng(5)
    y = rng.integers(0, k, N) if loss is SoftmaxNLL else rng.integers(0, 2, (N, k)).astype(float)
    net = net or _net(dtype, middle, k)
    trainer = Trainer(net, loss(), OPTIMIZERS[opt](net.parameters()), batch_size=BATCH, rng=0,
                      engine=engine, l2=l2, callbacks=list(callbacks))
    ran = fused_sparse.steps
    trainer.fit(X, y, 3, sample_weight=rng.random(N) + 0.1, validation_data=(X[:50], y[:50]))
    assert trainer.engine_used == engine
    # the sparse step ran exactly for sparse data on the fused engine
    assert (fused_sparse.steps == ran + 3 * 7) == (engine == "fused" and sp.issparse(X))
    return trainer


def _assert_same(a, b, dtype):
    tol = TOL[dtype]
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert q.value.dtype == dtype
        np.testing.assert_allclose(q.value, p.value, rtol=tol, atol=tol * np.abs(p.value).max())
    for r, s in zip(a.history.records, b.history.records, strict=True):
        for key in ("loss", "val_loss", "l2"):
            np.testing.assert_allclose(s[key], r[key], rtol=10 * tol)
    for name, states in a.optimizer.state_dict().items():
        if isinstance(states, np.ndarray):  # the optimizer's state is current too
            other = b.optimizer.state_dict()[name]
            np.testing.assert_allclose(other, states, rtol=tol, atol=tol * np.abs(states).max())
    assert a.optimizer.t == b.optimizer.t == 3 * 7


def _sparse_X(dtype, seed=0):
    return sp.random(N, D, density=0.15, format="csr", random_state=seed, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_fused_sparse_step_equals_the_reference_and_the_dense_fused_step(opt, dtype):
    X = _sparse_X(dtype)
    reference = _fit(X, "reference", dtype, opt=opt)
    fused = _fit(X, "fused", dtype, opt=opt)
    dense = _fit(X.toarray(), "fused", dtype, opt=opt)
    _assert_same(reference, fused, dtype)
    _assert_same(dense, fused, dtype)


@pytest.mark.parametrize("case", ["l2", "dropout-sigmoid", "one-linear", "multilabel", "squared",
                                  "blocks", "no-scipy-kernel", "blocks-no-scipy-kernel",
                                  "int64-indices", "csc"])
def test_fused_sparse_step_in_every_configuration(case, monkeypatch):
    dtype = np.float64
    X = _sparse_X(dtype, seed=3)
    kw = {}
    if case == "l2":  # the estimators' per-batch penalty: weight decay and ||W||^2 per step
        kw = dict(l2=0.5, opt="nesterov")
    elif case == "dropout-sigmoid":
        kw = dict(middle=(Sigmoid, lambda: Dropout(0.3, rng=4)), opt="adam-decay")
    elif case == "multilabel":
        kw = dict(loss=SigmoidCrossEntropy, opt="momentum-decay")
    elif case == "squared":
        kw = dict(loss=SquaredError, opt="sgd-decay")
    elif case in ("blocks", "blocks-no-scipy-kernel"):  # many blocks, the last one short
        monkeypatch.setattr(fused_sparse, "BLOCK", 16 * 3)
        kw = dict(opt="adam-decay", l2=0.1)
    if case.endswith("no-scipy-kernel"):  # numpy and scipy's public products, not its kernels
        for kernel in ("_csr_matvecs", "_csc_matvecs", "_csr_row_index", "_csr_tocsc"):
            monkeypatch.setattr(fused_sparse, kernel, None)
        kw = dict(opt="adam-decay", l2=0.1)
    elif case == "int64-indices":
        X.indices, X.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)
    elif case == "csc":
        X = X.tocsc()
    # the batch's columns (CSC) are made only for a W in several blocks
    columns = []
    monkeypatch.setattr(fused_sparse.Rows, "columns",
                        lambda self, _f=fused_sparse.Rows.columns: columns.append(1) or _f(self))
    trainers = []
    for engine in ("reference", "fused"):
        net = (Sequential(Linear(D, 3, rng=1)) if case == "one-linear" else None)
        trainers.append(_fit(X, engine, dtype, net=net, **kw))
    _assert_same(*trainers, dtype)
    assert (len(columns) == 3 * 7) == case.startswith("blocks")


def _awkward_csr(index_dtype):
    """A CSR matrix with empty rows, unsorted column indices and duplicate entries."""
    rng = np.random.default_rng(7)
    lens = rng.integers(0, 6, 30)
    lens[[0, 5, 29]] = 0
    lens[7] = 40  # one long row: a batch holding it outgrows the buffers
    indptr = np.concatenate([[0], np.cumsum(lens)]).astype(index_dtype)
    indices = rng.integers(0, 50, indptr[-1]).astype(index_dtype)  # unsorted, repeats
    X = sp.csr_matrix((rng.normal(size=indptr[-1]), indices, indptr), shape=(30, 50))
    X.indices, X.indptr = indices, indptr  # scipy would narrow int64 indices it can
    return X


@pytest.mark.parametrize("kernels", [True, False], ids=["scipy-kernels", "numpy"])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_rows_gathers_the_batch_as_scipy_indexing_does(kernels, index_dtype, monkeypatch):
    if not kernels:
        monkeypatch.setattr(fused_sparse, "_csr_row_index", None)
        monkeypatch.setattr(fused_sparse, "_csr_tocsc", None)
    X = _awkward_csr(index_dtype)
    rows = fused_sparse.Rows(X, 12)
    order = np.random.default_rng(1).permutation(30)
    # the first batch holds no long row, the second does (the buffers grow), the last is short
    batches = [np.array([0, 5, 29, 1]), order[:12], np.r_[7, order[order != 7][:11]], order[-3:]]
    for idx in batches:
        rows.gather(idx)
        want = X[idx]
        m, nnz = len(idx), want.nnz
        assert (rows.m, rows.nnz) == (m, nnz)
        np.testing.assert_array_equal(rows.indptr[: m + 1], want.indptr)
        np.testing.assert_array_equal(rows.indices[:nnz], want.indices)
        np.testing.assert_array_equal(rows.data[:nnz], want.data)
        assert rows.indices.dtype == np.dtype(index_dtype)
        rows.columns()
        want_c = want.tocsc()
        np.testing.assert_array_equal(rows.cindptr, want_c.indptr)
        np.testing.assert_array_equal(rows.cindices[:nnz], want_c.indices)
        np.testing.assert_array_equal(rows.cdata[:nnz], want_c.data)
        dy = np.random.default_rng(m).normal(size=(m, 3))
        dW = np.zeros((50, 3))  # the single-block gradient, scattered from the rows
        fused_sparse.transposed_matvecs(m, rows.indptr[: m + 1], rows.indices, rows.data, 50,
                                        dy, dW)
        np.testing.assert_allclose(dW, want.T @ dy, rtol=1e-13, atol=1e-13)


def test_blas_one_thread_sets_one_thread_and_restores_the_count(monkeypatch):
    count = {"n": 4}
    calls = []

    def put(k):
        calls.append(k)
        count["n"] = k

    monkeypatch.setattr(blas, "_THREADS", {"get": lambda: count["n"], "set": put})
    monkeypatch.setattr(blas, "available", True)
    with blas.one_thread():
        assert blas.threads() == 1
        with blas.one_thread():  # nested: the outer count is what comes back, once
            assert blas.threads() == 1
        assert blas.threads() == 1
    assert blas.threads() == 4 and calls == [1, 4]
    count["n"] = 1  # already one thread: nothing to set
    with blas.one_thread():
        pass
    assert calls == [1, 4]


def test_fused_sparse_step_updates_on_one_blas_thread(monkeypatch):
    if blas.threads() is None:  # numpy's own formulas: single-threaded anyway
        assert not (blas.available and blas._THREADS)
        return
    seen = []
    axpy = blas.axpy
    monkeypatch.setattr(blas, "axpy", lambda *a: seen.append(blas.threads()) or axpy(*a))
    before = blas.threads()
    blas._THREADS["set"](2)
    try:
        _fit(_sparse_X(np.float64), "fused", np.float64, opt="sgd")
        assert blas.threads() == 2  # restored after every step
    finally:
        blas._THREADS["set"](before)
    assert seen and set(seen) == {1}


class _WeightWatch(Callback):
    """Records the first weights' sum after every batch (what a per-batch hook sees)."""

    def __init__(self):
        self.sums = []

    def on_batch_end(self, trainer, batch, loss):
        self.sums.append(float(trainer.model.layers[0].weight.value.sum()))
        if batch == 2:  # a hook may change the weights: the next step must see it
            trainer.model.layers[0].weight.value[:2] *= 0.5


def test_fused_sparse_step_keeps_the_parameters_current_for_per_batch_hooks():
    X = _sparse_X(np.float64)
    watches = [_WeightWatch(), _WeightWatch()]
    runs = [_fit(X, engine, np.float64, opt="nesterov-decay", l2=0.2, callbacks=[watch])
            for engine, watch in zip(("reference", "fused"), watches, strict=True)]
    _assert_same(*runs, np.float64)
    np.testing.assert_allclose(watches[1].sums, watches[0].sums, rtol=1e-12)


def test_fused_sparse_step_allocates_nothing_the_size_of_the_first_weights(monkeypatch):
    # 200,000 x 8 float64 weights: 12.8 MB; the batches hold about 1,000 non-zeros each
    rng = np.random.default_rng(0)
    X = sp.csr_matrix((rng.random(4000), (rng.integers(0, 400, 4000),
                                          rng.integers(0, 200_000, 4000))), shape=(400, 200_000))
    y = rng.integers(0, 3, 400)
    monkeypatch.setattr(fused_sparse, "BLOCK", 1 << 14)  # a block buffer of 128 KB
    W_bytes = 200_000 * 8 * 8
    peaks = {}
    for engine in ("reference", "fused"):
        model = Sequential(Linear(200_000, 8, rng=0), ReLU(), Linear(8, 3, rng=1))
        opt = SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
        trainer = Trainer(model, SoftmaxNLL(), opt, batch_size=100, rng=0, engine=engine, l2=1e-4)
        tracemalloc.start()
        try:
            trainer.fit(X, y, 1)
            peaks[engine] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    # the reference makes a dense dW and the optimizer's temporaries, each as large as W;
    # the sparse step a block buffer and the batch's arrays (its columns' pointers: 0.8 MB)
    assert peaks["reference"] > W_bytes
    assert peaks["fused"] < W_bytes / 8, f"peak {peaks['fused'] / 1e6:.1f} MB"


def test_cli_predicts_a_sparse_file_without_densifying(tmp_path, no_densify, capsys):
    from bprop.cli.app import main

    X = sp.random(150, 30, density=0.1, format="csr", random_state=0) * 10
    y = np.random.default_rng(0).integers(0, 3, 150)
    sp.save_npz(tmp_path / "X.npz", X)
    np.save(tmp_path / "y.npy", y)
    (tmp_path / "c.yaml").write_text(
        "data: {name: sparse, path: X.npz, y: y.npy}\n"
        "model: [{type: Linear, out: 8}, ReLU, {type: Linear, out: 3}]\n"
        "train: {epochs: 2, batch_size: 16}\n")
    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "c.yaml"), "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["predict", str(run), str(tmp_path / "X.npz"), "-o", str(tmp_path / "p.csv")]) == 0
    sparse_rows = (tmp_path / "p.csv").read_text().splitlines()
    assert len(sparse_rows) == 151 and sparse_rows[0] == "prediction,p_0,p_1,p_2"
    # the same rows as a dense csv (the header names the features) predict the same
    table = np.zeros((40, 30))  # from the non-zeros: densifying is refused in this test
    coo = X[:40].tocoo()
    table[coo.row, coo.col] = coo.data
    header = ",".join(f"x{j}" for j in range(30))
    np.savetxt(tmp_path / "d.csv", table, delimiter=",", header=header, comments="")
    assert main(["predict", str(run), str(tmp_path / "d.csv"), "-o", str(tmp_path / "q.csv")]) == 0
    assert (tmp_path / "q.csv").read_text().splitlines() == sparse_rows[:41]
    sp.save_npz(tmp_path / "narrow.npz", X[:, :10])
    bad = X.copy()
    bad.data[bad.indptr[3]] = np.inf  # the first non-zero of data row 4
    sp.save_npz(tmp_path / "bad.npz", bad)
    capsys.readouterr()
    for name, message in (("narrow.npz", "has 10 feature columns; the model was trained on 30"),
                          ("bad.npz", "data row 4, feature 'x[0-9]+' is inf")):
        assert main(["predict", str(run), str(tmp_path / name)]) == 2
        assert re.search(message, capsys.readouterr().err)


def test_scale_case_s1_trains_sparse_to_scikit_learns_model_in_less_memory(no_densify):
    # shared/cases/scale.md S1, as written: bprop densified this matrix (2.35 GB where
    # scikit-learn held 0.31 GB). Right: the same model as scikit-learn's, the matrix never
    # densified, and less memory allocated during fit than scikit-learn allocates
    from sklearn.neural_network import MLPClassifier as SkMLP

    rng = np.random.default_rng(0)
    nnz = int(5000 * 50000 * 0.002)
    X = sp.csr_matrix((rng.random(nnz), (rng.integers(0, 5000, nnz),
                                         rng.integers(0, 50000, nnz))), shape=(5000, 50000))
    y = rng.integers(0, 5, 5000)
    kw = dict(hidden_layer_sizes=(64,), solver="sgd", max_iter=3, random_state=0)
    fits, peaks = {}, {}
    for name, cls in (("bprop", MLPClassifier), ("sklearn", SkMLP)):
        tracemalloc.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # 3 iterations: not converged, as the case says
                fits[name] = cls(**kw).fit(X, y)
            peaks[name] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    ours, theirs = fits["bprop"], fits["sklearn"]
    for p, q in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_,
                    strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    assert ours.score(X, y) == theirs.score(X, y)
    assert peaks["bprop"] < peaks["sklearn"], peaks
    assert peaks["bprop"] < 5000 * 50000 * 8 / 20  # a dense copy would be 2 GB
