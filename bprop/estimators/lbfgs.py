"""The 'lbfgs' solver: scipy's L-BFGS-B on the full batch, with bprop's backward as gradient.

L-BFGS needs the loss and its gradient at any parameter vector. One call of
`FullBatchObjective` writes the vector into the network's Parameters, runs
the forward pass and the loss, then the backward pass, and lays every
regularized gradient (``Optimizer.regularized_grad``: ``.grad`` plus the L2
term) end to end in one vector. The vector's layout is the fused engine's
(`bprop.fused.packing.Layout`), in float64 for scipy. This is the
one place the estimators do not go through `bprop.training.Trainer`: L-BFGS is
not a loop over minibatches.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ..fused.packing import Layout
from ..layers import Dropout, Sequential
from ..layers.base import leaf_layers
from ..losses.base import Loss
from ..metrics import no_trace
from ..optim.base import Optimizer

#: scikit-learn's message when a fit ends with NaN or inf weights, word for word
NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain "
    "large values and need to be preprocessed."
)


class FullBatchObjective:
    """The full-batch loss and its gradient at a parameter vector, for scipy.

    The objective is ``L(theta) + 0.5 * alpha * ||W||^2 / sum(w)``, where L is
    the (weighted) mean loss and W runs over the decayed parameters (the
    weight matrices, not the intercepts), as in scikit-learn.

    Parameters
    ----------
    model : Sequential
    loss : Loss
    X : ndarray of shape (n_samples, n_features)
    target : ndarray
        What ``loss`` takes: labels (n_samples,) or values (n_samples, n_outputs).
    sample_weight : ndarray of shape (n_samples,) or None
    alpha : float
        scikit-learn's L2 strength.

    Attributes
    ----------
    data_loss, penalty : float
        The two terms at the last evaluated vector.
    finite : bool
        Whether the objective and its gradient were finite at the last vector.
    non_finite : int
        How many evaluations gave a NaN or inf objective or gradient.
    """

    def __init__(
        self,
        model: Sequential,
        loss: Loss,
        X: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None,
        alpha: float,
    ) -> None:
        self.model, self.loss, self.X, self.target = model, loss, X, target
        self.sample_weight = sample_weight
        self.params = model.parameters()
        self.layout = Layout(self.params)
        n = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        # the optimizers' own weight decay, never stepped: g + (alpha / n) * W where p.decay
        self.l2 = Optimizer(self.params, lr=1.0, weight_decay=float(alpha) / n)
        self.data_loss = self.penalty = 0.0
        self.finite, self.non_finite = True, 0

    def flat(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """One array per parameter, laid end to end in one float64 vector (scipy's dtype).

        Parameters
        ----------
        arrays : sequence of ndarray
            Shaped like the parameters, in ``model.parameters()`` order.

        Returns
        -------
        theta : ndarray of shape (n_params,)
        """
        theta = np.empty(self.layout.size, dtype=np.float64)
        self.layout.load(theta, arrays)
        return theta

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The objective and its gradient at ``theta``; leaves the network at ``theta``.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)
            Every parameter, flattened in ``model.parameters()`` order.

        Returns
        -------
        value : float
        grad : ndarray of shape (n_params,), float64
        """
        self.layout.store(theta, [p.value for p in self.params])  # cast to each dtype
        y = self.model.forward(self.X)
        self.data_loss = self.loss.forward(y, self.target, self.sample_weight)
        self.model.backward(self.loss.backward(), input_grad=False)
        decayed = [p.value.ravel() for p in self.params if p.decay]
        self.penalty = sum(0.5 * self.l2.weight_decay * float(np.dot(w, w)) for w in decayed)
        grads = self.flat([self.l2.regularized_grad(p) for p in self.params])
        value = self.data_loss + self.penalty
        self.finite = bool(np.isfinite(value) and np.isfinite(grads).all())
        self.non_finite += not self.finite
        return value, grads


def fit_lbfgs(
    model: Sequential,
    loss: Loss,
    X: np.ndarray,
    target: np.ndarray,
    sample_weight: np.ndarray | None,
    *,
    alpha: float,
    max_iter: int,
    max_fun: int,
    tol: float,
    loss_scale: float,
    verbose: bool,
) -> tuple[int, float]:
    """Minimise the full-batch objective with L-BFGS-B, leaving the network at the solution.

    Parameters
    ----------
    model : Sequential
        Trained in place.
    loss : Loss
    X : ndarray of shape (n_samples, n_features)
    target : ndarray
        What ``loss`` takes.
    sample_weight : ndarray of shape (n_samples,) or None
    alpha : float
        scikit-learn's L2 strength.
    max_iter, max_fun : int
        Limits on the iterations and the objective evaluations.
    tol : float
        scipy's ``gtol``.
    loss_scale : float
        Factor from bprop's loss to the one scikit-learn reports (``loss_``).
    verbose : bool
        Print the objective after every iteration.

    Returns
    -------
    n_iter : int
        Iterations run (at most ``max_iter``).
    loss : float
        scikit-learn's ``loss_`` at the solution (with the L2 term).

    Raises
    ------
    ValueError
        If the network has Dropout (the objective must be deterministic), or
        scikit-learn's "non-finite parameter weights" when the objective or
        its gradient is NaN or inf at the solution, or L-BFGS stopped
        abnormally on such values (inputs too large: every step overflows).

    Warns
    -----
    ConvergenceWarning
        When L-BFGS stopped before converging.
    """
    if any(isinstance(layer, Dropout) for layer in leaf_layers(model)):
        raise ValueError(
            "Dropout needs a stochastic solver: use solver='sgd' or 'adam', or no dropout"
        )
    if sample_weight is not None and not (sample_weight > 0).all():
        keep = sample_weight > 0  # zero-weight rows change nothing but the cost
        X, target, sample_weight = X[keep], target[keep], sample_weight[keep]
    objective = FullBatchObjective(model, loss, X, target, sample_weight, alpha)
    model.train()
    iteration = 0

    def report(theta: np.ndarray) -> None:
        nonlocal iteration
        iteration += 1
        if verbose:
            print(f"Iteration {iteration}, loss = {objective.data_loss + objective.penalty:.8f}")

    # full-batch caches would stay in the layers (and in pickles): drop them after
    with no_trace(model, loss):
        result = scipy.optimize.minimize(
            objective,
            objective.flat([p.value for p in objective.params]),
            method="L-BFGS-B",
            jac=True,
            callback=report,
            options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
        )
        objective(result.x)  # leaves the network at the solution
    # scikit-learn raises when its weights end non-finite; here L-BFGS keeps the last
    # finite point, so a non-finite objective there, or a line search that met only
    # NaN/inf (status 2: ABNORMAL), is that same failure: a useless model otherwise
    if not objective.finite or (result.status == 2 and objective.non_finite):
        raise ValueError(
            f"{NON_FINITE} (L-BFGS met a NaN or inf loss or gradient after "
            f"{result.nit} iteration(s))"
        )
    n_iter = min(result.nit, max_iter)
    if result.status != 0:
        _warn_not_converged(result, n_iter, max_iter)
    return n_iter, objective.data_loss * loss_scale + objective.penalty


def _warn_not_converged(result: Any, n_iter: int, max_iter: int) -> None:
    """scikit-learn's ConvergenceWarning for L-BFGS, word for word."""
    msg = f"lbfgs failed to converge after {n_iter} iteration(s) (status={result.status}):\n"
    msg += f"{result.message}\n"
    if n_iter == max_iter:
        msg += (
            f"\nIncrease the number of iterations to improve the convergence (max_iter={max_iter})."
        )
    msg += (
        "\nYou might also want to scale the data as shown in:\n"
        "    https://scikit-learn.org/stable/modules/preprocessing.html"
    )
    warnings.warn(msg, ConvergenceWarning, stacklevel=5)
