"""Two-dimensional toy datasets and a decision-boundary plot for assignment A3.

Points are columns, as everywhere in the course: X has shape (2, m), Y has shape (1, m).
Labels are ``int64`` 0/1 (not the course's ``uint8``: with ``uint8`` an expression such as
``np.dot(Y, P.T)`` over 400 points or ``-Y`` silently wraps around).
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

__all__ = [
    "EXTRA_DATASETS",
    "load_extra_datasets",
    "load_planar_dataset",
    "plot_dataset",
    "plot_decision_boundary",
]

EXTRA_DATASETS = ("noisy_circles", "noisy_moons", "blobs", "gaussian_quantiles")

# Class c is drawn in POINT_COLOURS[c] on a region of REGION_COLOURS[c] (red 0, blue 1, ...).
POINT_COLOURS = ("#c0392b", "#2563a8", "#2e8b57", "#8e44ad", "#d68910", "#17a2b8")
REGION_COLOURS = ("#f5b7b1", "#aed0ee", "#b7e4c7", "#d7bde2", "#fad7a0", "#b2ebf2")


def load_planar_dataset() -> tuple[np.ndarray, np.ndarray]:
    """The "flower": 400 points on the 8 petals of r = 4 sin(4t), two classes of 200.

    Class j in {0, 1} takes t = linspace(3.12 j, 3.12 (j+1), 200) + 0.2 noise and
    r = 4 sin(4t) + 0.2 noise, and places its points at (r sin t, r cos t). Like the course,
    this seeds NumPy's *global* generator with ``np.random.seed(1)`` (a side effect that keeps
    the course's numbers), then draws t's noise and r's noise of class 0, then of class 1.

    Returns a tuple of:
    - X: (2, 400) float64, column i is the point (x1, x2)
    - Y: (1, 400) int64 labels, 0 for columns 0..199 and 1 for columns 200..399
    """
    np.random.seed(1)
    m, a = 400, 4
    n = m // 2
    X = np.zeros((2, m))
    Y = np.zeros((1, m), dtype=np.int64)
    for j in range(2):
        t = np.linspace(3.12 * j, 3.12 * (j + 1), n) + 0.2 * np.random.randn(n)
        r = a * np.sin(4 * t) + 0.2 * np.random.randn(n)
        cols = slice(n * j, n * (j + 1))
        X[0, cols] = r * np.sin(t)
        X[1, cols] = r * np.cos(t)
        Y[0, cols] = j
    return X, Y


def load_extra_datasets(n_samples: int = 200, random_state: int = 2,
                        ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Four more binary problems from scikit-learn's generators, reproducible by ``random_state``.

    Keys, in this order: "noisy_circles" (two rings), "noisy_moons" (two interleaved half
    moons), "blobs" (6 Gaussian blobs, labels taken mod 2 so each class owns 3 blobs),
    "gaussian_quantiles" (a disc inside a ring of one Gaussian).

    Returns {name: (X, Y)} with X (2, n_samples) float64 and Y (1, n_samples) int64 in {0, 1}.
    """
    if not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples must be an int >= 2, got {n_samples!r}")
    from sklearn import datasets  # imported here: only this function needs scikit-learn

    generated = {
        "noisy_circles": datasets.make_circles(n_samples=n_samples, factor=0.5, noise=0.1,
                                               random_state=random_state),
        "noisy_moons": datasets.make_moons(n_samples=n_samples, noise=0.2,
                                           random_state=random_state),
        "blobs": datasets.make_blobs(n_samples=n_samples, n_features=2, centers=6,
                                     random_state=random_state),
        "gaussian_quantiles": datasets.make_gaussian_quantiles(
            cov=0.5, n_samples=n_samples, n_features=2, n_classes=2,
            random_state=random_state),
    }
    out = {}
    for name in EXTRA_DATASETS:
        points, labels = generated[name]
        X = np.ascontiguousarray(np.asarray(points, dtype=np.float64).T)
        Y = (np.asarray(labels, dtype=np.int64) % 2).reshape(1, -1)
        out[name] = (X, Y)
    return out


def _check_points(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """X as a (2, m) float array and Y as (1, m) integer labels, or a ValueError that says why."""
    X = np.asarray(X)
    Y = np.asarray(Y)
    if X.ndim != 2 or X.shape[0] != 2:
        tip = " (one column per point: did you pass X.T?)" if X.ndim == 2 and \
            X.shape[1] == 2 else ""
        raise ValueError(f"X must have shape (2, m), got {X.shape}{tip}")
    m = X.shape[1]
    if m == 0:
        raise ValueError("X has no points (shape (2, 0))")
    if Y.shape != (1, m):
        tip = " (a rank-1 array: use Y.reshape(1, -1))" if Y.ndim == 1 else ""
        raise ValueError(f"Y must have shape (1, m) = (1, {m}) to match X, got {Y.shape}{tip}")
    return X.astype(np.float64), _as_labels(Y, "Y")


def _as_labels(values: np.ndarray, name: str) -> np.ndarray:
    """Integer class labels from bool, int or integer-valued float arrays."""
    if values.dtype == bool:
        return values.astype(np.int64)
    if not np.issubdtype(values.dtype, np.number):
        raise ValueError(f"{name} must hold numeric class labels, got dtype {values.dtype}")
    labels = values.astype(np.int64)
    if not np.array_equal(labels, values) or labels.min() < 0:
        raise ValueError(f"{name} must hold class labels 0, 1, ... (for example A2 > 0.5), "
                         f"got values such as {values.ravel()[:3]}")
    return labels


def _palette(n: int, colours: tuple[str, ...]) -> list[str]:
    if n <= len(colours):
        return list(colours[:n])
    cmap = plt.get_cmap("tab20", n)
    return [cmap(i) for i in range(n)]


def plot_dataset(X: np.ndarray, Y: np.ndarray, ax: plt.Axes | None = None,
                 title: str | None = None, legend: bool = True) -> plt.Axes:
    """Scatter of the points X (2, m) coloured by their labels Y (1, m); returns the axes."""
    X, labels = _check_points(X, Y)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    colours = _palette(int(labels.max()) + 1, POINT_COLOURS)
    for c in np.unique(labels):
        mask = labels[0] == c
        ax.scatter(X[0, mask], X[1, mask], s=14, color=colours[c], edgecolors="black",
                   linewidths=0.3, label=f"y = {c}")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title is not None:
        ax.set_title(title)
    if legend:
        ax.legend(loc="best", fontsize=8, framealpha=0.8)
    return ax


def plot_decision_boundary(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray,
                           Y: np.ndarray, ax: plt.Axes | None = None, title: str | None = None,
                           resolution: int = 300, margin: float = 0.1,
                           legend: bool = True) -> plt.Axes:
    """Regions where ``predict`` says 0 or 1, with the points X (2, m) coloured by Y (1, m).

    Inputs:
    - predict: maps points P (2, k) to labels (1, k) (bool or 0/1), e.g.
      ``lambda P: predict(parameters, P)``
    - X, Y: the points and their true labels
    - resolution: grid points per axis; margin: padding around the points, as a fraction of
      each axis' range
    Returns the matplotlib axes (a new figure when ``ax`` is None).
    """
    if not callable(predict):
        raise TypeError(f"predict must be a function of points (2, k), got {type(predict)}")
    X, labels = _check_points(X, Y)
    if not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin!r}")
    lo, hi = X.min(axis=1), X.max(axis=1)
    pad = margin * np.maximum(hi - lo, 1e-3)
    g1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g2 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(g1, g2)
    grid = np.vstack([xx.ravel(), yy.ravel()])
    predicted = np.asarray(predict(grid))
    k = grid.shape[1]
    if predicted.shape not in {(1, k), (k,)}:
        raise ValueError(f"predict must map points (2, k) to labels (1, k); for k = {k} "
                         f"it returned shape {predicted.shape}")
    predicted = _as_labels(predicted, "predict's output").reshape(xx.shape)
    n_classes = int(max(predicted.max(), labels.max())) + 1
    ax = ax if ax is not None else plt.subplots(figsize=(5, 4.5))[1]
    ax.contourf(xx, yy, predicted, levels=np.arange(n_classes + 1) - 0.5,
                cmap=ListedColormap(_palette(n_classes, REGION_COLOURS)))
    plot_dataset(X, labels, ax=ax, title=title, legend=legend)
    ax.set_xlim(g1[0], g1[-1])
    ax.set_ylim(g2[0], g2[-1])
    return ax
