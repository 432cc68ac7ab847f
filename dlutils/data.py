"""The cat/non-cat dataset in the course's HDF5 layout.

The data home is, in order: the ``data_home`` argument, the ``DLUTILS_DATA_HOME`` environment
variable, then the repository's ``datasets/`` folder. The kit ships its own photographs there
(see ``datasets/ATTRIBUTION.md``); the course's original ``train_catvnoncat.h5`` and
``test_catvnoncat.h5`` can be dropped in instead and load unchanged. The sample pictures for
"try your own image" come from the data home's ``own_images/`` folder, or from the kit's
``datasets/own_images/`` when the data home has none.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import h5py
import numpy as np

__all__ = ["DatasetError", "get_data_home", "load_cat_dataset", "own_images", "sha256"]

ENV_VAR = "DLUTILS_DATA_HOME"
REPO_DATASETS = Path(__file__).resolve().parent.parent / "datasets"
# The kit's sample pictures: used when the data home has none of its own.
KIT_OWN_IMAGES = REPO_DATASETS / "own_images"
PICTURE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})

# The files the kit ships, with their size in bytes and sha256.
SHIPPED = {
    "train_catvnoncat.h5": (3360731,
                            "a49270b79640b933e5266d5355372e5aefb4f987e58289e63aaab069c1dae276"),
    "test_catvnoncat.h5": (1127573,
                           "34d3123d9c077d0f6005a4aa360e1a344de8678bc8c5af00a7a379b1efc0d6be"),
}
FIX = ("Restore the kit's copy with `git checkout -- datasets/`, or put the course's original "
       "files there, or point {env} (or data_home=...) at a folder that holds them.")


class DatasetError(OSError):
    """A dataset file is missing, corrupt or not in the course's layout."""


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The folder the dataset files are read from (argument, then $DLUTILS_DATA_HOME)."""
    if data_home is not None:
        return Path(data_home)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return REPO_DATASETS


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify_checksum(path: Path) -> None:
    """A file of the shipped size must carry the shipped hash: anything else is a damaged copy.

    Files of another size are other data (the course's originals); their layout is checked.
    """
    size, expected = SHIPPED[path.name]
    if path.stat().st_size != size:
        return
    got = sha256(path)
    if got != expected:
        raise DatasetError(f"{path} is corrupt: sha256 {got}, expected {expected}. "
                           + FIX.format(env=ENV_VAR))


def _read_split(path: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DatasetError(f"dataset file not found: {path}. " + FIX.format(env=ENV_VAR))
    _verify_checksum(path)
    try:
        with h5py.File(path, "r") as f:
            x = np.array(f[f"{split}_set_x"][:])
            y = np.array(f[f"{split}_set_y"][:])
            classes = np.array(f["list_classes"][:])
    except (OSError, KeyError) as exc:
        raise DatasetError(
            f"{path} is not a readable dataset in the course's layout (expected HDF5 "
            f"datasets {split}_set_x, {split}_set_y, list_classes): {exc}. "
            + FIX.format(env=ENV_VAR)) from exc
    _check_layout(path, split, x, y, classes)
    return x, y, classes


def _check_layout(path: Path, split: str, x: np.ndarray, y: np.ndarray,
                  classes: np.ndarray) -> None:
    problems = []
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[3] != 3 or x.shape[1] != x.shape[2]:
        problems.append(f"{split}_set_x must be uint8 (m, num_px, num_px, 3), "
                        f"got {x.dtype} {x.shape}")
    if y.ndim != 1 or y.shape[0] != x.shape[0] or not np.isin(y, (0, 1)).all():
        problems.append(f"{split}_set_y must hold one 0/1 label per picture ({x.shape[0]}), "
                        f"got {y.dtype} {y.shape}")
    if classes.shape != (2,):
        problems.append(f"list_classes must hold 2 names, got shape {classes.shape}")
    if problems:
        raise DatasetError(f"{path} is not in the course's layout: " + "; ".join(problems)
                           + ". " + FIX.format(env=ENV_VAR))


def load_cat_dataset(
    data_home: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load the cat/non-cat pictures.

    Returns a tuple of:
    - train_x_orig: uint8 (m_train, num_px, num_px, 3)
    - train_y: (1, m_train) labels, 1 = cat
    - test_x_orig: uint8 (m_test, num_px, num_px, 3)
    - test_y: (1, m_test)
    - classes: bytes array [b'non-cat', b'cat']
    """
    home = get_data_home(data_home)
    train_x, train_y, classes = _read_split(home / "train_catvnoncat.h5", "train")
    test_x, test_y, _ = _read_split(home / "test_catvnoncat.h5", "test")
    if train_x.shape[1:] != test_x.shape[1:]:
        raise DatasetError(f"train pictures are {train_x.shape[1:]} but test pictures are "
                           f"{test_x.shape[1:]} in {home}")
    return train_x, train_y.reshape(1, -1), test_x, test_y.reshape(1, -1), classes


def own_images(data_home: str | os.PathLike | None = None) -> list[Path]:
    """The sample pictures for "try your own image", sorted by name.

    They come from the data home's ``own_images/`` folder; a data home without pictures there
    (one that holds only the course's two ``.h5`` files) uses the kit's own samples in
    ``datasets/own_images/``.
    """
    home = get_data_home(data_home)
    folders = [home / "own_images"]
    if folders[0].resolve() != KIT_OWN_IMAGES.resolve():
        folders.append(KIT_OWN_IMAGES)
    for folder in folders:
        pictures = _pictures(folder)
        if pictures:
            return pictures
    kinds = ", ".join(sorted(PICTURE_SUFFIXES))
    restore = f"`git -C {REPO_DATASETS.parent} checkout -- datasets/own_images/`"
    if len(folders) == 1:
        raise DatasetError(
            f"no sample pictures ({kinds}) in {KIT_OWN_IMAGES}. Restore the kit's samples "
            f"with {restore}, or put your own pictures in that folder.")
    raise DatasetError(
        f"no sample pictures ({kinds}) in {folders[0]} (the data home, from "
        f"{'data_home=...' if data_home is not None else ENV_VAR}) nor in the kit's "
        f"{KIT_OWN_IMAGES}. Put your own pictures in {folders[0]}/, or "
        f"restore the kit's samples with {restore}.")


def _pictures(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in PICTURE_SUFFIXES and p.is_file())
