"""The tiny course of the collect tests (their fixtures are in conftest.py): helpers."""

import hashlib

from nbgrader.api import Gradebook

from dlgrader import grading

TINY = grading.REPO / "tests" / "files" / "tiny_source"
A = "99_tiny"


def students(course):
    """The student ids the course's gradebook knows."""
    with Gradebook(grading._api(course).coursedir.db_url) as gb:
        return {s.id for s in gb.students}


def fingerprint(folder):
    """Hash, mtime and mode of every file under ``folder``."""
    return {p.relative_to(folder): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                    p.stat().st_mtime_ns, p.stat().st_mode)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def tree(root, files):
    """Write ``files`` (relative path -> bytes) under ``root``; return ``root``."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root
