"""Tests of dlutils.planar: the flower set, the extra datasets and the decision-boundary plot."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlutils.planar import (
    EXTRA_DATASETS,
    load_extra_datasets,
    load_planar_dataset,
    plot_dataset,
    plot_decision_boundary,
)

matplotlib.use("Agg")


def flower_from_formula() -> tuple[np.ndarray, np.ndarray]:
    """The flower rebuilt independently from COURSE_SPEC's formula with a private generator."""
    rs = np.random.RandomState(1)  # the same stream as np.random.seed(1)
    points, labels = [], []
    for j in (0, 1):
        t = np.linspace(3.12 * j, 3.12 * (j + 1), 200) + 0.2 * rs.randn(200)
        r = 4 * np.sin(4 * t) + 0.2 * rs.randn(200)
        points.append(np.stack([r * np.sin(t), r * np.cos(t)]))
        labels.append(np.full(200, j))
    return np.concatenate(points, axis=1), np.concatenate(labels).reshape(1, -1)


def x1_positive(P: np.ndarray) -> np.ndarray:
    """A toy classifier: label 1 right of the x2 axis."""
    return P[0:1] > 0


def test_flower_is_deterministic():
    """Two calls return identical arrays, whatever the global random state was before."""
    X1, Y1 = load_planar_dataset()
    np.random.seed(123)
    np.random.rand(7)
    X2, Y2 = load_planar_dataset()
    assert np.array_equal(X1, X2) and np.array_equal(Y1, Y2)


def test_flower_shapes_and_dtypes():
    """X is (2, 400) float64, Y is (1, 400) int64 with labels 0 and 1."""
    X, Y = load_planar_dataset()
    assert X.shape == (2, 400) and X.dtype == np.float64
    assert Y.shape == (1, 400) and Y.dtype == np.int64
    assert set(np.unique(Y)) == {0, 1}


def test_flower_classes_are_balanced():
    """200 points of each class, class 0 in the first 200 columns."""
    _, Y = load_planar_dataset()
    assert int(Y.sum()) == 200
    assert not Y[0, :200].any() and Y[0, 200:].all()


def test_flower_matches_the_formula():
    """Every point equals the spec's formula computed here independently."""
    X, Y = load_planar_dataset()
    X_ref, Y_ref = flower_from_formula()
    np.testing.assert_allclose(X, X_ref, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(Y, Y_ref)


def test_flower_known_values():
    """A few literal values guard against a change in NumPy's legacy generator."""
    X, _ = load_planar_dataset()
    np.testing.assert_allclose(X[:, 0], [1.20444229, 3.57611415], atol=1e-8)
    np.testing.assert_allclose(X[:, 399], [0.73078083, 3.06832921], atol=1e-8)
    assert np.all(np.abs(X) < 4.5)  # r = 4 sin(4t) + noise stays near the radius 4


def test_flower_reseeds_the_global_generator_like_the_course():
    """After loading, the global generator continues after seed 1 and 800 draws."""
    load_planar_dataset()
    after_load = np.random.randn(3)
    np.random.seed(1)
    np.random.randn(800)
    np.testing.assert_array_equal(after_load, np.random.randn(3))


def test_extra_datasets_shapes_and_binary_labels():
    """Each extra set is X (2, m) float64 with binary int64 labels Y (1, m) of both classes."""
    sets = load_extra_datasets()
    assert tuple(sets) == EXTRA_DATASETS
    for name, (X, Y) in sets.items():
        assert X.shape == (2, 200) and X.dtype == np.float64, name
        assert Y.shape == (1, 200) and Y.dtype == np.int64, name
        assert set(np.unique(Y)) == {0, 1}, name
        assert np.all(np.isfinite(X)), name


def test_extra_datasets_are_reproducible():
    """Same random_state, same data; another random_state, other data; n_samples is honoured."""
    a, b = load_extra_datasets(), load_extra_datasets()
    other = load_extra_datasets(random_state=7)
    for name in EXTRA_DATASETS:
        assert np.array_equal(a[name][0], b[name][0]) and np.array_equal(a[name][1], b[name][1])
        assert not np.array_equal(a[name][0], other[name][0])
    small = load_extra_datasets(n_samples=50)
    assert all(X.shape == (2, 50) and Y.shape == (1, 50) for X, Y in small.values())
    with pytest.raises(ValueError, match="n_samples"):
        load_extra_datasets(n_samples=1)


def test_plot_decision_boundary_runs_headless():
    """The plot draws filled regions and the points, labels its axes and returns the axes."""
    X, Y = load_planar_dataset()
    ax = plot_decision_boundary(x1_positive, X, Y, title="right half", resolution=40)
    assert isinstance(ax, plt.Axes)
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    assert ax.get_title() == "right half"
    assert len(ax.collections) >= 3  # the filled contour and one scatter per class
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["y = 0", "y = 1"]
    x_lo, x_hi = ax.get_xlim()
    assert x_lo < X[0].min() and x_hi > X[0].max()  # a margin around the points
    plt.close(ax.figure)


def test_plot_decision_boundary_accepts_an_axes_and_rank1_predictions():
    """An existing axes is drawn into; a predict returning (k,) 0/1 ints is accepted."""
    X, Y = load_planar_dataset()
    fig, ax = plt.subplots()
    out = plot_decision_boundary(lambda P: (P[1] > 0).astype(int), X, Y, ax=ax,
                                 resolution=10, legend=False)
    assert out is ax and ax.get_legend() is None
    plt.close(fig)


def test_plot_dataset_scatter():
    """plot_dataset draws one labelled scatter per class."""
    X, Y = load_planar_dataset()
    ax = plot_dataset(X, Y, title="flower")
    assert len(ax.collections) == 2 and ax.get_title() == "flower"
    plt.close(ax.figure)


@pytest.mark.parametrize(("X", "Y", "message"), [
    (np.zeros((400, 2)), np.zeros((1, 400)), r"X must have shape \(2, m\).*X\.T"),
    (np.zeros((3, 400)), np.zeros((1, 400)), r"X must have shape \(2, m\)"),
    (np.zeros(400), np.zeros((1, 400)), r"X must have shape \(2, m\)"),
    (np.zeros((2, 400)), np.zeros(400), r"Y must have shape \(1, m\).*rank-1"),
    (np.zeros((2, 400)), np.zeros((1, 399)), r"Y must have shape \(1, m\) = \(1, 400\)"),
    (np.zeros((2, 4)), np.array([[0, 1, 0.5, 1]]), r"class labels"),
])
def test_plot_decision_boundary_rejects_bad_inputs(X, Y, message):
    """Wrong shapes and non-label Y raise a ValueError that names the problem."""
    with pytest.raises(ValueError, match=message):
        plot_decision_boundary(x1_positive, X, Y, resolution=5)
    plt.close("all")


def test_plot_decision_boundary_rejects_bad_predict_and_options():
    """predict must be callable and return one label per grid point; options are checked."""
    X, Y = load_planar_dataset()
    with pytest.raises(TypeError, match="predict"):
        plot_decision_boundary("not a function", X, Y)
    with pytest.raises(ValueError, match=r"returned shape \(2, 25\)"):
        plot_decision_boundary(lambda P: P > 0, X, Y, resolution=5)
    with pytest.raises(ValueError, match="class labels"):
        plot_decision_boundary(lambda P: 1 / (1 + np.exp(-P[0:1])), X, Y, resolution=5)
    with pytest.raises(ValueError, match="resolution"):
        plot_decision_boundary(x1_positive, X, Y, resolution=1)
    with pytest.raises(ValueError, match="margin"):
        plot_decision_boundary(x1_positive, X, Y, margin=-1.0)
    plt.close("all")
