"""`Diagnostics`: why a deep network does not learn, layer by layer and epoch by epoch.

The lectures' checklist for a network that will not train: are the gradients
of the first layers vanishing (or exploding)? Are the activations centred,
with a sensible spread? How many ReLU units are dead (zero for every input),
how many sigmoid/tanh units saturated (flat, so no gradient flows back)?

`Diagnostics` records, for every layer of the model and every epoch:

- ``grad_norm.NAME``: the L2 norm of each parameter's gradient, averaged over
  the epoch's minibatches (read after ``optimizer.step()``, so after any
  gradient clipping);
- ``act_mean``, ``act_std``: mean and standard deviation of the layer's
  output on a fixed probe batch, in evaluation mode, at the end of the epoch;
- ``dead_fraction`` (ReLU): the fraction of units that output 0 for every
  probe sample;
- ``saturated_fraction`` (Sigmoid, Tanh): the fraction of outputs within
  ``1 - saturation`` of an asymptote (``|tanh| > saturation``; the sigmoid
  ``y`` read as ``2y - 1``, which is ``tanh(x / 2)``).

Rows are tidy: one per (epoch, layer, quantity), ready for a CSV file or a
pivot table.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.sparse import issparse

from ..layers.activations import ReLU, Sigmoid, Tanh
from ..layers.base import Layer, leaf_layers
from ..modelfile import atomic_write
from ..registry import register
from ..validation import RowSource, check_unit_interval
from .callbacks import Callback

if TYPE_CHECKING:
    from .trainer import Trainer

COLUMNS = ("epoch", "layer", "type", "quantity", "value")


def probe_rows(x: Any, n: int) -> Any:
    """The first ``n`` rows of ``x``, without reading or densifying the rest.

    Parameters
    ----------
    x : array-like, scipy.sparse matrix or RowSource, shape (N, ...)
    n : int

    Returns
    -------
    ndarray, shape (min(n, N), ...), or a CSR matrix for a sparse x
        A RowSource (a memory-mapped file) reads only these rows.
    """
    if issparse(x):
        return x[:n].tocsr()
    if isinstance(x, RowSource) and not isinstance(x, np.ndarray):
        return np.asarray(x[:n])
    return np.asarray(x)[:n]


@register("callback")
class Diagnostics(Callback):
    """Per-layer gradient norms and activation statistics, every epoch.

    Parameters
    ----------
    x : array-like, scipy.sparse matrix or RowSource, shape (n_samples, n_features), or None
        The probe batch for the activation statistics (the first
        ``max_samples`` rows are used: a sparse matrix's stay sparse, as the
        first Linear takes them; a RowSource, such as a memory-mapped file,
        reads only those). None: only gradient norms are recorded,
        unless the trainer exposes its current minibatch as ``trainer.batch_x``,
        whose first batch is then kept as the probe.
    max_samples : int, default=256
        At most this many probe rows.
    saturation : float, default=0.99
        A tanh output with ``|y| > saturation`` counts as saturated, in [0, 1).
    csv_path, png_path : str or Path or None
        Where `on_train_end` writes `to_csv` and `plot` (nothing when None).

    Raises
    ------
    ValueError
        If ``saturation`` is not in [0, 1).

    Attributes
    ----------
    rows : list of dict
        ``{"epoch", "layer", "type", "quantity", "value"}`` records.

    Examples
    --------
    >>> from bprop.layers import Linear, ReLU, Sequential
    >>> from bprop.losses import SquaredError
    >>> from bprop.optim import SGD
    >>> from bprop.training import Trainer
    >>> X = np.random.default_rng(0).normal(size=(64, 3)); y = X[:, :1]
    >>> net = Sequential(Linear(3, 8, rng=0), ReLU(), Linear(8, 1, rng=1))
    >>> diag = Diagnostics(X)
    >>> _ = Trainer(net, SquaredError(), SGD(net.parameters(), lr=0.1), rng=0,
    ...             callbacks=[diag]).fit(X, y, epochs=3)
    >>> sorted(diag.gradient_norms())
    ['0 Linear.bias', '0 Linear.weight', '2 Linear.bias', '2 Linear.weight']
    >>> len(diag.gradient_norms()["0 Linear.weight"])
    3
    """

    reads_gradients = True  # the gradient norms: the Trainer trains on the reference path

    def __init__(
        self,
        x: Any = None,
        *,
        max_samples: int = 256,
        saturation: float = 0.99,
        csv_path: str | Path | None = None,
        png_path: str | Path | None = None,
    ) -> None:
        self.x = None if x is None else probe_rows(x, max_samples)
        self.max_samples = int(max_samples)
        self.saturation = check_unit_interval("saturation", saturation)
        self.csv_path, self.png_path = csv_path, png_path
        self.rows: list[dict[str, Any]] = []
        self._sums: dict[tuple[int, str], float] = {}
        self._batches = 0

    # --- the hooks -------------------------------------------------------------------

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        self._sums, self._batches = {}, 0

    def on_batch_end(self, trainer: Trainer, batch: int, loss: float) -> None:
        if self.x is None and getattr(trainer, "batch_x", None) is not None:
            self.x = np.array(trainer.batch_x[: self.max_samples])  # a copy: buffers are reused
        for i, layer in enumerate(leaf_layers(trainer.model)):
            for p in layer.parameters():
                key = (i, p.name)
                self._sums[key] = self._sums.get(key, 0.0) + float(np.linalg.norm(p.grad))
        self._batches += 1

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        layers = leaf_layers(trainer.model)
        for (i, name), total in self._sums.items():
            self._add(epoch + 1, i, layers[i], f"grad_norm.{name}", total / self._batches)
        if self.x is not None:
            self._activation_stats(trainer.model, layers, epoch + 1)

    def on_train_end(self, trainer: Trainer) -> None:
        if self.csv_path is not None:
            self.to_csv(self.csv_path)
        if self.png_path is not None:
            self.plot(self.png_path)

    # --- what is measured ------------------------------------------------------------

    def _activation_stats(self, model: Layer, layers: list[Layer], epoch: int) -> None:
        was_training = model.training
        model.eval()  # no dropout, BatchNorm on its running statistics, no statistics updated
        try:
            dtype = next((p.dtype for p in model.parameters()), np.float64)
            a = self.x.astype(dtype, copy=False)
            for i, layer in enumerate(layers):
                a = layer.forward(a)
                self._add(epoch, i, layer, "act_mean", float(a.mean()))
                self._add(epoch, i, layer, "act_std", float(a.std()))
                if isinstance(layer, ReLU):
                    dead = np.all(a <= 0, axis=0)  # never fires on any probe sample
                    self._add(epoch, i, layer, "dead_fraction", float(dead.mean()))
                elif isinstance(layer, (Sigmoid, Tanh)):
                    centred = 2 * a - 1 if isinstance(layer, Sigmoid) else a
                    saturated = np.abs(centred) > self.saturation
                    self._add(epoch, i, layer, "saturated_fraction", float(saturated.mean()))
        finally:
            model.train(was_training)

    def _add(self, epoch: int, i: int, layer: Layer, quantity: str, value: float) -> None:
        self.rows.append({"epoch": epoch, "layer": i, "type": type(layer).__name__,
                          "quantity": quantity, "value": value})

    # --- reading the record ----------------------------------------------------------

    def series(self, quantity: str) -> dict[str, list[float]]:
        """One quantity's values per layer, epoch by epoch.

        Parameters
        ----------
        quantity : str
            ``"act_mean"``, ``"act_std"``, ``"dead_fraction"``,
            ``"saturated_fraction"`` or ``"grad_norm.NAME"``.

        Returns
        -------
        dict of str to list of float
            ``{"INDEX TYPE": [value per epoch]}`` for the layers that have
            the quantity (``"1 ReLU"``); empty for an unknown quantity.
            Fractions are in [0, 1]; means, deviations and norms are in the
            units of the layer's output or gradient.
        """
        out: dict[str, list[float]] = {}
        for r in self.rows:
            if r["quantity"] == quantity:
                out.setdefault(f"{r['layer']} {r['type']}", []).append(r["value"])
        return out

    def gradient_norms(self) -> dict[str, list[float]]:
        """Every parameter's mean gradient norm, epoch by epoch.

        Returns
        -------
        dict of str to list of float
            ``{"INDEX TYPE.PARAM": [norm per epoch]}`` (``"0 Linear.weight"``):
            the L2 norm of ``dL/dp`` averaged over the epoch's minibatches,
            in loss units per parameter unit.
        """
        out: dict[str, list[float]] = {}
        for r in self.rows:
            if r["quantity"].startswith("grad_norm."):
                name = r["quantity"].removeprefix("grad_norm.")
                out.setdefault(f"{r['layer']} {r['type']}.{name}", []).append(r["value"])
        return out

    def to_csv(self, path: str | Path) -> Path:
        """Write the rows as CSV (columns ``epoch, layer, type, quantity, value``).

        Parameters
        ----------
        path : str or Path
            The file, overwritten; values written with 6 significant digits.

        Returns
        -------
        Path
            ``path``.
        """
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for r in self.rows:
            writer.writerow({**r, "value": f"{r['value']:.6g}"})
        return atomic_write(path, text.getvalue())  # a crash never leaves half a file

    def plot(self, path: str | Path) -> Path:
        """Draw each weight's gradient norm over the epochs, log scale, one line per layer.

        Uses matplotlib's file-only Agg backend (no display needed).

        Parameters
        ----------
        path : str or Path
            The image file; its suffix (``.png``, ``.svg``, ...) chooses the
            format. A norm of 0 is left out (log scale).

        Returns
        -------
        Path
            ``path``.
        """
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        norms = self.gradient_norms()
        weights = {k: v for k, v in norms.items() if k.endswith(".weight")} or norms
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, values in weights.items():
            positive = [v if v > 0 else math.nan for v in values]
            ax.plot(range(1, len(values) + 1), positive, marker="o", ms=3, label=label)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean gradient L2 norm")
        ax.set_title("gradient norm per layer")
        ax.legend(fontsize="small")
        fig.tight_layout()
        fmt = Path(path).suffix.lstrip(".") or "png"
        try:
            atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=100))
        finally:
            plt.close(fig)
        return Path(path)

    def state_dict(self) -> dict[str, Any]:
        """The rows recorded so far, for a checkpoint.

        Returns
        -------
        dict
            ``{"rows": [...]}``, copies of `rows`.
        """
        return {"rows": [dict(r) for r in self.rows]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the record of a resumed run.

        Parameters
        ----------
        state : dict
            What `state_dict` returned; no ``"rows"`` starts an empty record.
        """
        self.rows = [dict(r) for r in state.get("rows", [])]
