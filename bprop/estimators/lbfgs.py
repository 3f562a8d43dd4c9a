"""The 'lbfgs' solver: scipy's L-BFGS-B on the full batch, with bprop's backward as gradient.

L-BFGS needs the loss and its gradient at any parameter vector. One call of
`loss_and_grad` writes the vector into the network's Parameters, runs the
forward pass and the loss, then the backward pass, and packs every
``.grad`` (plus the L2 term) into one vector. This is the one place the
estimators do not go through `bprop.train.Trainer`: L-BFGS is not a loop
over minibatches.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ..layers import Dropout, Sequential
from .network import flat_layers, no_trace


class FullBatchObjective:
    """``loss_and_grad(theta)`` for a network, a loss, data and scikit-learn's L2 term.

    The objective is ``L(theta) + 0.5 * alpha * ||W||^2 / sum(w)`` where L is
    the (weighted) mean loss and W runs over the weight matrices only, as in
    scikit-learn.
    """

    def __init__(
        self,
        model: Sequential,
        loss: Any,
        X: np.ndarray,
        target: np.ndarray,
        sw: np.ndarray | None,
        alpha: float,
    ) -> None:
        self.model, self.loss, self.X, self.target, self.sw = model, loss, X, target, sw
        self.params = model.parameters()
        self.decay = alpha / (X.shape[0] if sw is None else float(sw.sum()))
        self.n_evals = 0

    def pack(self) -> np.ndarray:
        return np.concatenate([p.value.ravel() for p in self.params]).astype(np.float64)

    def unpack(self, theta: np.ndarray) -> None:
        start = 0
        for p in self.params:
            p.value[...] = theta[start : start + p.value.size].reshape(p.value.shape)
            start += p.value.size

    def loss_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self.n_evals += 1
        self.unpack(theta)
        data_loss = self.loss.forward(self.model.forward(self.X), self.target, self.sw)
        self.model.backward(self.loss.backward(), input_grad=False)
        penalty, grads = 0.0, []
        for p in self.params:
            if p.decay:
                w = p.value.ravel()
                penalty += 0.5 * self.decay * float(np.dot(w, w))
                grads.append((p.grad + p.value.dtype.type(self.decay) * p.value).ravel())
            else:
                grads.append(p.grad.ravel())
        self.data_loss, self.penalty = data_loss, penalty
        return data_loss + penalty, np.concatenate(grads).astype(np.float64)


def fit_lbfgs(est: Any, X: np.ndarray, T: np.ndarray, sw: np.ndarray | None) -> None:
    """Minimise the full-batch objective with L-BFGS-B; set ``n_iter_`` and ``loss_``."""
    if any(isinstance(layer, Dropout) for layer in flat_layers(est.model_)):
        raise ValueError(
            "Dropout needs a stochastic solver: use solver='sgd' or 'adam', or no dropout"
        )
    if sw is not None and not (sw > 0).all():
        keep = sw > 0
        X, T, sw = X[keep], T[keep], sw[keep]
    objective = FullBatchObjective(est.model_, est._loss, X, T, sw, est.alpha)
    est.model_.train()
    iteration = [0]

    def report(theta: np.ndarray) -> None:
        iteration[0] += 1
        if est.verbose:
            print(f"Iteration {iteration[0]}, loss = {objective.data_loss + objective.penalty:.8f}")

    # full-batch caches would stay in the layers (and in pickles): drop them after
    with no_trace(est.model_, *flat_layers(est.model_), est._loss):
        result = scipy.optimize.minimize(
            objective.loss_and_grad,
            objective.pack(),
            method="L-BFGS-B",
            jac=True,
            callback=report,
            options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol},
        )
        objective.loss_and_grad(result.x)  # leaves the network at the solution
    est.n_iter_ = min(result.nit, est.max_iter)
    # scikit-learn reports the squared error as a mean over the outputs
    est.loss_ = objective.data_loss * est._loss_scale() + objective.penalty
    if result.status != 0:
        _warn_not_converged(result, est.n_iter_, est.max_iter)


def _warn_not_converged(result: Any, n_iter: int, max_iter: int) -> None:
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
    warnings.warn(msg, ConvergenceWarning, stacklevel=4)
