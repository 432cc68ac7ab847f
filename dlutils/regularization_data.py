"""The two-class dataset of assignment 07 (regularization): a wavy border with noisy labels.

The course's own dataset is not ours to ship, so this module makes one of its kind: points in a
square, two classes on either side of a smooth border, and labels that are unreliable near the
border and now and then wrong far from it. A network without regularisation bends its boundary
around those noisy points (it overfits); L2 regularisation and dropout keep it smoother.

Points are columns, as everywhere in the course: X has shape (2, m), Y has shape (1, m), labels
``int64`` 0/1. Nothing is read from disk and NumPy's global random state is left alone.
"""

from __future__ import annotations

import numpy as np

__all__ = ["border", "load_regularization_dataset", "make_wavy_border"]

# The recipe's constants (see make_wavy_border).
AMPLITUDE, FREQUENCY = 0.35, 2.5   # the border x2 = AMPLITUDE * sin(FREQUENCY * x1)
WIDTH = 0.06                       # how far from the border labels are still uncertain
FLIP = 0.04                        # fraction of labels flipped anywhere
TRAIN_SEED, TEST_SEED, SIZE = 7, 8, 200


def border(x1: np.ndarray) -> np.ndarray:
    """The border between the classes: x2 = 0.35 sin(2.5 x1)."""
    return AMPLITUDE * np.sin(FREQUENCY * np.asarray(x1, dtype=float))


def make_wavy_border(m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``m`` labelled points drawn with ``np.random.default_rng(seed)``, in this order:

    1. the points: ``X = rng.uniform(-1, 1, size=(2, m))``, uniform in the square [-1, 1]^2;
    2. the labels: with the signed distance d = x2 - 0.35 sin(2.5 x1) to the border,
       ``y = rng.random(m) < 1 / (1 + exp(-d / 0.06))``: class 1 above the border, class 0 below,
       with labels that are close to a coin toss within about 0.1 of the border;
    3. the flips: ``rng.random(m) < 0.04`` marks the labels that are flipped (1 - y), anywhere.

    Returns X (2, m) float64 and Y (1, m) int64.
    """
    if not isinstance(m, int) or m < 1:
        raise ValueError(f"m must be an int >= 1, got {m!r}")
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(2, m))
    distance = X[1] - border(X[0])
    labels = rng.random(m) < 1.0 / (1.0 + np.exp(-distance / WIDTH))
    flipped = rng.random(m) < FLIP
    Y = np.where(flipped, ~labels, labels).astype(np.int64).reshape(1, m)
    return X, Y


def load_regularization_dataset() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The training set (200 points, seed 7) and the test set (200 points, seed 8) of
    :func:`make_wavy_border`: the same distribution, independent draws.

    Returns train_X (2, 200), train_Y (1, 200), test_X (2, 200), test_Y (1, 200).
    """
    train_X, train_Y = make_wavy_border(SIZE, TRAIN_SEED)
    test_X, test_Y = make_wavy_border(SIZE, TEST_SEED)
    return train_X, train_Y, test_X, test_Y
