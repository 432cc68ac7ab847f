"""dlutils.data: the shipped dataset loads; missing, corrupt and foreign files are handled."""

import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from dlutils import data
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


SAMPLES = ["cat_1.jpg", "cat_2.jpg", "cat_3.jpg", "noncat_1.jpg", "noncat_2.jpg", "noncat_3.jpg"]


def test_own_images(tmp_path):
    """Six sample pictures ship for "try your own image"; a data home's own pictures win."""
    assert [p.name for p in own_images()] == SAMPLES
    (tmp_path / "own_images").mkdir()
    (tmp_path / "own_images" / "mine.PNG").write_bytes(b"")
    (tmp_path / "own_images" / "notes.txt").write_text("not a picture")
    assert own_images(tmp_path) == [tmp_path / "own_images" / "mine.PNG"]


def test_own_images_fall_back_to_the_kit(tmp_path, monkeypatch, repo):
    """A data home with only the course's two .h5 files (no own_images/, or an empty one):
    the notebooks' "your own picture" cells get the kit's samples."""
    copy_data(repo, tmp_path)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert load_cat_dataset()[0].shape == (300, 64, 64, 3)
    kit = [repo / "datasets" / "own_images" / name for name in SAMPLES]
    assert own_images() == kit
    (tmp_path / "own_images").mkdir()
    assert own_images() == kit
    assert own_images(tmp_path) == kit


def test_no_pictures_anywhere_says_what_to_do(tmp_path, monkeypatch):
    """Neither the data home nor the kit has pictures: the error names both folders, the folder
    to put pictures in and the git command that restores the kit's samples."""
    kit = tmp_path / "kit" / "datasets" / "own_images"
    monkeypatch.setattr(data, "KIT_OWN_IMAGES", kit)
    monkeypatch.setattr(data, "REPO_DATASETS", kit.parent)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv(ENV_VAR, str(home))
    with pytest.raises(DatasetError) as info:
        own_images()
    message = str(info.value)
    assert f"in {home / 'own_images'} (the data home, from {ENV_VAR})" in message
    assert f"nor in the kit's {kit}." in message
    assert f"Put your own pictures in {home / 'own_images'}/" in message
    assert f"`git -C {tmp_path / 'kit'} checkout -- datasets/own_images/`" in message
    # the data home is the kit's folder itself: one folder to restore
    with pytest.raises(DatasetError) as info:
        own_images(kit.parent)
    assert f"in {kit}. Restore the kit's samples" in str(info.value)
    assert "the data home" not in str(info.value)


def test_suite_ignores_the_callers_data_home(tmp_path, repo):
    """With DLUTILS_DATA_HOME exported by whoever runs pytest (here an empty folder), the data
    and image tests still pass: tests/conftest.py removes it for every test."""
    env = {**os.environ, ENV_VAR: str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/student/test_data.py", "tests/student/test_images.py",
         "-k", "not ignores_the_callers"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
