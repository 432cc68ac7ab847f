"""dlutils.moons: the moons of assignment 09 follow the course's recipe; its plots draw what they
are given and refuse bad input."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.datasets import make_moons

from dlutils.moons import load_moons_dataset, plot_exponential_average, plot_learning_rates

matplotlib.use("Agg")


def test_moons_follow_the_recipe_with_a_private_generator():
    """300 columns, int64 labels 0/1 (150 each), equal to make_moons(300, noise=0.2) drawn from
    the stream of np.random.seed(3), whatever the global state was before."""
    np.random.seed(123)
    X, Y = load_moons_dataset()
    points, labels = make_moons(n_samples=300, noise=0.2, random_state=np.random.RandomState(3))
    assert X.shape == (2, 300) and X.dtype == np.float64 and X.flags.c_contiguous
    assert Y.shape == (1, 300) and Y.dtype == np.int64
    assert sorted(np.unique(Y)) == [0, 1] and int(Y.sum()) == 150
    np.testing.assert_array_equal(X, points.T)
    np.testing.assert_array_equal(Y[0], labels)


def test_moons_leave_the_global_generator_where_the_course_does():
    """Like the course, the draw goes through NumPy's global generator: two calls agree, and the
    next global draw is the one that follows the dataset's draws."""
    X1, _ = load_moons_dataset()
    after_first = np.random.rand()
    X2, _ = load_moons_dataset()
    np.testing.assert_array_equal(X1, X2)
    assert np.random.rand() == after_first


def test_learning_rate_plot_draws_each_schedule():
    """One line per schedule, x = epoch 0, 1, ..., y = the rates, on a log scale by default."""
    ax = plot_learning_rates({"every epoch": [0.1, 0.05, 0.033], "fixed": [0.1, 0.1, 0.1]})
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["every epoch", "fixed"]
    assert list(lines[0].get_xdata()) == [0, 1, 2]
    assert list(lines[1].get_ydata()) == [0.1, 0.1, 0.1]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch"
    plt.close("all")


def test_learning_rate_plot_refuses_bad_schedules():
    """No schedule, an empty one, or a non-positive rate on a log scale are refused by name."""
    with pytest.raises(ValueError, match="at least one"):
        plot_learning_rates({})
    with pytest.raises(ValueError, match="'empty' holds no learning rate"):
        plot_learning_rates({"empty": []})
    with pytest.raises(ValueError, match="'zero' needs positive"):
        plot_learning_rates({"zero": [0.1, 0.0]})
    ax = plot_learning_rates({"zero": [0.1, 0.0]}, log_y=False)  # fine on a linear scale
    assert ax.get_yscale() == "linear"
    plt.close("all")


def test_exponential_average_plot():
    """The values as dots at steps 1..n, then one line per average; a length mismatch is refused."""
    ax = plot_exponential_average([1.0, 2.0, 3.0], {"beta = 0.5": [0.5, 1.25, 2.125]})
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["values", "beta = 0.5"]
    assert list(lines[0].get_xdata()) == [1, 2, 3]
    assert list(lines[1].get_ydata()) == [0.5, 1.25, 2.125]
    with pytest.raises(ValueError, match="has 2 steps, values have 3"):
        plot_exponential_average([1.0, 2.0, 3.0], {"short": [0.5, 1.0]})
    plt.close("all")
