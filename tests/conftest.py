"""Shared fixtures: a headless matplotlib, the repository's paths, and an environment free of
the caller's DLUTILS_* settings."""

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parent.parent
# dlutils reads these (DLUTILS_DATA_HOME: where the dataset lives); a test that wants one sets it.
CALLER_SETTINGS = "DLUTILS_"


def _remove_caller_settings(mp: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith(CALLER_SETTINGS)]:
        mp.delenv(name)


@pytest.fixture(scope="session", autouse=True)
def _no_caller_settings_in_shared_fixtures():
    """Module- and session-scoped fixtures (a graded course run) start without them too."""
    with pytest.MonkeyPatch.context() as mp:
        _remove_caller_settings(mp)
        yield


@pytest.fixture(autouse=True)
def _no_caller_settings(monkeypatch):
    """Every test starts without the caller's DLUTILS_* variables."""
    _remove_caller_settings(monkeypatch)


@pytest.fixture
def repo() -> Path:
    """The repository's root folder."""
    return REPO
