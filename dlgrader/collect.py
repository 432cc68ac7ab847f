"""Bring students' submissions into the course's ``submitted/`` folder.

Three sources, none of which is ever modified:

* a plain folder tree ``SRC/<student>/<assignment>/...`` (:func:`collect_folder`);
* an LMS bulk download (a zip) collected with nbgrader's own ``ZipCollectApp`` and its
  ``ExtractorPlugin``/``FileNameCollectorPlugin`` (:func:`collect_zip`). The zip is copied to
  ``downloaded/<assignment>/archive/``, extracted (nested zips too) into
  ``downloaded/<assignment>/extracted/`` and every notebook whose path matches the
  ``named_regexp`` goes to ``submitted/<student_id>/<assignment>/<file_id>.ipynb``;
* the students' own git repositories (GitHub Classroom), read at the last commit before a
  deadline: :mod:`dlgrader.collect_git` (``collect git ROSTER``).

The default regexp (:data:`DEFAULT_REGEXP`) reads the Moodle/Canvas naming scheme
``<student>_<anything>_<notebook>[-N].ipynb``: the student id is the first ``_``-separated
field of the first path component (below the zip's own folder and any wrapper folders without
``_``) that contains a ``_``, and ``<notebook>`` must be one of the assignment's released
notebooks (so notebook names may contain ``_``; Canvas' resubmission suffix ``-1``, ``-2`` is
dropped). The same holds when the student's part is a folder or a nested zip, for example
``bob_4711_assignsubmission_file_work.zip`` holding ``99_tiny/tiny.ipynb``. Examples::

    alice_12345_67890_tiny.ipynb              -> alice / tiny.ipynb   (Canvas)
    doejohn_LATE_12345_67890_tiny-1.ipynb     -> doejohn / tiny.ipynb (Canvas, resubmitted)
    bob_4711_assignsubmission_file_/tiny.ipynb -> bob / tiny.ipynb    (Moodle, folders)

Override it with ``regexp=`` (``--regexp``): nbgrader matches it with ``re.match`` against each
extracted file's absolute path; it must define the ``student_id`` and ``file_id`` groups (and may
define ``timestamp``). The placeholders ``{extracted}`` (the escaped extracted folder) and
``{notebooks}`` (an alternation of the released notebook names, without ``.ipynb``) are
substituted as plain text. For Moodle's numeric participant id, for instance::

    ^{extracted}/.*?/[^/_]+_(?P<student_id>\\d+)_assignsubmission_file_.*?(?P<file_id>{notebooks})\\.ipynb$

CLI::

    python -m dlgrader.collect folder SRC [--assignment A ...] [--course-root ROOT]
    python -m dlgrader.collect zip ASSIGNMENT ZIP [--regexp R] [--course-root ROOT]
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import re
import shutil
import sys
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from dlgrader import grading, late, submission_time

__all__ = ["DEFAULT_REGEXP", "TIMESTAMP_FORMAT", "collect_folder", "collect_zip", "main",
           "named_regexp"]

log = logging.getLogger(__name__)

#: nbgrader's exchange writes ``timestamp.txt`` in this format (ExchangeBase.timestamp_format).
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"

#: The default ``named_regexp`` template; see the module docstring.
DEFAULT_REGEXP = (
    r"^{extracted}/"
    r"(?:[^/]+/)?"                    # the LMS zip's own folder (absent for loose files)
    r"(?:[^/_]*/)*?"                  # wrapper folders without "_"
    r"(?P<student_id>[^/_]+)_"        # the student: first field of the first "_" name
    r"(?:.*?[_/])??"                  # anything: LMS ids, a nested zip's folders
    r"(?P<file_id>{notebooks})"       # a released notebook's name
    r"(?:-\d+)?\.ipynb$"              # Canvas' resubmission suffix
)

Pair = tuple[str, str]


# ----------------------------------------------------------------------------- helpers


def _plain_name(name: str, what: str) -> str:
    """``name`` if it is a single path component, else ValueError (path traversal)."""
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"invalid {what} name {name!r}")
    return name


def _source_assignments(course_root: Path) -> set[str]:
    """Assignment folders of the course's ``source/``."""
    source = course_root / "source"
    if not source.is_dir():
        return set()
    return {p.name for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")}


def _timestamp(folder: Path) -> str:
    """nbgrader's timestamp of the newest file of ``folder`` (now if it holds none)."""
    mtimes = [p.stat().st_mtime for p in folder.rglob("*") if p.is_file()]
    when = datetime.fromtimestamp(max(mtimes), UTC) if mtimes else datetime.now(UTC)
    return when.strftime(TIMESTAMP_FORMAT)


def _ensure_timestamp(folder: Path) -> None:
    """Write ``folder/timestamp.txt`` the way nbgrader's exchange does, unless present."""
    path = folder / "timestamp.txt"
    if not path.exists():
        stamp = _timestamp(folder)
        path.write_text(stamp)
        submission_time.write(folder, "file times", "the newest modification time of the "
                              "collected files")
    elif not (folder / submission_time.GIT_PROVENANCE).exists():  # collect git records its own
        submission_time.write(folder, "collected timestamp.txt", "timestamp.txt found in the "
                              "collected folder (the format of nbgrader's exchange)")


def _ensure_students(db_url: str, students: set[str]) -> None:
    """Create the students the gradebook at ``db_url`` does not know yet."""
    if not students:
        return
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        for student in sorted(students):
            gb.update_or_create_student(student)


# ----------------------------------------------------------------------------- folders


def _check_tree(top: Path, root: Path) -> None:
    """ValueError if ``top`` holds a symlink leaving ``root``, a dangling one or a loop."""
    if not top.resolve().is_relative_to(root):
        raise ValueError(f"{top} points outside {root}")
    seen: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        real = Path(dirpath).resolve()
        if real in seen:
            raise ValueError(f"{dirpath} is reached twice (symlink loop?)")
        seen.add(real)
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            if path.is_symlink():
                target = path.resolve()
                if not target.exists() or not target.is_relative_to(root):
                    raise ValueError(f"symlink {path} points outside {root}: {target}")


def _check_overlap(src_dir: Path, target: Path) -> None:
    """ValueError if copying ``src_dir`` to ``target`` would touch ``src_dir``."""
    a, b = src_dir.resolve(), target.resolve()
    if a.is_relative_to(b) or b.is_relative_to(a):
        raise ValueError(f"{src_dir} and its destination {target} overlap")


def _plan_folder(course_root: Path, root: Path, assignments: list[str] | None
                 ) -> tuple[list[Pair], list[Pair]]:
    """The (student, assignment) pairs of ``root`` to collect, and those to skip."""
    wanted = None if assignments is None else {_plain_name(a, "assignment") for a in assignments}
    known = _source_assignments(course_root)
    plan: list[Pair] = []
    skipped: list[Pair] = []
    for student_dir in sorted(root.iterdir()):
        if student_dir.name.startswith(".") or not student_dir.is_dir():
            continue
        for work in sorted(student_dir.iterdir()):
            if work.name.startswith(".") or not work.is_dir():
                continue
            if wanted is not None and work.name not in wanted:
                continue
            pair = (student_dir.name, work.name)
            (plan if work.name in known else skipped).append(pair)
    return plan, skipped


def _copy_submission(src_dir: Path, target: Path, ignore: list[str]) -> None:
    """Replace ``target`` by a copy of ``src_dir`` (copied aside first, then swapped in)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        copy = staging / target.name
        shutil.copytree(src_dir, copy, symlinks=False, ignore=shutil.ignore_patterns(*ignore))
        _ensure_timestamp(copy)
        if target.exists():
            shutil.rmtree(target)
        copy.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def collect_folder(course_root: Path, src: Path, assignments: list[str] | None = None
                   ) -> list[Pair]:
    """Copy ``src/<student>/<assignment>/`` to ``submitted/<student>/<assignment>/``.

    An existing copy of the same student and assignment is replaced; ``timestamp.txt`` is written
    (newest file's mtime, nbgrader's format) when the submission has none; unknown students are
    created in the gradebook; assignments missing from ``source/`` are skipped (logged). Nothing
    is copied if a symlink points outside ``src`` or a name tries to traverse paths
    (ValueError). Returns the (student, assignment) pairs collected.
    """
    course_root, root = Path(course_root), Path(src).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"no such folder: {src}")
    plan, skipped = _plan_folder(course_root, root, assignments)
    for student, name in skipped:
        log.warning("skipped %s/%s: no assignment %s in %s/source", student, name, name,
                    course_root)
    submitted = course_root / "submitted"
    for student, name in plan:
        _check_tree(root / student / name, root)
        _check_overlap(root / student / name, submitted / student / name)
    coursedir = grading._api(course_root).coursedir
    for student, name in plan:
        _copy_submission(root / student / name, submitted / student / name, coursedir.ignore)
        log.info("collected %s/%s", student, name)
    _ensure_students(coursedir.db_url, {student for student, _ in plan})
    return plan


# ----------------------------------------------------------------------------- zips


def _zip_traversal(data: bytes, label: str) -> list[str]:
    """Entries of a zip (and the zips inside it) that are absolute or climb with ``..``."""
    bad = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            name = info.filename.replace("\\", "/")
            if name.startswith("/") or ".." in name.split("/") or re.match(r"^[A-Za-z]:", name):
                bad.append(f"{label}:{info.filename}")
            elif name.lower().endswith(".zip"):
                bad += _zip_traversal(archive.read(info), f"{label}:{info.filename}")
    return bad


def _check_zip(zip_path: Path) -> None:
    """ValueError if ``zip_path`` is no zip or holds path-traversing entries."""
    if not zipfile.is_zipfile(zip_path):
        raise ValueError(f"not a zip file: {zip_path}")
    bad = _zip_traversal(zip_path.read_bytes(), zip_path.name)
    if bad:
        raise ValueError(f"path traversal in {zip_path}: {bad}")


def _notebook_names(course_root: Path, assignment: str) -> list[str]:
    """Released (else source) notebooks of ``assignment``, relative, without ``.ipynb``."""
    for step in ("release", "source"):
        folder = course_root / step / assignment
        names = sorted(str(p.relative_to(folder).with_suffix("")) for p in folder.rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
        if names:
            return names
    return []


def named_regexp(course_root: Path, assignment: str, regexp: str | None = None) -> str:
    """The nbgrader ``named_regexp`` for ``assignment`` (``regexp`` or the default template)."""
    # nbgrader walks os.path.join(CourseDirectory.root, ...), and that root is abspath'ed.
    extracted = os.path.join(os.path.abspath(course_root), "downloaded", assignment, "extracted")
    names = _notebook_names(course_root, assignment)
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    template = DEFAULT_REGEXP if regexp is None else regexp
    text = template.replace("{extracted}", re.escape(extracted))
    return text.replace("{notebooks}", f"(?:{alternation or '[^/]+'})")


def _stage_archive(course_root: Path, assignment: str, zip_path: Path | None) -> Path:
    """``downloaded/<assignment>/archive/`` holding just ``zip_path`` (when given)."""
    archive = course_root / "downloaded" / assignment / "archive"
    if zip_path is None:
        if not archive.is_dir():
            raise FileNotFoundError(f"no zip given and no folder {archive}")
        for path in archive.rglob("*.zip"):
            _check_zip(path)
        return archive
    zip_path = Path(zip_path)
    _check_zip(zip_path)
    if zip_path.resolve().parent == archive.resolve():
        return archive
    if archive.exists():
        shutil.rmtree(archive)
    archive.mkdir(parents=True)
    shutil.copyfile(zip_path, archive / zip_path.name)
    return archive


def _zip_collect_app(api, regexp: str, strict: bool):
    """nbgrader's ZipCollectApp, configured for this course, remembering what it transfers."""
    from nbgrader.apps import ZipCollectApp
    from traitlets.config import Config

    class RecordingZipCollectApp(ZipCollectApp):
        collected: dict = {}

        def _transfer_files(self, collected_data):
            self.collected = dict(collected_data or {})
            super()._transfer_files(collected_data)

    config = Config()
    config.merge(api.config)
    config.FileNameCollectorPlugin.named_regexp = regexp
    config.ZipCollectApp.force = True
    config.ZipCollectApp.strict = strict  # skip notebooks that are not released ones
    config.ExtractorPlugin.force = True
    config.Application.log_level = logging.WARNING
    app = RecordingZipCollectApp(coursedir=api.coursedir, config=config)
    for handler in list(app.log.handlers):  # its log is captured and passed on instead
        app.log.removeHandler(handler)
    return app


def _report_nbgrader_log(text: str) -> None:
    """Pass nbgrader's warnings on (skipped files, unmatched names) to this module's log."""
    noise = ("Creating:", "Clearing existing", "no match information provided")
    for line in text.splitlines():
        if line.startswith(("[WARNING]", "[ERROR]")) and not any(n in line for n in noise):
            log.warning("nbgrader: %s", line.split("] ", 1)[-1])


def collect_zip(course_root: Path, assignment: str, zip_path: Path | None,
                regexp: str | None = None) -> list[Pair]:
    """Collect an LMS zip of ``assignment`` with nbgrader's ZipCollectApp.

    ``zip_path`` (never modified) replaces the contents of ``downloaded/<assignment>/archive/``;
    with ``None`` the archive folder is used as it is. ``regexp`` overrides
    :data:`DEFAULT_REGEXP` (see the module docstring). Existing submissions of the collected
    students are replaced, unknown students created in the gradebook, notebooks the regexp
    does not match are skipped (logged). ``timestamp.txt`` comes from the regexp's
    ``timestamp`` group when it has one (nbgrader's zip_collect), else from the newest zip entry
    time of the student's files, a local time read in ``c.LatePolicy.timezone`` (file times of
    an extracted zip say nothing); :mod:`dlgrader.submission_time` records which. Returns the
    (student, assignment) pairs collected.
    """
    from nbgrader.utils import capture_log, temp_attrs

    course_root = Path(course_root)
    _plain_name(assignment, "assignment")
    if assignment not in _source_assignments(course_root):
        raise ValueError(f"no assignment {assignment} in {course_root}/source")
    _stage_archive(course_root, assignment, zip_path)
    api = grading._api(course_root)
    zone = late.load(course_root, api.config).zone  # zip entry times are read in this zone
    pattern = named_regexp(course_root, assignment, regexp)
    released = list((course_root / "release" / assignment).rglob("*.ipynb"))
    log.debug("named_regexp: %s", pattern)
    with temp_attrs(api.coursedir, assignment_id=assignment):
        app = _zip_collect_app(api, pattern, strict=bool(released))
        result = capture_log(app)
    _report_nbgrader_log(result.get("log", ""))
    if not result["success"]:
        raise RuntimeError(f"zip_collect {assignment} failed:\n{result.get('log', '')}"
                           f"\n{result.get('error', '')}")
    students = set(app.collected)
    submission_time.record_zip_collect(course_root, assignment, app.collected, zone)
    _ensure_students(api.coursedir.db_url, students)
    return [(student, assignment) for student in sorted(students)]


# ----------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """``python -m dlgrader.collect folder SRC`` / ``zip ASSIGNMENT ZIP``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course-root", type=Path, default=argparse.SUPPRESS,
                        help="the nbgrader course folder (default: this repository)")
    parser = argparse.ArgumentParser(prog="python -m dlgrader.collect", parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)
    folder = sub.add_parser("folder", parents=[common],
                            help="collect SRC/<student>/<assignment>/ into submitted/")
    folder.add_argument("src", type=Path)
    folder.add_argument("--assignment", action="append", help="only this one (repeatable)")
    zipped = sub.add_parser("zip", parents=[common], help="collect an LMS zip download")
    zipped.add_argument("assignment")
    zipped.add_argument("zip", type=Path)
    zipped.add_argument("--regexp", help="nbgrader named_regexp (see the module docstring)")
    args = parser.parse_args(argv)
    root = getattr(args, "course_root", grading.REPO)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        if args.command == "folder":
            pairs = collect_folder(root, args.src, args.assignment)
        else:
            pairs = collect_zip(root, args.assignment, args.zip, args.regexp)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for student, assignment in pairs:
        print(f"{student}\t{assignment}")
    print(f"{len(pairs)} submission(s) collected", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
