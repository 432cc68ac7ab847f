"""nbgrader's API for a course folder: scratch courses, releases, autograde and scores.

Everything runs in one process through NbGraderAPI (no CLI start-up per call). Grading itself
(autograde and feedback, with the sandbox and the trusted judge) is :mod:`dlgrader.pipeline`, the
only path that grades; the commands are :mod:`dlgrader.cli`.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

__all__ = ["CellScore", "make_scratch_course", "release_to_exchange", "scores",
           "source_assignments"]

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CellScore:
    """One graded cell of one notebook of one submission."""

    notebook: str
    grade_id: str
    score: float
    max_score: float
    needs_manual_grade: bool


def _api(course_root: Path, customize: Callable[[Config], Config] | None = None):
    """An NbGraderAPI for the course in ``course_root`` (its nbgrader_config.py, quiet)."""
    # nbgrader runs `alembic` and `jupyter` from PATH: make this environment's scripts first.
    bindir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    merged = Config()
    merged.merge(config)
    merged.CourseDirectory.root = str(course_root)
    merged.Application.log_level = logging.ERROR
    if customize is not None:
        merged = customize(merged)
    return NbGraderAPI(config=merged)


def make_scratch_course(dest: Path, assignments: list[str], source: Path = REPO / "source",
                        db_url: str | None = None) -> Path:
    """Copy the config and the given ``source`` assignments into ``dest``; generate releases.

    The scratch gradebook is ``dest/gradebook.db`` unless ``db_url`` names another database.
    """
    dest.mkdir(parents=True, exist_ok=True)
    config = (REPO / "nbgrader_config.py").read_text()
    # A scratch course never touches the instructor's gradebook, whatever NNDL_DB_URL says.
    url = repr(db_url) if db_url else 'f"sqlite:///{HERE}/gradebook.db"'
    config += f"\nc.CourseDirectory.db_url = {url}\n"
    (dest / "nbgrader_config.py").write_text(config)
    api = _api(dest)
    for name in assignments:
        shutil.copytree(source / name, dest / "source" / name, dirs_exist_ok=True)
        result = api.generate_assignment(name, force=True)
        if not result["success"]:
            raise RuntimeError(f"generate_assignment {name} failed:\n{result['log']}")
    return dest


def submit(course_root: Path, assignment: str, student: str, folder: Path) -> None:
    """Place ``folder``'s files as ``student``'s submission of ``assignment``."""
    target = course_root / "submitted" / student / assignment
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(folder, target)


def scores(course_root: Path, assignment: str, student: str) -> list[CellScore]:
    """Every graded cell's score of one submission, from the gradebook."""
    from nbgrader.api import Gradebook

    out = []
    with Gradebook(_api(course_root).coursedir.db_url) as gb:
        submission = gb.find_submission(assignment, student)
        for nb in submission.notebooks:
            for grade in nb.grades:
                out.append(CellScore(nb.name, grade.name, float(grade.score or 0.0),
                                     float(grade.max_score), bool(grade.needs_manual_grade)))
    return sorted(out, key=lambda s: (s.notebook, s.grade_id))


def source_assignments() -> list[str]:
    """Assignment folders of source/, in course order."""
    return sorted(p.name for p in (REPO / "source").iterdir()
                  if p.is_dir() and not p.name.startswith("."))


def build_release(dest: Path, assignments: list[str]) -> Path:
    """Generate the student versions of ``assignments`` in a scratch course; return its release/.

    Generated files that belong to the source (A5's helper module) are rebuilt first.
    """
    generator = REPO / "tools" / "build_dnn_app_utils.py"
    if generator.exists():
        import subprocess

        subprocess.run([sys.executable, str(generator)], check=True)
    make_scratch_course(dest, assignments)
    return dest / "release"


def release(assignments: list[str]) -> None:
    """Regenerate release/<assignment>/ in the repository from source/."""
    with tempfile.TemporaryDirectory(prefix="nndl-release-") as tmp:
        built = build_release(Path(tmp), assignments)
        for name in assignments:
            target = REPO / "release" / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(built / name, target)
            print(f"released {name}")


def _same_tree(a: Path, b: Path) -> bool:
    """Whether folders ``a`` and ``b`` hold the same files with the same bytes."""
    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes()
                for p in root.rglob("*") if p.is_file()}
    return b.is_dir() and files(a) == files(b)


def release_to_exchange(course_root: Path = REPO, assignments: list[str] | None = None
                        ) -> list[str]:
    """Release each assignment of ``release/`` to nbgrader's exchange; the names released.

    The formgrader shows an assignment as "released" only when it is in the exchange's outbound
    folder (``Exchange.root``/course_id/outbound/, where ``nbgrader release_assignment`` and its
    Release button put it); no setting makes it look at ``release/``. This runs nbgrader's own
    release_assignment for every assignment (default: all) that has a ``source/`` and a
    ``release/`` folder and whose exchange copy is missing or differs from ``release/``.
    Raises RuntimeError with nbgrader's log when a release fails.
    """
    course_root = Path(course_root)

    def forced(config: Config) -> Config:
        config.ExchangeReleaseAssignment.force = True
        return config

    api = _api(course_root, forced)
    if not api.exchange_is_functional:
        raise RuntimeError(f"nbgrader's exchange is not usable for {course_root} (course_id "
                           f"{api.course_id!r}, exchange {api.exchange_root!r})")
    outbound = Path(api.exchange_root) / api.course_id / "outbound"
    names = assignments if assignments is not None else sorted(
        p.name for p in (course_root / "release").glob("*")
        if p.is_dir() and not p.name.startswith("."))
    released = []
    for name in names:
        folder = course_root / "release" / name
        if not (folder.is_dir() and (course_root / "source" / name).is_dir()):
            continue
        if _same_tree(folder, outbound / name):
            continue
        result = api.release_assignment(name)
        if not result["success"]:
            raise RuntimeError(f"release_assignment {name} failed:\n{result.get('log', '')}")
        released.append(name)
    return released
