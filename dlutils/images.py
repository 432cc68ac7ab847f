"""Your own pictures as input columns for the course's classifiers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = ["load_image", "image_to_column"]


def load_image(path: str | os.PathLike, num_px: int = 64) -> np.ndarray:
    """Open any picture Pillow reads (RGBA, greyscale, palette, any size) as RGB.

    Returns a uint8 array (num_px, num_px, 3), resized with Lanczos filtering (not cropped).
    """
    if not isinstance(num_px, int) or num_px < 1:
        raise ValueError(f"num_px must be a positive int, got {num_px!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no image at {path}")
    try:
        with Image.open(path) as img:
            img = img.convert("RGB").resize((num_px, num_px), Image.Resampling.LANCZOS)
            return np.asarray(img, dtype=np.uint8)
    except UnidentifiedImageError as exc:
        raise ValueError(f"{path} is not an image Pillow can read: {exc}") from exc


def image_to_column(path: str | os.PathLike, num_px: int = 64) -> np.ndarray:
    """A picture as a (num_px*num_px*3, 1) float64 column scaled to [0, 1].

    The pixel order is the one of ``X.reshape(X.shape[0], -1).T`` on the course's data.
    """
    return (load_image(path, num_px) / 255.0).reshape(num_px * num_px * 3, 1)
