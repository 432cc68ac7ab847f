"""The two-moons dataset of assignment 09 (optimization methods) and the plots of its lesson.

Points are columns, as everywhere in the course: X has shape (2, m), Y has shape (1, m), labels
``int64`` 0/1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["load_moons_dataset", "plot_exponential_average", "plot_learning_rates"]


def load_moons_dataset() -> tuple[np.ndarray, np.ndarray]:
    """300 points on two interleaved half moons, as the course draws them.

    Like the course, this seeds NumPy's *global* generator with ``np.random.seed(3)`` (a side
    effect that keeps the course's numbers) and then calls scikit-learn's
    ``make_moons(n_samples=300, noise=0.2)``, which draws from that generator when it is given no
    ``random_state`` (scikit-learn's ``check_random_state(None)`` is NumPy's global
    ``RandomState``).

    Returns a tuple of:
    - X: (2, 300) float64, column i is the point (x1, x2)
    - Y: (1, 300) int64 labels 0 or 1
    """
    from sklearn.datasets import make_moons  # imported here: only this function needs it

    np.random.seed(3)
    points, labels = make_moons(n_samples=300, noise=0.2)
    X = np.ascontiguousarray(np.asarray(points, dtype=np.float64).T)
    Y = np.asarray(labels, dtype=np.int64).reshape(1, -1)
    return X, Y


def plot_learning_rates(schedules: Mapping[str, Sequence[float]], ax: plt.Axes | None = None,
                        title: str = "Learning rate during training",
                        log_y: bool = True) -> plt.Axes:
    """One curve per schedule; ``schedules`` maps a label to the learning rate of each epoch."""
    if not schedules:
        raise ValueError("plot_learning_rates needs at least one schedule")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for label, rates in schedules.items():
        rates = np.ravel(np.asarray(rates, dtype=float))
        if rates.size == 0:
            raise ValueError(f"schedule {label!r} holds no learning rate")
        if log_y and np.any(rates <= 0):
            raise ValueError(f"schedule {label!r} needs positive learning rates for a log scale")
        ax.plot(np.arange(rates.size), rates, label=str(label))
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    if log_y:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_exponential_average(values: Sequence[float], averages: Mapping[str, Sequence[float]],
                             ax: plt.Axes | None = None,
                             title: str = "Exponentially weighted averages") -> plt.Axes:
    """Noisy ``values`` as dots and each running average of ``averages`` as a line.

    Every sequence of ``averages`` must have the length of ``values`` (one average per step).
    """
    values = np.ravel(np.asarray(values, dtype=float))
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    steps = np.arange(1, values.size + 1)
    ax.plot(steps, values, ".", color="#999999", label="values")
    for label, average in averages.items():
        average = np.ravel(np.asarray(average, dtype=float))
        if average.size != values.size:
            raise ValueError(f"average {label!r} has {average.size} steps, values have "
                             f"{values.size}")
        ax.plot(steps, average, label=str(label))
    ax.set_xlabel("step t")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax
