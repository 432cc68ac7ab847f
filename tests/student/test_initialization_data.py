"""Tests of dlutils.initialization_data: the circles of assignment 06 follow the spec's recipe."""

import numpy as np
from sklearn.datasets import make_circles

from dlutils.initialization_data import load_circles


def test_shapes_dtypes_and_labels():
    """300 training and 100 test points as columns; labels 0/1, half of each class."""
    train_X, train_Y, test_X, test_Y = load_circles()
    assert train_X.shape == (2, 300) and train_Y.shape == (1, 300)
    assert test_X.shape == (2, 100) and test_Y.shape == (1, 100)
    assert train_X.dtype == test_X.dtype == np.float64
    assert train_Y.dtype == test_Y.dtype == np.int64
    for Y in (train_Y, test_Y):
        assert set(np.unique(Y)) == {0, 1}
        assert Y.sum() * 2 == Y.size
    # the inner circle (class 1) has radius 0.8, the outer one radius 1 (plus noise 0.05)
    radius = np.hypot(*train_X)
    assert radius[train_Y[0] == 1].mean() < 0.85 < radius[train_Y[0] == 0].mean()


def test_recipe_of_the_spec():
    """The same points as make_circles drawing from the streams of seeds 1 and 2."""
    train_X, train_Y, test_X, test_Y = load_circles()
    for X, Y, seed, n in ((train_X, train_Y, 1, 300), (test_X, test_Y, 2, 100)):
        points, labels = make_circles(n_samples=n, noise=0.05,
                                      random_state=np.random.RandomState(seed))
        np.testing.assert_array_equal(X, points.T)
        np.testing.assert_array_equal(Y, labels.reshape(1, -1))


def test_deterministic_whatever_the_state_before():
    """Two calls give identical arrays, whatever the global random state was before."""
    first = load_circles()
    np.random.seed(123)
    np.random.rand(5)
    second = load_circles()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
