"""ONNX export: every layer's converter, to_onnx's heads, `bprop export` against
`bprop predict`, and skl2onnx pipelines holding bprop's estimators, all run in
onnxruntime."""

from __future__ import annotations

import csv
import math
import re
import warnings

import numpy as np
import onnxruntime as ort
import pytest
import skl2onnx
from scipy.special import erf
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bprop import registry
from bprop.cli import main
from bprop.config.build import prepare
from bprop.config.data import Preprocessor
from bprop.config.entries import build_model
from bprop.config.loader import load_yaml, resolve
from bprop.estimators import MLPClassifier, MLPRegressor
from bprop.export import CONVERTERS, register_converter, to_onnx
from bprop.layers import Layer, Linear, ReLU, Sequential, Softmax, Tanh
from bprop.layers.activations import softmax
from bprop.parameter import Parameter


def session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def run_onnx(model, X):
    return session(model).run(None, {"X": X})


# ------------------------------------------------------------------ the layers

# Layers of the wider catalogue (DESIGN.md) as plain eval-mode formulas: each
# converter is checked against the real layer once it is registered, and
# against this stand-in until then.


class _ELU(Layer):
    def __init__(self, alpha=1.3):
        self.alpha = alpha

    def forward(self, x):
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))


class _GELU(Layer):
    def forward(self, x):
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))


class _Softplus(Layer):
    def forward(self, x):
        return np.logaddexp(0, x)


class _PReLU(Layer):
    def __init__(self):
        self.alpha = Parameter(np.array([0.3]), "alpha")

    def forward(self, x):
        return np.where(x > 0, x, self.alpha.value * x)


class _LogSoftmax(Layer):
    def forward(self, x):
        z = x - x.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


class _Flatten(Layer):
    def forward(self, x):
        return x.reshape(len(x), -1)


class _BatchNorm(Layer):
    def __init__(self, n):
        rng = np.random.default_rng(7)
        self.gamma = Parameter(rng.normal(1, 0.3, n), "gamma")
        self.beta = Parameter(rng.normal(0, 0.3, n), "beta")
        self.running_mean, self.running_var, self.eps = rng.normal(size=n), rng.uniform(
            0.5, 2, n), 1e-5

    def forward(self, x):
        xhat = (x - self.running_mean) / np.sqrt(self.running_var + self.eps)
        return xhat * self.gamma.value + self.beta.value


class _LayerNorm(Layer):
    def __init__(self, n):
        rng = np.random.default_rng(8)
        self.gamma = Parameter(rng.normal(1, 0.3, n), "gamma")
        self.beta = Parameter(rng.normal(0, 0.3, n), "beta")
        self.eps = 1e-5

    def forward(self, x):
        mu, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * self.gamma.value + self.beta.value


STAND_INS = {"ELU": _ELU, "GELU": _GELU, "Softplus": _Softplus, "PReLU": _PReLU,
             "LogSoftmax": _LogSoftmax, "Flatten": _Flatten, "BatchNorm": _BatchNorm,
             "LayerNorm": _LayerNorm}
N_IN = 5


def library_layers():
    """The layer classes bprop itself registers (user test layers excluded)."""
    return [n for n in registry.names("layer")
            if registry.lookup("layer", n).__module__.startswith("bprop.layers")
            and n != "Sequential"]


def real_layer(name, rng):
    """A registered layer with random parameters and, for running statistics,
    a few training-mode passes behind it."""
    spec = {"type": name, "out": 3} if name == "Linear" else {"type": name}
    model, _ = build_model([spec], N_IN, dtype="float64", seed_seq=np.random.SeedSequence(3))
    layer = model.layers[0]
    for p in layer.parameters():
        p.value[...] = rng.normal(0.5, 0.5, p.value.shape)
    layer.train()
    for _ in range(3):
        layer.forward(rng.normal(1.0, 2.0, (16, N_IN)))
    return layer


def check_layer(layer, rng):
    X = rng.normal(size=(7, N_IN)) * 2
    layer.eval()
    want = layer.forward(X)
    got64 = run_onnx(to_onnx(layer, N_IN, dtype=np.float64), X)[0]
    # GELU's erf runs in float32 (onnxruntime has no double Erf)
    tol = 1e-6 if type(layer).__name__ == "GELU" else 1e-9
    np.testing.assert_allclose(got64, want, rtol=tol, atol=tol)
    got32 = run_onnx(to_onnx(layer, N_IN), X.astype(np.float32))[0]
    np.testing.assert_allclose(got32, want, rtol=1e-5, atol=1e-5)
    assert got32.dtype == np.float32


@pytest.mark.parametrize("name", library_layers())
def test_every_library_layer_exports_and_matches_its_forward(name, rng):
    assert name in CONVERTERS, f"layer {name} has no ONNX converter in bprop.export.layers"
    check_layer(real_layer(name, rng), rng)


@pytest.mark.parametrize("name", sorted(STAND_INS))
def test_catalogue_layers_match_their_formulas(name, rng):
    if name in registry.names("layer"):
        layer = real_layer(name, rng)
    else:  # converters are found by class name: name the stand-in as the layer
        cls = type(name, (STAND_INS[name],), {})
        layer = cls(N_IN) if name in ("BatchNorm", "LayerNorm") else cls()
    check_layer(layer, rng)


def test_a_stack_with_dropout_exports_in_evaluation_mode(rng):
    from bprop.layers import Dropout, LeakyReLU, Sigmoid

    net = Sequential(Linear(4, 8, rng=0), LeakyReLU(0.2), Dropout(0.5, rng=1),
                     Sequential(Linear(8, 6, rng=2), Sigmoid()), Tanh(), Linear(6, 2, rng=3))
    X = rng.normal(size=(9, 4))
    m = to_onnx(net, 4)
    assert net.training  # the model's mode is left as it was
    net.eval()
    np.testing.assert_allclose(run_onnx(m, X.astype(np.float32))[0], net.forward(X), rtol=1e-5,
                               atol=1e-6)


def test_a_layer_without_converter_is_named():
    class Square(Layer):
        def forward(self, x):
            return x * x

    with pytest.raises(ValueError, match="cannot export layer Square") as info:
        to_onnx(Sequential(Linear(3, 3, rng=0), Square()), 3)
    assert any("In layer 1 of Sequential" in note for note in info.value.__notes__)


def test_register_converter_makes_a_new_layer_exportable(rng):
    class Cube(Layer):
        def forward(self, x):
            return x ** 3

    @register_converter("Cube")
    def _cube(layer, g, x):
        return g.op("Mul", g.op("Mul", x, x), x)

    try:
        check_layer(Cube(), rng)
    finally:
        del CONVERTERS["Cube"]


def test_widths_that_do_not_fit_are_an_error():
    with pytest.raises(ValueError, match=r"layer 2 \(Linear\(n_in=7.*expects 7 .* receives 8"):
        to_onnx(Sequential(Linear(4, 8, rng=0), ReLU(), Linear(7, 2, rng=1)), 4)
    with pytest.raises(ValueError, match="layer 0 .* expects 4 input features but receives 5"):
        to_onnx(Sequential(Linear(4, 8, rng=0)), 5)


@pytest.mark.parametrize("bad, message", [
    ({"n_features": 0}, "n_features must be an integer >= 1"),
    ({"dtype": np.int32}, "dtype must be float32 or float64"),
    ({"classes": [0, 1]}, "2 classes for a network with 3 output"),
    ({"out_activation": "relu"}, "out_activation must be one of"),
    ({"opset": 11}, "opset must be >= 13"),
])
def test_bad_arguments(bad, message):
    net = Sequential(Linear(4, 3, rng=0))
    with pytest.raises(ValueError, match=message):
        to_onnx(net, **{"n_features": 4, **bad})


# ------------------------------------------------------------------- the heads


def test_classifier_outputs_labels_and_probabilities(rng):
    net = Sequential(Linear(4, 8, rng=0), ReLU(), Linear(8, 3, rng=1))
    X = rng.normal(size=(20, 4))
    m = to_onnx(net, 4, classes=["setosa", "versicolor", "virginica"])
    label, proba = run_onnx(m, X.astype(np.float32))
    want = softmax(net.forward(X))
    np.testing.assert_allclose(proba, want, rtol=1e-5, atol=1e-6)
    assert list(label) == [["setosa", "versicolor", "virginica"][i] for i in want.argmax(1)]
    assert [o.name for o in m.graph.output] == ["label", "probabilities"]


def test_a_final_softmax_is_not_applied_twice(rng):
    net = Sequential(Linear(4, 3, rng=0), Softmax())
    X = rng.normal(size=(6, 4))
    proba = run_onnx(to_onnx(net, 4, classes=[3, 5, 9]), X.astype(np.float32))[1]
    np.testing.assert_allclose(proba, net.forward(X), rtol=1e-5, atol=1e-6)


def test_one_logit_gives_two_probability_columns(rng):
    net = Sequential(Linear(4, 1, rng=0))
    X = rng.normal(size=(10, 4))
    label, proba = run_onnx(to_onnx(net, 4, classes=[False, True]), X.astype(np.float32))
    p = 1 / (1 + np.exp(-net.forward(X)[:, 0]))
    np.testing.assert_allclose(proba, np.c_[1 - p, p], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(label, (p > 0.5).astype(np.int64))


def test_preprocessing_is_inside_the_graph(rng):
    mean, scale = rng.normal(size=3) * 10, rng.uniform(1, 5, 3)
    prep = Preprocessor("regression", ["a", "b", "c"], mean, scale, target_names=["y"],
                        y_mean=np.array([100.0]), y_scale=np.array([20.0]))
    net = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 1, rng=1))
    X = rng.normal(size=(8, 3)) * 10
    m = to_onnx(net, 3, preprocessing=prep.to_dict(), dtype=np.float64)
    want = prep.decode_output(net.forward(prep.transform(X)))
    np.testing.assert_allclose(run_onnx(m, X)[0], want, rtol=1e-9)
    props = {p.key: p.value for p in m.metadata_props}
    assert props["bprop.feature_names"] == '["a", "b", "c"]'
    with pytest.raises(ValueError, match="standardizes 3 features but n_features is 4"):
        to_onnx(Sequential(Linear(4, 1, rng=0)), 4, preprocessing=prep)


# ----------------------------------------------------- bprop export vs predict


def read_predictions(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def raw_test_split(run_dir):
    """The run's test split in the units of the data file (what predict reads)."""
    cfg = resolve(load_yaml(str(run_dir / "config.yaml")))
    ds = prepare(cfg).data
    prep = ds.prep
    return ds.X_test.astype(np.float64) * prep.x_scale + prep.x_mean, prep


def write_csv(path, X):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([[repr(float(v)) for v in row] for row in X])


IRIS_MODEL = "model=[{{type: Linear, out: 16}}, ReLU, {{type: Linear, out: 3}}, {}]"


@pytest.mark.parametrize("config, overrides", [
    ("configs/iris.yaml", []),
    ("configs/breast_cancer.yaml", []),  # one logit, SigmoidCrossEntropy
    ("configs/digits.yaml", ["model.1=Tanh"]),
    ("configs/diabetes.yaml", []),  # regression, standardized target
    ("configs/iris.yaml", [IRIS_MODEL.format("LogSoftmax"), "loss=NLL"]),  # log-probabilities
    ("configs/iris.yaml", [IRIS_MODEL.format("Softmax"), "loss=MulticlassHinge"]),
])
def test_export_matches_bprop_predict_on_the_test_split(config, overrides, tmp_path):
    run = tmp_path / "run"
    assert main(["train", config, "--out", str(run), "--quiet", "train.epochs=2",
                 "train.dtype=float32", *overrides]) == 0
    assert main(["export", str(run), "-o", str(tmp_path / "m.onnx")]) == 0
    X, prep = raw_test_split(run)
    write_csv(tmp_path / "x.csv", X)
    assert main(["predict", str(run), str(tmp_path / "x.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    header, rows = read_predictions(tmp_path / "p.csv")
    import onnx

    outputs = run_onnx(onnx.load(str(tmp_path / "m.onnx")), X.astype(np.float32))
    if prep.task == "classification":
        label, proba = outputs
        want = np.array([[float(v) for v in r[1:]] for r in rows])
        np.testing.assert_allclose(proba, want, rtol=1e-5, atol=1e-5)
        assert [str(v) for v in label] == [r[0] for r in rows]
        assert header[1:] == [f"p_{c}" for c in prep.classes]
    else:
        want = np.array([[float(v) for v in r] for r in rows])
        np.testing.assert_allclose(outputs[0], want, rtol=1e-5)


@pytest.mark.parametrize("last, loss", [("Softmax", "SoftmaxNLL"), ("LogSoftmax", "SoftmaxNLL"),
                                        ("Softmax", "NLL")])
def test_a_final_softmax_before_a_loss_that_applies_it_is_refused(last, loss, tmp_path,
                                                                   capsys):
    # predict and export would disagree on such a model: the loss trained softmax(softmax(z))
    assert main(["train", "configs/iris.yaml", IRIS_MODEL.format(last), f"loss={loss}",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"bprop: error: model[3]: {loss} takes ") and last in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "run").exists()


def test_a_poisson_run_predicts_the_rate_everywhere(tmp_path, capsys):
    import json

    import onnx

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = rng.poisson(np.exp(0.8 * X[:, 0] - 0.5 * X[:, 1] + 1.0))
    with open(tmp_path / "d.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "count"])
        w.writerows([[repr(float(a)), repr(float(b)), int(t)]
                     for (a, b), t in zip(X, y, strict=True)])
    (tmp_path / "c.yaml").write_text(
        "data: {name: csv, path: d.csv, target: count, task: regression}\n"
        "model: [{type: Linear, out: 1}]\nloss: PoissonDeviance\n"
        "optimizer: {type: Adam, lr: 0.05}\ntrain: {epochs: 30, dtype: float32}\n")
    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "c.yaml"), "--out", str(run), "--quiet"]) == 0
    assert main(["export", str(run), "-o", str(tmp_path / "m.onnx")]) == 0
    Xt, _ = raw_test_split(run)
    write_csv(tmp_path / "x.csv", Xt)
    assert main(["predict", str(run), str(tmp_path / "x.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    _, rows = read_predictions(tmp_path / "p.csv")
    predicted = np.array([[float(v) for v in r] for r in rows])
    exported = run_onnx(onnx.load(str(tmp_path / "m.onnx")), Xt.astype(np.float32))[0]
    np.testing.assert_allclose(exported, predicted, rtol=1e-5)
    assert predicted.min() > 0  # a rate, never a log-rate
    # eval's errors are those of the rates
    capsys.readouterr()
    assert main(["eval", str(run)]) == 0
    result = json.loads(capsys.readouterr().out)
    cfg = resolve(load_yaml(str(run / "config.yaml")))
    yt = prepare(cfg).data.y_test.reshape(predicted.shape)
    rmse = float(np.sqrt(np.mean((predicted - yt) ** 2)))
    assert result["rmse"] == pytest.approx(rmse, rel=1e-4)


def test_export_with_text_labels_and_default_path(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)) * [1, 10, 100] + [0, 5, -50]
    labels = np.where(X[:, 0] + X[:, 1] / 10 > 0.5, "yes", "no")
    with open(tmp_path / "d.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["f1", "f2", "f3", "answer"])
        w.writerows([[*map(repr, row), t] for row, t in zip(X.tolist(), labels, strict=True)])
    (tmp_path / "c.yaml").write_text(
        "data: {name: csv, path: d.csv, target: answer}\n"
        "model: [{type: Linear, out: 8}, ReLU, {type: Linear, out: 2}]\n"
        "train: {epochs: 3, dtype: float32}\n")
    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "c.yaml"), "--out", str(run), "--quiet"]) == 0
    assert main(["export", str(run)]) == 0
    assert "outputs label, probabilities" in capsys.readouterr().out
    import onnx

    label, proba = run_onnx(onnx.load(str(run / "model.onnx")), X.astype(np.float32))
    assert main(["predict", str(run), str(tmp_path / "d.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    _, rows = read_predictions(tmp_path / "p.csv")
    assert list(label) == [r[0] for r in rows]
    np.testing.assert_allclose(proba, [[float(v) for v in r[1:]] for r in rows], atol=1e-5)


def test_export_of_a_directory_that_is_not_a_run(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


# ----------------------------------------------------- skl2onnx and estimators


@pytest.fixture
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


def fitted(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make_pipeline(StandardScaler(), est).fit(X, y)


def test_pipeline_classifier_with_zipmap(iris):
    X, y = iris
    pipe = fitted(MLPClassifier(hidden_layer_sizes=(10,), max_iter=40, random_state=0), X, y)
    label, proba = run_onnx(skl2onnx.to_onnx(pipe, X[:1].astype(np.float32)),
                            X.astype(np.float32))
    np.testing.assert_array_equal(label, pipe.predict(X))
    got = np.array([[row[c] for c in pipe.classes_] for row in proba])
    np.testing.assert_allclose(got, pipe.predict_proba(X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-9)])
def test_pipeline_binary_text_labels(dtype, tol, rng):
    X = rng.normal(size=(150, 4))
    y = np.where(X[:, 0] - X[:, 2] > 0, "pos", "neg")
    est = MLPClassifier(hidden_layer_sizes=(6, 5), activation="tanh", max_iter=40,
                        random_state=1)
    pipe = fitted(est, X, y)
    m = skl2onnx.to_onnx(pipe, X[:1].astype(dtype), options={id(est): {"zipmap": False}})
    label, proba = run_onnx(m, X.astype(dtype))
    np.testing.assert_array_equal(label, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=tol, atol=tol)


def test_pipeline_classifier_with_custom_layers(iris):
    X, y = iris
    est = MLPClassifier(layers=[{"type": "Linear", "out": 12}, {"type": "LeakyReLU",
                                                                 "negative_slope": 0.1},
                                {"type": "Dropout", "p": 0.2}], max_iter=30, random_state=0)
    pipe = fitted(est, X, y)
    m = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32), options={id(est): {"zipmap": False}})
    label, proba = run_onnx(m, X.astype(np.float32))
    np.testing.assert_array_equal(label, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs, n_targets", [
    ({"activation": "relu"}, 1),
    ({"activation": "logistic"}, 3),
    ({"loss": "poisson"}, 1),
])
def test_pipeline_regressor(kwargs, n_targets, rng):
    X = rng.normal(size=(120, 5))
    y = X @ rng.normal(size=(5, n_targets)) + 0.1 * rng.normal(size=(120, n_targets))
    if kwargs.get("loss") == "poisson":
        y = rng.poisson(np.exp(0.3 * X[:, :1])).astype(float)
    y = y.ravel() if n_targets == 1 else y
    pipe = fitted(MLPRegressor(hidden_layer_sizes=(8,), max_iter=40, random_state=0, **kwargs),
                  X, y)
    (pred,) = run_onnx(skl2onnx.to_onnx(pipe, X[:1].astype(np.float32)), X.astype(np.float32))
    assert pred.shape == (len(X), n_targets)
    np.testing.assert_allclose(pred.reshape(y.shape), pipe.predict(X), rtol=1e-5, atol=1e-5)


def test_multilabel_classifier_is_refused_clearly(rng):
    X = rng.normal(size=(60, 3))
    Y = (X[:, :2] > 0).astype(int)
    pipe = fitted(MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0), X, Y)
    with pytest.raises(ValueError, match="multilabel"):
        skl2onnx.to_onnx(pipe, X[:1].astype(np.float32))


def test_the_readme_example_runs():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("### Start, inspect and deploy"):]
    (block,) = re.findall(r"```python\n(.*?)```", section.split("<!-- end section")[0], re.S)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exec(compile(block, "README[export]", "exec"), {})


@pytest.mark.parametrize("model, what", [("hello", "got str"),
                                         (MLPClassifier(), "export its model_")])
def test_to_onnx_of_something_that_is_no_layer(model, what):
    with pytest.raises(ValueError, match=f"must be a bprop Layer.*{what}"):
        to_onnx(model, 5)
