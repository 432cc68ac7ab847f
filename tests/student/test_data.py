"""dlutils.data: the shipped dataset loads; missing, corrupt and foreign files are handled."""

import shutil

import h5py
import numpy as np
import pytest

from dlutils.data import (
    ENV_VAR,
    SHIPPED,
    DatasetError,
    get_data_home,
    load_cat_dataset,
    own_images,
    sha256,
)


def test_shipped_dataset_layout(repo):
    """The kit's default set: 300/100 pictures 64x64x3 uint8, labels (1, m), balanced."""
    train_x, train_y, test_x, test_y, classes = load_cat_dataset()
    assert train_x.shape == (300, 64, 64, 3) and train_x.dtype == np.uint8
    assert test_x.shape == (100, 64, 64, 3)
    assert train_y.shape == (1, 300) and test_y.shape == (1, 100)
    assert int(train_y.sum()) == 150 and int(test_y.sum()) == 50
    assert list(classes) == [b"non-cat", b"cat"]
    for name, (size, digest) in SHIPPED.items():
        path = repo / "datasets" / name
        assert path.stat().st_size == size and sha256(path) == digest


def test_attribution_travels_with_the_data(repo):
    """The licence's attribution and the per-image sources ship beside the files."""
    text = (repo / "datasets" / "ATTRIBUTION.md").read_text()
    assert "CC BY-SA 4.0" in text
    assert len((repo / "datasets" / "SOURCES.csv").read_text().splitlines()) == 407


def test_data_home_resolution(tmp_path, monkeypatch, repo):
    """Argument first, then the environment variable, then the repository's datasets/."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert get_data_home() == repo / "datasets"
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert get_data_home() == tmp_path
    assert get_data_home(repo) == repo


def test_missing_file_names_it_and_the_fix(tmp_path):
    """An empty data home: the error names the missing file and how to fix it."""
    with pytest.raises(DatasetError, match="train_catvnoncat.h5") as info:
        load_cat_dataset(tmp_path)
    assert "git checkout -- datasets/" in str(info.value)


def copy_data(repo, dest):
    for name in SHIPPED:
        shutil.copy(repo / "datasets" / name, dest / name)


def test_corrupt_copy_is_detected_by_checksum(tmp_path, repo):
    """A shipped file with one byte flipped fails with both hashes in the message."""
    copy_data(repo, tmp_path)
    path = tmp_path / "test_catvnoncat.h5"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="corrupt: sha256") as info:
        load_cat_dataset(tmp_path)
    assert SHIPPED["test_catvnoncat.h5"][1] in str(info.value)


def test_truncated_file_is_refused(tmp_path, repo):
    """A truncated file (another size, unreadable HDF5) names the layout it expected."""
    copy_data(repo, tmp_path)
    path = tmp_path / "train_catvnoncat.h5"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DatasetError, match="not a readable dataset"):
        load_cat_dataset(tmp_path)


def write_split(path, split, x, y):
    with h5py.File(path, "w") as f:
        f[f"{split}_set_x"] = x
        f[f"{split}_set_y"] = y
        f["list_classes"] = np.array([b"non-cat", b"cat"])


def test_course_original_style_files_load_unchanged(tmp_path):
    """Other data in the same layout (like the course's 209/50 originals) loads as is."""
    rng = np.random.default_rng(0)
    write_split(tmp_path / "train_catvnoncat.h5", "train",
                rng.integers(0, 256, (209, 64, 64, 3), dtype=np.uint8),
                rng.integers(0, 2, 209))
    write_split(tmp_path / "test_catvnoncat.h5", "test",
                rng.integers(0, 256, (50, 64, 64, 3), dtype=np.uint8), rng.integers(0, 2, 50))
    train_x, train_y, test_x, test_y, _ = load_cat_dataset(tmp_path)
    assert train_x.shape == (209, 64, 64, 3) and train_y.shape == (1, 209)
    assert test_y.shape == (1, 50)


def test_wrong_layout_is_refused(tmp_path):
    """Float pictures, wrong label counts or a missing dataset name the problem."""
    write_split(tmp_path / "train_catvnoncat.h5", "train", np.zeros((4, 8, 8, 3)),
                np.zeros(3, dtype=int))
    with pytest.raises(DatasetError, match="uint8.*one 0/1 label per picture"):
        load_cat_dataset(tmp_path)
    with h5py.File(tmp_path / "train_catvnoncat.h5", "w") as f:
        f["train_set_x"] = np.zeros((1, 8, 8, 3), dtype=np.uint8)
    with pytest.raises(DatasetError, match="train_set_y"):
        load_cat_dataset(tmp_path)


def test_own_images(tmp_path):
    """Six sample pictures ship for "try your own image"; a missing folder is explained."""
    names = [p.name for p in own_images()]
    assert names == ["cat_1.jpg", "cat_2.jpg", "cat_3.jpg",
                     "noncat_1.jpg", "noncat_2.jpg", "noncat_3.jpg"]
    with pytest.raises(DatasetError, match="own_images"):
        own_images(tmp_path)
