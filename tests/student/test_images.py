"""dlutils.images: any picture becomes a (num_px*num_px*3, 1) column in [0, 1]."""

import numpy as np
import pytest
from PIL import Image

from dlutils.data import own_images
from dlutils.images import image_to_column, load_image


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "LA"])
def test_any_mode_and_size(tmp_path, mode):
    """RGBA, greyscale and palette pictures of any size come out RGB num_px x num_px."""
    path = tmp_path / "pic.png"
    Image.new(mode, (123, 45)).save(path)
    img = load_image(path, num_px=16)
    assert img.shape == (16, 16, 3) and img.dtype == np.uint8
    col = image_to_column(path, num_px=16)
    assert col.shape == (16 * 16 * 3, 1) and col.dtype == np.float64
    assert 0.0 <= col.min() and col.max() <= 1.0


def test_column_order_matches_the_course_flattening(tmp_path):
    """The column equals X.reshape(X.shape[0], -1).T of the same picture, divided by 255."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    path = tmp_path / "pic.png"
    Image.fromarray(pixels).save(path)
    expected = pixels[None].reshape(1, -1).T / 255.0
    assert np.array_equal(image_to_column(path, num_px=8), expected)


def test_sample_images_load():
    """Every shipped sample picture loads."""
    for path in own_images():
        assert image_to_column(path).shape == (12288, 1)


def test_bad_inputs(tmp_path):
    """Missing files, non-images and bad sizes fail with the path in the message."""
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        load_image(tmp_path / "nope.jpg")
    junk = tmp_path / "junk.jpg"
    junk.write_text("not a picture")
    with pytest.raises(ValueError, match="junk.jpg"):
        load_image(junk)
    with pytest.raises(ValueError, match="num_px"):
        load_image(junk, num_px=0)
