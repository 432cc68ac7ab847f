"""dlutils.plots: figures carry titles and labels; bad input is refused."""

import numpy as np
import pytest

from dlutils.plots import plot_costs, show_images


def test_plot_costs_labels_and_x_scale():
    """Each run is a line whose x values are iterations (every 100), with labelled axes."""
    ax = plot_costs({"lr=0.01": [0.7, 0.5, 0.4], "lr=0.001": [0.7, 0.65, 0.6]})
    assert [line.get_label() for line in ax.get_lines()] == ["lr=0.01", "lr=0.001"]
    assert list(ax.get_lines()[0].get_xdata()) == [0, 100, 200]
    assert ax.get_xlabel() == "iteration" and "cost" in ax.get_ylabel()
    assert ax.get_title()


def test_show_images_titles():
    """Every picture gets its title; the grid has as many visible axes as pictures."""
    imgs = np.zeros((3, 4, 4, 3), dtype=np.uint8)
    fig = show_images(imgs, ["a", "b", "c"], ncols=2, title="grid")
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == ["a", "b", "c"]


def test_bad_inputs():
    """No runs, no images, or a titles/images count mismatch are refused."""
    with pytest.raises(ValueError):
        plot_costs({})
    with pytest.raises(ValueError, match="2 images but 1 titles"):
        show_images(np.zeros((2, 4, 4, 3)), ["x"])
    with pytest.raises(ValueError):
        show_images([], [])
