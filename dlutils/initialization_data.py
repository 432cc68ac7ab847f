"""The two-circles dataset of assignment 06 (initialization).

Points are columns, as everywhere in the course: X has shape (2, m), Y has shape (1, m), labels
``int64`` 0 (outer circle) / 1 (inner circle). The recipe is fixed by the course specification
(COURSE2_SPEC.md, "06 - Initialization"), because it decides every number the notebook prints.
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_circles"]


def _circles(seed: int, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_circles  # imported here: only this module needs it

    np.random.seed(seed)
    # random_state=None: make_circles draws from NumPy's global generator, seeded just above
    # (scikit-learn's check_random_state documents None as "the RandomState singleton").
    points, labels = make_circles(n_samples=n_samples, noise=0.05)
    X = np.ascontiguousarray(np.asarray(points, dtype=np.float64).T)
    Y = np.asarray(labels, dtype=np.int64).reshape(1, -1)
    return X, Y


def load_circles() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two noisy concentric circles: 300 training points and 100 test points.

    Recipe: ``np.random.seed(1)`` then ``sklearn.datasets.make_circles(n_samples=300,
    noise=.05)`` for the training set, ``np.random.seed(2)`` then ``make_circles(n_samples=100,
    noise=.05)`` for the test set. Like the course, this seeds NumPy's *global* generator (a side
    effect that keeps the course's numbers). Each set has as many points of each class.

    Returns a tuple of:
    - train_X: (2, 300) float64, train_Y: (1, 300) int64
    - test_X: (2, 100) float64, test_Y: (1, 100) int64
    """
    train_X, train_Y = _circles(1, 300)
    test_X, test_Y = _circles(2, 100)
    return train_X, train_Y, test_X, test_Y
