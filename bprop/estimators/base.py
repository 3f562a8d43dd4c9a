"""`BaseMLP`: what MLPClassifier and MLPRegressor share, the training logic included.

``fit`` checks the parameters (`bprop.validation.validate_params`) and the data, builds the
network on the first pass (`network.build_network`), then trains it with a
solver: the stochastic ones ('sgd', 'adam') through `bprop.training.Trainer`
(`_fit_stochastic`, with scikit-learn's rules from `stochastic`), 'lbfgs'
through scipy's L-BFGS-B with bprop's backward as the gradient (`lbfgs`).
A subclass says what the targets are: how to encode them, the output
activation and its loss, and how to score a prediction.
"""

from __future__ import annotations

import inspect
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..layers import Linear
from ..layers.base import leaf_layers
from ..metrics import no_trace, predict_raw
from ..registry import lookup
from ..training.trainer import DivergedError, Trainer
from ..validation import (
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
from .lbfgs import NON_FINITE, fit_lbfgs
from .network import build_network, linear_layers, nd_allowed
from .stochastic import (
    HeldOut,
    Record,
    SklearnEpochs,
    SklearnShuffle,
    batch_size_for,
    make_optimizer,
    split_validation,
)


class BaseMLP(BaseEstimator):
    """Shared machinery of the MLP estimators; use a subclass.

    A subclass lists every parameter in its ``__init__`` signature (scikit-
    learn's ``get_params`` and ``clone`` read them from there) and stores them
    with `_store_params`. It implements ``_validate_input``, ``_output_layer``,
    ``_n_outputs``, ``_loss_scale`` and ``_validation_score``.
    """

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

    def _store_params(self, arguments: dict[str, Any]) -> None:
        """Store each ``__init__`` argument under its own name, and nothing else.

        scikit-learn's contract: ``__init__`` only stores its arguments. The
        subclasses call ``self._store_params(locals())``, so the assignments
        are written once, here.
        """
        for name in inspect.signature(type(self).__init__).parameters:
            if name != "self":
                setattr(self, name, arguments[name])

    # ------------------------------------------------------------------ fitting

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BaseMLP:
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data. A sparse matrix is used as it is, never densified:
            the first layer computes ``X @ W`` and ``X.T @ dy`` on its non-zeros.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classification) or real numbers (regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights: the loss becomes ``sum(w * l) / sum(w)``.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            For a bad parameter (scikit-learn's message), bad data or weights,
            or a solver that ended with non-finite weights.
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
            self.n_iter_, self.loss_ = fit_lbfgs(
                self.model_,
                self._loss,
                X,
                T,
                sw,
                alpha=self.alpha,
                max_iter=self.max_iter,
                max_fun=self.max_fun,
                tol=self.tol,
                loss_scale=self._loss_scale(),
                verbose=bool(self.verbose),
            )
        else:
            self._fit_stochastic(X, T, sw, incremental, fresh=first_pass)
        self.model_.eval()  # model_ is for predicting now (Dropout off); training turns it back
        if not all(np.isfinite(p.value).all() for p in self.model_.parameters()):
            raise ValueError(NON_FINITE)
        return self

    def _initialize(self, X: np.ndarray, T: np.ndarray) -> None:
        """Build the network and reset every learned attribute (a fresh fit)."""
        self.n_outputs_ = self._n_outputs(T)
        self.out_activation_, loss_name = self._output_layer()
        self._loss = lookup("loss", loss_name)()
        self.model_ = build_network(
            int(np.prod(X.shape[1:])),  # N-D samples: the width Flatten makes of them
            self.n_outputs_,
            hidden_layer_sizes=self.hidden_layer_sizes,
            activation=self.activation,
            dropout=self.dropout,
            layers=self.layers,
            dtype=X.dtype,
            random_state=self._random_state,
        )
        self.n_layers_ = len(linear_layers(self.model_)) + 1
        self.n_iter_ = self.t_ = 0
        self._optimizer = None
        self._record = Record.start(self.model_.parameters(), early_stopping=self.early_stopping,
                                    keep_best=self._restores_best())
        if self.solver != "lbfgs":
            self._publish(self._record)

    def _fit_stochastic(
        self, X: np.ndarray, T: np.ndarray, sw: np.ndarray | None, incremental: bool,
        fresh: bool = True,
    ) -> None:
        """Train for up to ``max_iter`` epochs (one when incremental) with bprop's Trainer."""
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        held_out = None
        if self.early_stopping:
            X, T, sw, (X_val, T_val, sw_val) = split_validation(
                X,
                T,
                sw,
                validation_fraction=self.validation_fraction,
                stratify=self._is_classifier and self.n_outputs_ == 1,
                random_state=self._random_state,
            )
            held_out = HeldOut(
                X_val, T_val, sw_val, raw=self._forward, score=self._validation_score
            )
        n_train = X.shape[0]
        batch_size = batch_size_for(self.batch_size, n_train)
        if sw is not None and not (sw > 0).all():
            # zero-weight samples change nothing but the batch boundaries; dropping
            # them keeps every batch's weight positive
            keep = sw > 0
            X, T, sw = X[keep], T[keep], sw[keep]
        if not incremental or self._optimizer is None:  # partial_fit keeps the momenta
            self._optimizer = make_optimizer(
                self.solver,
                self.model_.parameters(),
                learning_rate_init=self.learning_rate_init,
                momentum=self.momentum,
                nesterovs_momentum=self.nesterovs_momentum,
                beta_1=self.beta_1,
                beta_2=self.beta_2,
                epsilon=self.epsilon,
            )
        restore = self._restores_best()
        if restore and not self._record.best_params:  # restoring was off when the fit began
            self._record.best_params = [p.value.copy() for p in self.model_.parameters()]
        epochs = SklearnEpochs(
            self._record,
            n_train=n_train,
            held_out=held_out,
            loss_scale=self._loss_scale(),
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            learning_rate=self.learning_rate if self.solver == "sgd" else "constant",
            learning_rate_init=self.learning_rate_init,
            power_t=self.power_t,
            restore_best=restore,
            verbose=bool(self.verbose),
        )
        trainer = Trainer(
            self.model_,
            self._loss,
            self._optimizer,
            batch_size=batch_size,
            shuffle=self.shuffle,
            rng=SklearnShuffle(self._random_state),
            callbacks=[epochs, *(self.callbacks or [])],
            l2=self.alpha,
        )
        # warm_start and partial_fit continue a training: the user's callbacks keep their
        # state; a plain fit is a new training and they start afresh (callbacks.starts_fresh)
        trainer.continues_training = not fresh
        diverged = None
        try:
            trainer.fit(X, T, 1 if incremental else self.max_iter, sample_weight=sw)
        except DivergedError as err:
            epochs.diverged()
            diverged = err
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=4)
        self._record = epochs.record
        self._publish(self._record)
        if diverged is not None and not restore:
            raise ValueError(f"{NON_FINITE} ({diverged})") from diverged
        if not incremental and not self._record.stopped and self.n_iter_ == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )
        if restore:
            for p, best in zip(self.model_.parameters(), self._record.best_params, strict=True):
                p.value[...] = best
            if self._record.best_buffers:  # BatchNorm's running statistics of that epoch
                buffers = self.model_.buffers().values()
                for b, best in zip(buffers, self._record.best_buffers, strict=True):
                    b[...] = best

    def _restores_best(self) -> bool:
        # None is scikit-learn's rule: the best weights come back with early stopping
        rule = self.restore_best_weights
        return bool(self.early_stopping if rule is None else rule)

    def _publish(self, record: Record) -> None:
        """scikit-learn's fitted attributes, from the record of the epochs."""
        self.n_iter_, self.t_ = record.n_iter, record.t
        if record.loss is not None:
            self.loss_ = record.loss
        self.loss_curve_ = record.loss_curve
        self.best_loss_ = record.best_loss
        self.validation_scores_ = record.validation_scores
        self.validation_loss_curve_ = record.validation_loss_curve
        self.best_validation_score_ = record.best_validation_score

    def _check_X_y(self, X: Any, y: Any, reset: bool, **kwargs: Any) -> tuple[Any, np.ndarray]:
        """``X`` as `_check_X` takes it, and ``y`` (one column made 1-D, with
        scikit-learn's warning); ``kwargs`` go to ``validate_data`` (``y_numeric``)."""
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            dtype=(np.float64, np.float32), reset=reset,
            allow_nd=nd_allowed(X, self.layers, type(self).__name__),  # images, then Flatten
            **kwargs,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _check_X(self, X: Any, reset: bool) -> Any:
        # a sparse X stays sparse: the first Linear multiplies it as it is;
        # N-D samples only when the layers start with Flatten
        return validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=reset,
            allow_nd=nd_allowed(X, self.layers, type(self).__name__),
        )

    # --------------------------------------------------------------- prediction

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """The network's raw outputs (before the output activation), in eval mode.

        `bprop.metrics.predict_raw`, as the Trainer and the command line
        predict: in chunks, leaving no caches in the layers.
        """
        return predict_raw(self.model_, X)

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

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        """
        check_is_fitted(self)
        x = self._check_X(X, reset=False).astype(self.coefs_[0].dtype, copy=False)
        layers = leaf_layers(self.model_)
        found: list[np.ndarray] = []
        self.model_.eval()
        with no_trace(self.model_):
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
        model; ``coefs_[i] = W`` copies W into layer i (same shape), and
        assigning a new list copies every value in.
        """
        model = self._fitted_model("coefs_")
        return _WriteThrough([layer.weight for layer in linear_layers(model)], "coefs_")

    @coefs_.setter
    def coefs_(self, values: list[np.ndarray]) -> None:
        coefs = self.coefs_
        if len(values) != len(coefs):
            raise ValueError(f"coefs_ needs {len(coefs)} arrays, got {len(values)}")
        for i, v in enumerate(values):
            coefs[i] = v

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The bias vectors, ``intercepts_[i]`` of shape (units_i+1,); item assignment
        writes through to the network, as for `coefs_`."""
        return _WriteThrough([layer.bias for layer in linear_layers(
            self._fitted_model("intercepts_"))], "intercepts_")

    @intercepts_.setter
    def intercepts_(self, values: list[np.ndarray]) -> None:
        intercepts = self.intercepts_
        if len(values) != len(intercepts):
            raise ValueError(f"intercepts_ needs {len(intercepts)} arrays, got {len(values)}")
        for i, v in enumerate(values):
            intercepts[i] = v

    def _fitted_model(self, name: str) -> Any:
        """``model_``, or scikit-learn's NotFittedError (an AttributeError) naming ``name``."""
        if "model_" not in vars(self):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet: "
                                 f"{name} exists after fit")
        return self.model_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class _WriteThrough(list):
    """The arrays of some Parameters, as a list whose item assignment writes into them.

    scikit-learn's ``coefs_`` is a plain list the estimator predicts from, so
    ``est.coefs_[1] = W`` changes its predictions; here the list is built on
    each access, so assignment must copy into the network's own array.
    """

    def __init__(self, params: list[Any], name: str) -> None:
        super().__init__(p.value for p in params)
        self._params, self._name = params, name

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            raise TypeError(f"{self._name}[...] takes one index; assign arrays one at a time")
        p = self._params[index]
        v = np.asarray(value)
        if v.shape != p.value.shape:
            raise ValueError(f"{self._name}[{index}] has shape {p.value.shape}, got an array "
                             f"of shape {v.shape}")
        if not np.isfinite(v).all():
            raise ValueError(f"{self._name}[{index}] must be finite")
        p.value[...] = v
        super().__setitem__(index, p.value)

    def _fixed(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{self._name} has one array per layer: its length is the network's; "
                        f"assign {self._name}[i] = array to change a layer")

    # the layer count is the network's: growing or shrinking the list would do nothing
    append = extend = insert = pop = remove = clear = __delitem__ = __iadd__ = __imul__ = _fixed
