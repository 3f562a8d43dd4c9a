"""Pictures of a trained network: its decision boundary, its first layer's weights.

The lectures' "visualization, interpreting networks", for the two cases a
small network can show whole:

- `decision_boundary`: a classifier on 2-D data (xor, moons, circles, ...)
  splits the plane into class regions; drawn on a grid with the samples on top;
- `first_layer_weights`: on image data (digits' 8x8 pixels) each hidden unit
  of the first Linear layer is a template ``W[:, j]`` of the image's size;
  drawn as images, red positive, blue negative, on one symmetric scale.

``bprop plot RUN`` (`bprop.cli.plot`) draws both from a run directory. Both
functions use matplotlib's file-only Agg backend and return the figure;
with ``path`` they also write it as PNG.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .layers.base import Layer
from .layers.linear import Linear
from .metrics import predict_raw

__all__ = ["class_grid", "decision_boundary", "first_layer_weights", "first_linear",
           "image_shape_for", "wide_range"]

#: a loss axis whose positive values span more than this many times is drawn on a log scale
LOG_AXIS_FACTOR = 100.0


def wide_range(values: Any, factor: float = LOG_AXIS_FACTOR) -> bool:
    """Whether the positive finite values span more than ``factor`` times: draw them on a log axis.

    One diverging epoch or trial (a loss of 1e6 beside losses near 1) would
    otherwise flatten every other curve into the axis. The run's loss curve
    (``loss_curve.png``) and a sweep's ``sweep.png`` use the same rule.

    Parameters
    ----------
    values : iterable of float
        NaN, infinite and non-positive values are ignored.
    factor : float, default=100
        The largest ratio still drawn on a linear axis.

    Returns
    -------
    bool
    """
    pos = [v for v in values if v > 0 and math.isfinite(v)]
    return bool(pos) and max(pos) > factor * min(pos)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _labels(out: np.ndarray) -> np.ndarray:
    """Class indices from raw outputs: argmax of scores, or the sign of one logit."""
    return (out[:, 0] > 0).astype(np.intp) if out.shape[1] == 1 else np.argmax(out, axis=1)


def decision_boundary(
    model: Layer,
    X: Any,
    y: Any,
    *,
    path: str | Path | None = None,
    class_names: list[Any] | None = None,
    resolution: int = 200,
    title: str = "decision boundary",
    xlabel: str = "x0",
    ylabel: str = "x1",
) -> Any:
    """Draw the class regions of a classifier on 2-D inputs, with the samples.

    Parameters
    ----------
    model : Layer
        Maps (N, 2) inputs to (N, K) class scores, or (N, 1) logits of the
        second of two classes. Left in evaluation mode.
    X : array-like, shape (N, 2)
        The samples to show, in the units the model takes (standardized if
        it was trained so); the grid spans them with a 10% margin.
    y : array-like of int, shape (N,)
        Their class indices (0..K-1), for the points' colours.
    path : str or Path, optional
        Write the figure there as PNG.
    class_names : list, optional
        Labels for the legend (default the indices).
    resolution : int, default=200
        Grid points per axis.
    title, xlabel, ylabel : str

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If X is not (N, 2), y does not match it, or ``resolution < 2``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary needs X of shape (N, 2), got {X.shape}")
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    if resolution < 2:
        raise ValueError(f"resolution must be >= 2, got {resolution}")
    G0, G1, Z, k = class_grid(model, X, resolution)
    k = max(k, int(y.max()) + 1 if len(y) else 0)

    plt = _pyplot()
    cmap = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(5, 4.4), dpi=100)
    levels = np.arange(-0.5, k, 1.0)
    ax.contourf(G0, G1, Z, levels=levels, colors=[cmap(i % 10) for i in range(k)], alpha=0.25)
    ax.contour(G0, G1, Z, levels=levels[1:-1], colors="k", linewidths=0.8)
    names = class_names if class_names is not None else list(range(k))
    for c in range(k):
        mask = y == c
        if mask.any():
            ax.scatter(X[mask, 0], X[mask, 1], s=14, color=cmap(c % 10), edgecolors="k",
                       linewidths=0.3, label=str(names[c]) if c < len(names) else str(c))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize="small", title="class")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, format="png")
    plt.close(fig)
    return fig


def class_grid(model: Layer, X: np.ndarray, resolution: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The class the model predicts on a grid spanning ``X`` with a 10% margin.

    Parameters
    ----------
    model : Layer
    X : ndarray, shape (N, 2)
    resolution : int
        Grid points per axis.

    Returns
    -------
    G0, G1 : ndarray, shape (resolution, resolution)
        The grid's coordinates (`numpy.meshgrid`).
    Z : ndarray of int, shape (resolution, resolution)
        The predicted class index at each point.
    k : int
        The number of classes the outputs can name (at least 2).
    """
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.where(hi > lo, hi - lo, 1.0)
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    G0, G1 = np.meshgrid(g0, g1)
    out = predict_raw(model, np.column_stack([G0.ravel(), G1.ravel()]))
    return G0, G1, _labels(out).reshape(G0.shape), max(2, out.shape[1])


def first_linear(model: Layer) -> Linear:
    """The first `Linear` layer of ``model`` (nested Sequentials opened).

    Raises
    ------
    ValueError
        If the model has none.
    """
    from .layers.base import leaf_layers

    for layer in leaf_layers(model):
        if isinstance(layer, Linear):
            return layer
    raise ValueError("the model has no Linear layer")


def image_shape_for(n_in: int, sample_shape: tuple[int, ...] | None = None
                    ) -> tuple[int, int] | None:
    """The (height, width) to show ``n_in`` input weights as, or None.

    Parameters
    ----------
    n_in : int
        The first Linear layer's input width.
    sample_shape : tuple of int, optional
        The data's sample shape: (C, H, W) or (H, W) images (one channel
        shown, the first, when there are several).

    Returns
    -------
    tuple of int or None
        (H, W) from ``sample_shape``; else (s, s) when ``n_in = s * s`` with
        ``s >= 4`` (digits' 8x8); None otherwise.
    """
    if sample_shape is not None and len(sample_shape) >= 2:
        return int(sample_shape[-2]), int(sample_shape[-1])
    s = math.isqrt(n_in)
    return (s, s) if s >= 4 and s * s == n_in else None


def first_layer_weights(
    model: Layer,
    *,
    image_shape: tuple[int, int] | None = None,
    path: str | Path | None = None,
    max_units: int = 64,
    title: str = "first layer weights",
) -> Any:
    """Draw each hidden unit of the first Linear layer as an image.

    Unit j's weights ``W[:, j]`` (shape (n_in,)) are reshaped to the image
    (the first ``H * W`` inputs: the first channel) and drawn red for
    positive, blue for negative, all units on one scale symmetric about 0,
    so that the units can be compared.

    Parameters
    ----------
    model : Layer
    image_shape : (int, int), optional
        (H, W); default `image_shape_for` of the layer's input width.
    path : str or Path, optional
        Write the figure there as PNG.
    max_units : int, default=64
        At most this many units (the first ones).
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the model has no Linear layer or its inputs are not an image.
    """
    layer = first_linear(model)
    W = np.asarray(layer.weight.value, dtype=np.float64)
    shape = image_shape or image_shape_for(W.shape[0])
    if shape is None or shape[0] * shape[1] > W.shape[0]:
        raise ValueError(f"the first Linear layer takes {W.shape[0]} inputs, not an image "
                         f"of shape {shape}; give image_shape=(H, W)")
    units = min(W.shape[1], max_units)
    cols = math.ceil(math.sqrt(units))
    rows = math.ceil(units / cols)
    scale = float(np.abs(W[:, :units]).max()) or 1.0

    plt = _pyplot()
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols + 1, 1.3 * rows + 0.6), dpi=100,
                             squeeze=False)
    image = None
    for j, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if j >= units:
            ax.axis("off")
            continue
        image = ax.imshow(W[: shape[0] * shape[1], j].reshape(shape), cmap="RdBu_r",
                          vmin=-scale, vmax=scale, interpolation="nearest")
        ax.set_title(str(j), fontsize=7)
    fig.suptitle(f"{title} ({units} of {W.shape[1]} units, {shape[0]}x{shape[1]})")
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="weight")
    if path is not None:
        fig.savefig(path, format="png")
    plt.close(fig)
    return fig
