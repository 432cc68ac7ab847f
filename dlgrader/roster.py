"""The course roster: every student expected to hand in each assignment.

``roster.csv`` in the course folder (or any path given) is a CSV file with a header row::

    student_id,first_name,last_name,email
    ann,Ann,Lee,ann.lee@example.org
    bob,Bob,,

Column names are case-insensitive, in any order. ``student_id`` is required, in the header and
in every row: nbgrader's student id (the folder ``submitted/<student_id>/``), not empty, no
``/`` or ``\\``, not starting with ``.``, listed once. ``first_name``, ``last_name`` and
``email`` may be empty or absent (the roster of ``collect git``, ``student_id,repository``, is a
roster without names). Other columns (``repository``, the LMS identities that
``./course roster import`` writes: :mod:`dlgrader.lms_roster`) are kept in
:attr:`Student.extras` and written back, so one file can serve every command. Blank lines are
skipped; UTF-8, with or without the byte-order mark that spreadsheet programs write.

The course's students are that file's, plus ``c.CourseDirectory.db_students`` in
``nbgrader_config.py`` (a list of dicts with ``id``, ``first_name``, ``last_name``, ``email``,
the form of nbgrader's old ``c.NbGrader.db_students``, also read; nbgrader 0.9 itself ignores
both), plus the students already in nbgrader's gradebook (grading adds each student it grades;
``nbgrader db student import`` and the formgrader add others). :func:`sync_gradebook` writes the
names and emails into the gradebook, so that the formgrader lists students by name.

An importer from another source (an LMS export: :mod:`dlgrader.lms_roster`) builds
:class:`Student` values and calls :func:`write_roster` or :func:`sync_gradebook`.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

__all__ = ["COLUMNS", "read_table", "ROSTER_FILE", "RosterError", "Student", "config_students",
           "course_roster", "gradebook_students", "merge", "read_roster", "sync_gradebook",
           "write_roster"]

#: The roster's file name in the course folder.
ROSTER_FILE = "roster.csv"
#: The roster's columns; the first is required.
COLUMNS = ("student_id", "first_name", "last_name", "email")
#: Where the student id may stand, the first present is used: this kit's column, then GitHub
#: Classroom's (its grades export, also read by ``collect git``).
ID_COLUMNS = ("student_id", "github_username", "roster_identifier")


class RosterError(ValueError):
    """A roster that cannot be used: unreadable, a column missing, a bad or repeated id."""


@dataclass(frozen=True)
class Student:
    """One student of the course; empty fields are None.

    ``extras``: the roster file's other non-empty columns (column name as in the file ->
    value), such as ``repository`` or the LMS identities (``canvas_id``, ...). They are not
    compared: two Students with the same id, names and email are equal."""

    student_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    extras: dict[str, str] = field(default_factory=dict, compare=False)

    def extra(self, column: str) -> str | None:
        """The non-empty value of the extra column ``column`` (any case), else None."""
        wanted = column.strip().lower()
        return next((v for k, v in self.extras.items() if k.strip().lower() == wanted and v),
                    None)

    @property
    def name(self) -> str | None:
        """'First Last', or None when the roster gives neither."""
        return " ".join(p for p in (self.first_name, self.last_name) if p) or None

    def details(self) -> dict[str, str]:
        """The non-empty first_name, last_name and email (nbgrader's Student fields)."""
        return {f: getattr(self, f) for f in COLUMNS[1:] if getattr(self, f)}


def id_problem(student_id: str) -> str | None:
    """Why ``student_id`` cannot be a student id (a folder of submitted/), or None."""
    if not student_id:
        return "an empty student_id"
    if student_id.startswith(".") or "/" in student_id or "\\" in student_id:
        return f"student_id {student_id!r} (it may not start with '.' or contain '/' or '\\')"
    return None


def _clean(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def read_table(path: Path) -> tuple[dict[str, str], list[tuple[int, dict[str, str]]]]:
    """A roster CSV's columns (lower-cased name -> name in the file) and its rows with their
    line numbers; RosterError when the file cannot be read."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = {name.strip().lower(): name for name in reader.fieldnames or []
                       if name is not None}
            return columns, [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RosterError(f"cannot read roster {path}: {error}") from None


def read_roster(path: Path) -> list[Student]:
    """The students of the roster CSV ``path``, in file order; RosterError when unusable."""
    path = Path(path)
    columns, rows = read_table(path)
    id_column = next((c for c in ID_COLUMNS if c in columns), None)
    if id_column is None:
        raise RosterError(
            f"roster {path} has no column {' or '.join(ID_COLUMNS)}: it needs a header row "
            f"{','.join(COLUMNS)} (names and email may be left out; it has: "
            f"{', '.join(columns.values()) or 'no header'})")
    columns["student_id"] = columns[id_column]
    students: list[Student] = []
    lines: dict[str, int] = {}
    for line, row in rows:
        values = {c: _clean(row.get(columns[c])) if c in columns else None for c in COLUMNS}
        if not any(_clean(v) for k, v in row.items() if k is not None):
            continue  # a blank line
        problem = id_problem(values["student_id"] or "")
        if problem:
            raise RosterError(f"roster {path}, line {line}: {problem}")
        sid = values["student_id"]
        if sid in lines:
            raise RosterError(f"roster {path}: student_id {sid!r} is listed twice "
                              f"(lines {lines[sid]} and {line})")
        lines[sid] = line
        extras = {name.strip(): value.strip() for name, value in row.items()
                  if name is not None and name.strip().lower() not in COLUMNS
                  and isinstance(value, str) and value.strip()}
        students.append(Student(**values, extras=extras))
    return students


def write_roster(path: Path, students: Iterable[Student],
                 extra_columns: Iterable[str] = ()) -> Path:
    """Write ``students`` as a roster CSV (the format :func:`read_roster` reads): the
    standard columns, then ``extra_columns`` (kept even when empty), then any other extra
    column of the students, in the order first seen. The file is replaced at once (a
    temporary file renamed), so a failure leaves the old roster whole."""
    path = Path(path)
    students = list(students)
    extra: dict[str, str] = {}  # lower-cased name -> name as written
    for name in [*extra_columns, *(k for s in students for k in s.extras)]:
        if name.strip().lower() not in COLUMNS:
            extra.setdefault(name.strip().lower(), name.strip())
    handle = tempfile.NamedTemporaryFile("w", newline="", encoding="utf-8", dir=path.parent,
                                         prefix=f".{path.name}.", delete=False)
    try:
        with handle:
            writer = csv.writer(handle)
            writer.writerow([*COLUMNS, *extra.values()])
            for s in students:
                writer.writerow([getattr(s, f) or "" for f in COLUMNS]
                                + [s.extra(name) or "" for name in extra.values()])
        os.chmod(handle.name, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return path


def config_students(course_root: Path) -> list[Student]:
    """``c.CourseDirectory.db_students`` (or the older ``c.NbGrader.db_students``) of the
    course's ``nbgrader_config.py``; RosterError when malformed."""
    from traitlets.config.loader import PyFileConfigLoader

    if not (Path(course_root) / "nbgrader_config.py").exists():
        return []
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    students: list[Student] = []
    for section in ("CourseDirectory", "NbGrader"):
        if section not in config or "db_students" not in config[section]:
            continue
        where = f"c.{section}.db_students in {Path(course_root) / 'nbgrader_config.py'}"
        entries = config[section]["db_students"]
        if not isinstance(entries, list | tuple):
            raise RosterError(f"{where} must be a list of dicts, not {type(entries).__name__}")
        seen: set[str] = set()
        for number, entry in enumerate(entries, 1):
            if not isinstance(entry, dict):
                raise RosterError(f"{where}: entry {number} is not a dict")
            sid = _clean(entry.get("id", entry.get("student_id"))) or ""
            problem = id_problem(sid)
            if problem:
                raise RosterError(f"{where}: entry {number} has {problem} (key 'id')")
            if sid in seen:
                raise RosterError(f"{where}: id {sid!r} is listed twice")
            seen.add(sid)
            students.append(Student(sid, *(_clean(entry.get(f)) for f in COLUMNS[1:])))
    return students


def gradebook_students(db_url: str | None) -> list[Student]:
    """The students of nbgrader's gradebook (none when ``db_url`` is None)."""
    if db_url is None:
        return []
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return [Student(s.id, _clean(s.first_name), _clean(s.last_name), _clean(s.email))
                for s in gb.students]


def merge(*sources: Iterable[Student]) -> list[Student]:
    """One Student per id, first seen first; a field (or extra column) empty in an earlier
    source is filled from a later one (the roster file's names win over the gradebook's)."""
    merged: dict[str, Student] = {}
    for source in sources:
        for s in source:
            known = merged.get(s.student_id)
            if known is None:
                merged[s.student_id] = s
            else:
                merged[s.student_id] = replace(known, extras={**s.extras, **known.extras}, **{
                    f.name: getattr(s, f.name) for f in fields(Student)
                    if f.name != "extras" and getattr(known, f.name) is None
                    and getattr(s, f.name) is not None})
    return list(merged.values())


def course_roster(course_root: Path, path: Path | None = None) -> list[Student]:
    """The roster file's students (``path``, else ``roster.csv`` of the course folder when it
    exists) and ``db_students`` of the course's nbgrader_config.py; not the gradebook's."""
    course_root = Path(course_root)
    if path is None and (course_root / ROSTER_FILE).exists():
        path = course_root / ROSTER_FILE
    listed = read_roster(path) if path is not None else []
    return merge(listed, config_students(course_root))


def sync_gradebook(course_root: Path, students: Iterable[Student] | None = None) -> int:
    """Add ``students`` (default: :func:`course_roster`) to the course's gradebook, or update
    their names and emails (nbgrader's ``Gradebook.update_or_create_student``; an empty
    field never erases what the gradebook holds). Returns how many were added or changed; with
    no student, the gradebook is not opened (nor created)."""
    from nbgrader.api import Gradebook

    from dlgrader import grading

    students = list(course_roster(course_root) if students is None else students)
    if not students:
        return 0
    db_url = grading._api(Path(course_root)).coursedir.db_url
    changed = 0
    with Gradebook(db_url) as gb:
        known = {s.id: s for s in gb.students}
        for student in students:
            details = student.details()
            current = known.get(student.student_id)
            if current is not None and all(getattr(current, k) == v for k, v in details.items()):
                continue
            gb.update_or_create_student(student.student_id, **details)
            changed += 1
    return changed
