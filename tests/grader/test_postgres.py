"""The gradebook on a real PostgreSQL server (started by the test), with parallel workers."""

from __future__ import annotations

import pytest
from pg import create_database, postgres_server
from test_grading import TINY, wrong_copy

from dlgrader import grading, pipeline

STUDENTS = {f"s{i:02d}": ("ref", "wrong", "blank")[i % 3] for i in range(9)}
EXPECTED = {"ref": 3, "wrong": 1, "blank": 0}


@pytest.fixture(scope="module")
def database():
    """A fresh PostgreSQL database on loopback."""
    with postgres_server() as url:
        yield create_database(url, "nndl_test")


@pytest.mark.slow
def test_parallel_workers_write_one_postgres_gradebook(database, tmp_path):
    """Nine submissions graded by two sandboxed workers at once: every score lands exactly once."""
    root = grading.make_scratch_course(tmp_path / "course", ["99_tiny"], TINY, db_url=database)
    wrong = wrong_copy(TINY / "99_tiny", tmp_path / "wrong")
    for student, kind in STUDENTS.items():
        folder = {"ref": TINY / "99_tiny", "wrong": wrong,
                  "blank": root / "release" / "99_tiny"}[kind]
        grading.submit(root, "99_tiny", student, folder)
    options = pipeline.Options(jobs=2, cell_timeout=20)
    states = pipeline.grade(root, ["99_tiny"], options=options, progress=False)
    assert sorted(s["student"] for s in states) == sorted(STUDENTS)
    assert all(s["status"] == "graded" for s in states), states
    for student, kind in STUDENTS.items():
        assert sum(c.score for c in grading.scores(root, "99_tiny", student)) == EXPECTED[kind]
    assert grading._api(root).coursedir.db_url.startswith("postgresql://")
    assert not (root / "gradebook.db").exists()
