"""`MLPClassifier`: scikit-learn's MLPClassifier on bprop's layers and training loop."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted

from ..layers.activations import class_probabilities
from ..validation import NONE, InstanceOf, Options
from .base import BaseMLP
from .docs import BPROP_PARAMETERS, SHARED_ATTRIBUTES, SKLEARN_PARAMETERS


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron classifier: a drop-in for scikit-learn's, on bprop.

    Same parameters, defaults, fitted attributes and methods as
    ``sklearn.neural_network.MLPClassifier`` (1.9): binary, multiclass and
    multilabel targets, string or integer labels, ``sample_weight``,
    ``partial_fit``. The network is a bprop `Sequential` (``model_``) trained
    by `bprop.training.Trainer`; the output layer is softmax (multiclass) or
    logistic (binary, multilabel), fused with the cross-entropy loss.

    Beyond scikit-learn: ``class_weight``, ``dropout``, ``layers``,
    ``callbacks``, ``restore_best_weights``, ``validation_loss_curve_``,
    ``model_`` and ``hidden_activations(X)``.

    Parameters
    ----------
    {SKLEARN_PARAMETERS}
    class_weight : dict, 'balanced' or None, default=None
        bprop: weights per class, multiplied into ``sample_weight``
        (``{{label: weight}}``; 'balanced' is ``n_samples / (n_classes * count)``).
    {BPROP_PARAMETERS}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (for multilabel targets, the label indices).
    {SHARED_ATTRIBUTES}

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from bprop.estimators import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints = {
        **BaseMLP._parameter_constraints,
        "class_weight": [InstanceOf(dict, "dict"), Options(str, {"balanced"}), NONE],
    }
    _is_classifier = True

    def __init__(
        self,
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
        class_weight: dict | str | None = None,
        dropout: Any = 0.0,
        layers: list | None = None,
        callbacks: list | None = None,
        restore_best_weights: bool | None = None,
    ) -> None:
        self._store_params(locals())

    # ------------------------------------------------------------- the target

    def _validate_input(
        self, X: Any, y: Any, incremental: bool, reset: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        X, y = self._check_X_y(X, y, reset)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        if self._label_binarizer.y_type_ == "multiclass":
            # SoftmaxNLL takes label indices: no (n, n_classes) one-hot is built
            T = np.searchsorted(self.classes_, y)
        else:
            T = self._label_binarizer.transform(y).astype(X.dtype)
        return X, T, self._class_weights(y, incremental)

    def _class_weights(self, y: np.ndarray, incremental: bool) -> np.ndarray | None:
        if self.class_weight is None:
            return None
        if incremental and isinstance(self.class_weight, str):
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit. In order to use "
                "'balanced' weights, use compute_class_weight('balanced', classes=classes, "
                "y=y) and pass the resulting weights as the class_weight parameter."
            )
        return compute_sample_weight(self.class_weight, y)

    def _output_layer(self) -> tuple[str, str]:
        """scikit-learn's output activation, and the registered loss it is fused with."""
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax", "SoftmaxNLL"
        return "logistic", "SigmoidCrossEntropy"

    def _n_outputs(self, T: np.ndarray) -> int:
        return len(self.classes_) if T.ndim == 1 else T.shape[1]

    def _loss_scale(self) -> float:
        return 1.0

    def _validation_score(self, raw: np.ndarray, T: np.ndarray, sw: Any) -> float:
        if T.ndim == 1:
            y_true = self.classes_[T]
        else:
            y_true = self._label_binarizer.inverse_transform(T)
        # sklearn.metrics on first use: 3 MB of modules that fit does not need
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y_true, self._labels(raw), sample_weight=sw))

    # ------------------------------------------------------------- predicting

    def _proba(self, raw: np.ndarray) -> np.ndarray:
        """Probabilities from the network's raw outputs: (n_samples, n_classes)."""
        return class_probabilities(raw, multilabel=self.out_activation_ == "logistic")

    def _labels(self, raw: np.ndarray) -> np.ndarray:
        proba = self._proba(raw)
        # one logistic unit: the label binarizer thresholds the positive class's column
        return self._label_binarizer.inverse_transform(
            proba[:, 1] if self.n_outputs_ == 1 else proba
        )

    def predict(self, X: Any) -> np.ndarray:
        """Predict the class labels (a 0/1 matrix for multilabel targets).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        """
        check_is_fitted(self)
        return self._labels(self._forward(self._check_X(X, reset=False)))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of each class, in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            Softmax of the outputs (multiclass), a sigmoid per label
            (multilabel), or ``[1 - p, p]`` for two classes.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        """
        check_is_fitted(self)
        return self._proba(self._forward(self._check_X(X, reset=False)))

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of ``predict_proba(X)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        """
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    @available_if(lambda est: est._check_solver())
    def partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None
    ) -> MLPClassifier:
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array of shape (n_classes,), default=None
            Every class of the whole data set; required on the first call.

        Returns
        -------
        self : object

        Raises
        ------
        ValueError
            Without ``classes`` on the first call, with other classes later,
            with ``early_stopping`` or ``class_weight='balanced'``.
        """
        if self._first_partial_fit(classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def _first_partial_fit(self, classes: Any) -> bool:
        """scikit-learn's first-call check for ``classes=``; sets ``classes_`` on the first call."""
        current = getattr(self, "classes_", None)
        if current is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is None:
            return False
        if current is not None:
            if not np.array_equal(current, unique_labels(classes)):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on last call to "
                    f"partial_fit, was: {current!r}"
                )
            return False
        self.classes_ = unique_labels(classes)
        return True

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
