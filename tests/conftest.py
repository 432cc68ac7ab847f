"""Shared fixtures: a headless matplotlib and the repository's paths."""

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo() -> Path:
    """The repository's root folder."""
    return REPO
