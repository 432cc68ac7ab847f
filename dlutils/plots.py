"""Plots the notebooks share: cost curves and labelled image grids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_costs", "show_images"]


def plot_costs(runs: Mapping[str, Sequence[float]], every: int = 100,
               title: str = "Training cost", ax: plt.Axes | None = None,
               log_y: bool = False) -> plt.Axes:
    """Several cost curves on one axes; ``runs`` maps a label to costs recorded every ``every``."""
    if not runs:
        raise ValueError("plot_costs needs at least one run")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for label, costs in runs.items():
        costs = np.ravel(np.asarray(costs, dtype=float))
        ax.plot(np.arange(len(costs)) * every, costs, label=str(label))
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost J (cross-entropy)")
    ax.set_title(title)
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if len(runs) > 1 or next(iter(runs)):
        ax.legend()
    return ax


def show_images(images: np.ndarray | Sequence[np.ndarray], titles: Sequence[str],
                ncols: int = 5, title: str | None = None, size: float = 2.0) -> plt.Figure:
    """A grid of pictures (each (h, w, 3), uint8 or floats in [0, 1]) with a title under each."""
    images = list(images)
    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    if not images:
        raise ValueError("show_images needs at least one image")
    ncols = max(1, min(ncols, len(images)))
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.6),
                             squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, label in zip(axes.flat[: len(images)], images, titles, strict=True):
        ax.imshow(img, interpolation="nearest")
        ax.set_title(label, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig
