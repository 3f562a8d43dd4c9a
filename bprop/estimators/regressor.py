"""`MLPRegressor`: scikit-learn's MLPRegressor on bprop's layers and training loop."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ..validation import Options
from .base import BaseMLP
from .docs import BPROP_PARAMETERS, SHARED_ATTRIBUTES, SKLEARN_PARAMETERS


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron regressor: a drop-in for scikit-learn's, on bprop.

    Same parameters, defaults, fitted attributes and methods as
    ``sklearn.neural_network.MLPRegressor`` (1.9), for one or several
    outputs, with ``sample_weight`` and ``partial_fit``. The network is a
    bprop `Sequential` (``model_``) trained by `bprop.training.Trainer`.

    Beyond scikit-learn: ``dropout``, ``layers``, ``callbacks``,
    ``restore_best_weights``, ``validation_loss_curve_``, ``model_`` and
    ``hidden_activations(X)``.

    Parameters
    ----------
    loss : {{'squared_error', 'poisson'}}, default='squared_error'
        'squared_error' is half the squared error with an identity output;
        'poisson' is half the Poisson deviance with an exp output (a log
        link) and needs ``y >= 0``.
    {SKLEARN_PARAMETERS}
    {BPROP_PARAMETERS}

    Attributes
    ----------
    {SHARED_ATTRIBUTES}

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from bprop.estimators import MLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1, random_state=0)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", random_state=0)
    >>> reg.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints = {
        **BaseMLP._parameter_constraints,
        "loss": [Options(str, {"squared_error", "poisson"})],
    }
    _is_classifier = False

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dropout: Any = 0.0,
        layers: list | None = None,
        callbacks: list | None = None,
        restore_best_weights: bool | None = None,
    ) -> None:
        self._store_params(locals())

    def _validate_input(
        self, X: Any, y: Any, incremental: bool, reset: bool
    ) -> tuple[np.ndarray, np.ndarray, None]:
        X, y = self._check_X_y(X, y, reset, y_numeric=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson regression."
            )
        return X, y.astype(X.dtype, copy=False).reshape(len(y), -1), None

    def _output_layer(self) -> tuple[str, str]:
        """scikit-learn's output activation, and the registered loss it is fused with."""
        if self.loss == "poisson":
            return "exp", "PoissonDeviance"
        return "identity", "SquaredError"

    def _n_outputs(self, T: np.ndarray) -> int:
        return T.shape[1]

    def _loss_scale(self) -> float:
        # scikit-learn reports the squared error as a mean over the outputs
        # (its gradient is that of the sum, as bprop's SquaredError's is)
        return 1.0 / self.n_outputs_ if self.loss == "squared_error" else 1.0

    def _validation_score(self, raw: np.ndarray, T: np.ndarray, sw: Any) -> float:
        pred = self._loss.predict(raw)
        if not np.isfinite(pred).all():
            return np.nan
        if pred.shape[1] == 1:
            pred, T = pred.ravel(), T.ravel()
        from sklearn.metrics import r2_score  # on first use: 3 MB that fit does not need

        return float(r2_score(T, pred, sample_weight=sw))

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the trained network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The output function applied to the network's outputs: the
            identity, or ``exp`` for ``loss='poisson'``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        """
        check_is_fitted(self)
        # the loss's own inverse link: exp for PoissonDeviance, the identity for SquaredError
        pred = self._loss.predict(self._forward(self._check_X(X, reset=False)))
        return pred.ravel() if pred.shape[1] == 1 else pred

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object

        Raises
        ------
        ValueError
            With ``early_stopping``, or data that does not fit the network.
        """
        return self._fit(X, y, sample_weight, incremental=True)
