"""`BaseMLP`: what MLPClassifier and MLPRegressor share.

``fit`` validates the parameters and the data, builds the network on the first
pass (`network.build_network`), then hands over to a solver: the stochastic
ones ('sgd', 'adam') train through `bprop.train.Trainer` (`stochastic.py`),
'lbfgs' through scipy's L-BFGS-B with bprop's backward as the gradient
(`lbfgs.py`).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..layers import Linear
from ..layers.activations import sigmoid, softmax
from ..losses import SigmoidCrossEntropy, SoftmaxNLL, SquaredError
from ..losses.base import Loss
from ..losses.poisson import PoissonDeviance
from .lbfgs import fit_lbfgs
from .network import build_network, flat_layers, linear_layers, no_trace
from .stochastic import fit_stochastic
from .validation import (
    ARRAY_LIKE,
    BOOLEAN,
    NONE,
    RANDOM_STATE,
    VERBOSE,
    InstanceOf,
    Interval,
    Options,
    check_sample_weight,
    validate_params,
)

#: rows per forward pass when predicting (bounds the memory of the activations)
PREDICT_CHUNK = 4096

_LOSSES: dict[str, type[Loss]] = {
    "softmax": SoftmaxNLL,
    "logistic": SigmoidCrossEntropy,
    "identity": SquaredError,
    "exp": PoissonDeviance,
}


#: the output activations: what predict applies to the network's raw output
OUTPUT_FUNCTIONS = {
    "softmax": softmax,
    "logistic": sigmoid,
    "identity": lambda z: z,
    "exp": np.exp,
}


class BaseMLP(BaseEstimator):
    """Shared machinery of the MLP estimators; use a subclass."""

    _parameter_constraints: dict[str, list[Any]] = {
        "hidden_layer_sizes": [ARRAY_LIKE, Interval(Integral, 1, None)],
        "activation": [Options(str, {"identity", "logistic", "tanh", "relu"})],
        "solver": [Options(str, {"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None)],
        "batch_size": [Options(str, {"auto"}), Interval(Integral, 1, None)],
        "learning_rate": [Options(str, {"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None)],
        "max_iter": [Interval(Integral, 1, None)],
        "shuffle": BOOLEAN,
        "random_state": RANDOM_STATE,
        "tol": [Interval(Real, 0, None)],
        "verbose": VERBOSE,
        "warm_start": BOOLEAN,
        # scikit-learn allows momentum=1 (a velocity that never decays); bprop's SGD does not
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": BOOLEAN,
        "early_stopping": BOOLEAN,
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None), Options(float, {np.inf})],
        "max_fun": [Interval(Integral, 1, None)],
        "dropout": [Interval(Real, 0, 1, closed="left"), ARRAY_LIKE],
        "layers": [InstanceOf((list, tuple), "list"), NONE],
        "callbacks": [InstanceOf((list, tuple), "list"), NONE],
        "restore_best_weights": [*BOOLEAN, NONE],
    }

    # ------------------------------------------------------------------ fitting

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BaseMLP:
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data (a sparse matrix is densified).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classification) or real numbers (regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights: the loss becomes ``sum(w * l) / sum(w)``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _check_solver(self) -> bool:
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> BaseMLP:
        validate_params(
            self.get_params(deep=False), self._parameter_constraints, type(self).__name__
        )
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, T, class_sw = self._validate_input(X, y, incremental, reset=first_pass)
        sw = None
        if sample_weight is not None:
            sw = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        if class_sw is not None:
            sw = class_sw.astype(X.dtype) if sw is None else sw * class_sw
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(X, T)
        elif self._n_outputs(T) != self.n_outputs_:
            raise ValueError(
                f"y has {self._n_outputs(T)} outputs but the network was built for "
                f"{self.n_outputs_}"
            )
        if self.solver == "lbfgs":
            fit_lbfgs(self, X, T, sw)
        else:
            fit_stochastic(self, X, T, sw, incremental)
        self.model_.eval()  # model_ is for predicting now (Dropout off); training turns it back
        if not all(np.isfinite(p.value).all() for p in self.model_.parameters()):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed."
            )
        return self

    def _initialize(self, X: np.ndarray, T: np.ndarray) -> None:
        """Build the network and reset every learned attribute (a fresh fit)."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = self._n_outputs(T)
        self.out_activation_ = self._output_activation()
        self.model_ = build_network(self, X.shape[1], self.n_outputs_, X.dtype, self._random_state)
        self.n_layers_ = len(linear_layers(self.model_)) + 1
        self._loss = _LOSSES[self.out_activation_]()
        self._trainer = None
        self._best_params = [p.value.copy() for p in self.model_.parameters()]
        if self.solver != "lbfgs":
            self.loss_curve_: list[float] = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_: list[float] | None = []
                self.validation_loss_curve_: list[float] | None = []
                self.best_validation_score_: float | None = -np.inf
                self.best_loss_: float | None = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.validation_loss_curve_ = None
                self.best_validation_score_ = None

    def _check_X(self, X: Any, reset: bool) -> np.ndarray:
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=reset
        )
        return X.toarray() if hasattr(X, "toarray") else X

    # --------------------------------------------------------------- prediction

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """The network's raw outputs (before the output activation), in eval mode."""
        X = X.astype(self.model_.parameters()[0].dtype, copy=False)
        with no_trace(self.model_, *flat_layers(self.model_)):
            self.model_.eval()
            chunks = [
                self.model_.forward(X[i : i + PREDICT_CHUNK])
                for i in range(0, X.shape[0], PREDICT_CHUNK)
            ]
        return np.concatenate(chunks) if len(chunks) != 1 else chunks[0]

    def _output_from_raw(self, raw: np.ndarray) -> np.ndarray:
        return OUTPUT_FUNCTIONS[self.out_activation_](raw)

    def _output(self, X: np.ndarray) -> np.ndarray:
        """The network's output after ``out_activation_``: shape (n_samples, n_outputs_)."""
        return self._output_from_raw(self._forward(X))

    def hidden_activations(self, X: Any) -> list[np.ndarray]:
        """What each hidden layer outputs for ``X``: a look inside the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        activations : list of ndarray
            One array per hidden layer, ``(n_samples, units)``: the input of
            every Linear after the first (after the activation; dropout is off
            at prediction time).
        """
        check_is_fitted(self)
        x = self._check_X(X, reset=False).astype(self.coefs_[0].dtype, copy=False)
        layers = flat_layers(self.model_)
        found: list[np.ndarray] = []
        with no_trace(self.model_, *layers):
            self.model_.eval()
            seen_linear = False
            for layer in layers:
                if isinstance(layer, Linear):
                    if seen_linear:
                        found.append(x)
                    seen_linear = True
                x = layer.forward(x)
        return found

    # ------------------------------------------------- scikit-learn's attributes

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrices, ``coefs_[i]`` of shape (units_i, units_i+1).

        The arrays are the network's own: modifying one in place changes the
        model; assigning a new list copies the values in.
        """
        return [layer.weight.value for layer in linear_layers(self.model_)]

    @coefs_.setter
    def coefs_(self, values: list[np.ndarray]) -> None:
        for layer, v in zip(linear_layers(self.model_), values, strict=True):
            layer.weight.value[...] = v

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The bias vectors, ``intercepts_[i]`` of shape (units_i+1,)."""
        return [layer.bias.value for layer in linear_layers(self.model_)]

    @intercepts_.setter
    def intercepts_(self, values: list[np.ndarray]) -> None:
        for layer, v in zip(linear_layers(self.model_), values, strict=True):
            layer.bias.value[...] = v

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
