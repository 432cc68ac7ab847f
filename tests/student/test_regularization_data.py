"""Tests of dlutils.regularization_data: the wavy-border set of assignment 07 is deterministic,
shaped as the course expects, balanced, and follows its documented recipe."""

import numpy as np
import pytest

from dlutils.regularization_data import border, load_regularization_dataset, make_wavy_border


def test_shapes_dtypes_and_labels():
    """200 training and 200 test points as columns: float64 points in [-1, 1]^2, labels 0/1."""
    train_X, train_Y, test_X, test_Y = load_regularization_dataset()
    for X, Y in ((train_X, train_Y), (test_X, test_Y)):
        assert X.shape == (2, 200) and Y.shape == (1, 200)
        assert X.dtype == np.float64 and Y.dtype == np.int64
        assert set(np.unique(Y)) == {0, 1}
        assert np.all(np.abs(X) <= 1)


def test_classes_are_balanced_and_follow_the_border():
    """Each class holds 40 to 60 % of the points; most labels agree with the side of the border,
    but not all (the noise that invites overfitting)."""
    for X, Y in (load_regularization_dataset()[:2], load_regularization_dataset()[2:]):
        assert 0.4 <= Y.mean() <= 0.6
        agree = np.mean((X[1] > border(X[0])) == (Y[0] == 1))
        assert 0.85 < agree < 0.99


def test_deterministic_and_leaves_the_global_generator_alone():
    """Two calls give identical arrays; NumPy's global random state is not touched."""
    np.random.seed(5)
    state = np.random.get_state()[1].copy()
    first = load_regularization_dataset()
    assert np.array_equal(np.random.get_state()[1], state)
    second = load_regularization_dataset()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_training_and_test_sets_differ():
    """Two independent draws, not one set twice."""
    train_X, _, test_X, _ = load_regularization_dataset()
    assert not np.allclose(train_X, test_X)


def test_recipe_of_the_docstring():
    """The points, label draws and flips follow the documented order of draws."""
    rng = np.random.default_rng(11)
    X = rng.uniform(-1, 1, size=(2, 50))
    d = X[1] - 0.35 * np.sin(2.5 * X[0])
    labels = rng.random(50) < 1 / (1 + np.exp(-d / 0.06))
    flipped = rng.random(50) < 0.04
    X_got, Y_got = make_wavy_border(50, 11)
    np.testing.assert_array_equal(X_got, X)
    np.testing.assert_array_equal(Y_got[0], np.where(flipped, ~labels, labels).astype(int))


def test_bad_size_is_refused():
    with pytest.raises(ValueError, match="m must be an int >= 1"):
        make_wavy_border(0, 1)
