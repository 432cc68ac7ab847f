"""Import an LMS class list into the course roster: ``./course roster import FILE``.

Three class lists are read, recognised by their header (or named with ``--format``):

* **Canvas**: the gradebook export (Grades > Export): ``Student`` ("Last, First"), ``ID``,
  ``SIS User ID``, ``SIS Login ID``, ``Section``, then the assignments. Its "Points Possible"
  row, the test student ("Student, Test") and rows without a student are skipped.
* **Moodle**: the grade export as a plain text file (Grades > Export) or the participants
  page's download: ``First name``, ``Last name``, ``Email address`` (``ID number`` when
  shown). When a ``Roles`` column is present, only rows whose roles include Student are read.
* **Brightspace** (D2L): the grades export: ``OrgDefinedId`` and/or ``Username``,
  ``Last Name``, ``First Name``, ``Email``, ..., ``End-of-Line Indicator`` (the ``#`` its
  export writes before ids is dropped).

Each student becomes a row of the course's ``roster.csv`` (:mod:`dlgrader.roster`): the
nbgrader student id, the name, and the LMS identity that ``./course export OUT --lms``
(:mod:`dlgrader.lms_export`) needs to write a file the LMS imports. Roster columns:

========== ===================================================================================
Canvas     ``canvas_id``, ``canvas_sis_user_id``, ``canvas_sis_login_id``, ``canvas_section``
Moodle     ``email``, ``moodle_id_number``
Brightspace ``email``, ``d2l_org_defined_id``, ``d2l_username``
========== ===================================================================================

The student id (a folder of ``submitted/``, so it must pass :func:`roster.id_problem`) is
taken by default from the column that is readable, stable and known to the student: Canvas
``SIS Login ID`` (the institution login), Moodle ``Email address`` (always exported; ``ID
number`` is often empty), Brightspace ``Username``. ``--id-column`` names another column of
the file (e.g. ``ID`` for Canvas' numeric user id). A row without a usable id stops the import.

Merging keeps every row and column of the existing roster. An imported student is matched to
an existing row by student id, else by an LMS identity the row already holds (the Canvas ids,
the email, the ID number): a matched row keeps its student id (its folders in ``submitted/``)
and takes the LMS's name and identity; an unmatched student is added. Nothing is written when
the file cannot be read or a row is unusable.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from dlgrader import grading, roster
from dlgrader.roster import RosterError, Student

__all__ = ["FORMATS", "Format", "ImportResult", "add_arguments", "import_roster", "read_class_list",
           "run"]


@dataclass(frozen=True)
class Format:
    """One LMS class list: how to recognise it and what of it the roster keeps."""

    name: str
    title: str
    source: str
    #: the columns it is read by, in words
    columns: str
    #: header names (lower case) that identify the format; any one set, all of its names
    signatures: tuple[frozenset[str], ...]
    #: LMS column -> roster column
    identity: tuple[tuple[str, str], ...]
    default_id: str
    #: (first name column, last name column), or None: a "Last, First" column named by `name`
    names: tuple[str, str] | None
    name_column: str | None = None

    def expected(self) -> str:
        """The file and the columns this format needs, in words."""
        return f"{self.title} ({self.source}): columns {self.columns}"


CANVAS = Format(
    "canvas", "Canvas", "Grades > Export, the gradebook CSV",
    "Student, ID, SIS User ID, SIS Login ID, Section (the SIS columns when you may see them)",
    (frozenset({"student", "id", "section"}),),
    (("ID", "canvas_id"), ("SIS User ID", "canvas_sis_user_id"),
     ("SIS Login ID", "canvas_sis_login_id"), ("Section", "canvas_section")),
    "SIS Login ID", None, "Student")
MOODLE = Format(
    "moodle", "Moodle", "the grade export as a plain text file, or the participants download",
    "First name, Last name, Email address (and ID number when shown)",
    (frozenset({"first name", "last name", "email address"}),),
    (("Email address", "email"), ("ID number", "moodle_id_number")),
    "Email address", ("First name", "Last name"))
BRIGHTSPACE = Format(
    "brightspace", "Brightspace", "Grades > Export, the grades CSV",
    "OrgDefinedId and/or Username, Last Name, First Name, Email, End-of-Line Indicator",
    (frozenset({"orgdefinedid", "end-of-line indicator"}),
     frozenset({"username", "end-of-line indicator"})),
    (("Email", "email"), ("OrgDefinedId", "d2l_org_defined_id"), ("Username", "d2l_username")),
    "Username", ("First Name", "Last Name"))
#: The formats, in the order they are tried on a header.
FORMATS = {f.name: f for f in (CANVAS, MOODLE, BRIGHTSPACE)}
#: Canvas' test student, in its export (sortable name) and as displayed.
CANVAS_TEST_STUDENT = ("student, test", "test student")


@dataclass
class ImportResult:
    """What an import did: the roster written and the students added, updated, unchanged."""

    path: Path
    format: Format
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    skipped: list[str]

    def summary(self) -> str:
        """One paragraph for the terminal."""
        def some(ids: list[str]) -> str:
            return f" ({', '.join(ids[:8])}{', ...' if len(ids) > 8 else ''})" if ids else ""

        lines = [f"{self.format.title} class list merged into {self.path}: "
                 f"{len(self.added)} added{some(self.added)}, {len(self.updated)} updated"
                 f"{some(self.updated)}, {len(self.unchanged)} unchanged"]
        if self.skipped:
            lines.append(f"skipped rows: {'; '.join(self.skipped)}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- reading


def _read(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the rows (with their line numbers) of a CSV file; comma, semicolon or
    tab separated (Canvas and Moodle can export either), UTF-8 with or without BOM."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RosterError(f"cannot read the class list {path}: {error}") from None
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as error:
        raise RosterError(f"cannot read the class list {path}: {error}") from None
    if not rows:
        raise RosterError(f"the class list {path} is empty: {_all_expected()}")
    return [h.strip() for h in rows[0][1]], rows[1:]


def _all_expected() -> str:
    return "expected one of: " + "; ".join(f.expected() for f in FORMATS.values())


def detect(header: list[str]) -> Format | None:
    """The format whose columns the header has, or None."""
    have = {h.lower() for h in header}
    return next((f for f in FORMATS.values() if any(s <= have for s in f.signatures)), None)


def _clean(fmt: Format, column: str, value: str | None) -> str:
    text = (value or "").strip()
    if fmt is BRIGHTSPACE and column.lower() in ("orgdefinedid", "username"):
        text = text.removeprefix("#")  # its export's guard against spreadsheets
    return text


def _skip(fmt: Format, cell: dict[str, str]) -> str | None:
    """Why a row is not a student (None: it is one)."""
    if fmt is CANVAS:
        name = cell.get("student", "")
        if "points possible" in name.lower():
            return "the Points Possible row"
        if name.lower() in CANVAS_TEST_STUDENT:
            return f"the test student {name!r}"
        if not name and not cell.get("id"):
            return "a row without a student"
    if fmt is MOODLE and "roles" in cell and cell["roles"] and \
            "student" not in cell["roles"].lower():
        return f"{cell.get('email address') or 'a participant'} (roles: {cell['roles']})"
    if fmt is BRIGHTSPACE and not (cell.get("orgdefinedid") or cell.get("username")):
        return "a row without OrgDefinedId or Username"
    return None


def _name(fmt: Format, cell: dict[str, str]) -> tuple[str | None, str | None]:
    """(first name, last name) of a row."""
    if fmt.names:
        first, last = (cell.get(c.lower()) or None for c in fmt.names)
        return first, last
    whole = cell.get((fmt.name_column or "").lower(), "")
    if "," in whole:  # Canvas' sortable name, "Last, First"
        last, _, first = whole.partition(",")
        return first.strip() or None, last.strip() or None
    return whole or None, None


def read_class_list(path: Path, fmt: str | None = None, id_column: str | None = None
                    ) -> tuple[Format, list[Student], list[str], list[str]]:
    """(format, students, skipped rows, roster columns it fills) of an LMS class list;
    RosterError naming every unusable row."""
    header, rows = _read(path)
    found = detect(header)
    if fmt is None and found is None:
        raise RosterError(f"{path} is not a class list this kit reads: its header has "
                          f"{', '.join(header) or 'nothing'}; {_all_expected()}")
    chosen = FORMATS[fmt] if fmt else found
    if found is not chosen:
        raise RosterError(f"{path} does not look like a {chosen.expected()}; its header has "
                          f"{', '.join(header) or 'nothing'}")
    lower = [h.lower() for h in header]
    id_column = id_column or chosen.default_id
    if id_column.lower() not in lower:
        raise RosterError(f"{path} has no column {id_column!r} for the student id "
                          f"(--id-column names one of: {', '.join(h for h in header if h)})")
    identity = [(lms, col) for lms, col in chosen.identity if lms.lower() in lower]
    students: list[Student] = []
    skipped: list[str] = []
    problems: list[str] = []
    lines: dict[str, int] = {}
    for line, values in rows:
        cell = {}
        for name, value in zip(lower, values, strict=False):
            cell.setdefault(name, _clean(chosen, name, value))
        if not any(cell.values()):
            continue  # a blank line
        why = _skip(chosen, cell)
        if why:
            skipped.append(f"line {line}: {why}")
            continue
        first, last = _name(chosen, cell)
        who = " ".join(p for p in (first, last) if p) or "a student without a name"
        sid = cell.get(id_column.lower(), "")
        problem = roster.id_problem(sid)
        if problem:
            problems.append(f"line {line} ({who}): {problem} in column {id_column!r}")
            continue
        if sid in lines:
            problems.append(f"line {line} ({who}): student id {sid!r} of column {id_column!r} "
                            f"is already on line {lines[sid]}")
            continue
        lines[sid] = line
        details = {col: cell[lms.lower()] for lms, col in identity if cell.get(lms.lower())}
        email = details.pop("email", None)
        students.append(Student(sid, first, last, email, extras=details))
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise RosterError(f"{path}: no student id for every student, nothing imported:\n  "
                          + "\n  ".join(problems[:10]) + more + "\n(--id-column chooses "
                          "another column; the id must be a usable folder name)")
    return chosen, students, skipped, [col for _, col in identity if col != "email"]


# ----------------------------------------------------------------------------- merging


def _identities(fmt: Format, student: Student) -> set[tuple[str, str]]:
    """The (roster column, value) pairs that identify ``student`` in ``fmt``'s LMS."""
    out = set()
    for _, col in fmt.identity:
        if col == "canvas_section":
            continue  # a section names many students
        value = student.email if col == "email" else student.extra(col)
        if value:
            out.add((col, value.lower() if col == "email" else value))
    return out


def _update(old: Student, new: Student) -> Student:
    """``old`` with ``new``'s non-empty name, email and LMS columns."""
    wanted = {k.lower() for k in new.extras}
    extras = {k: v for k, v in old.extras.items() if k.lower() not in wanted}
    return replace(old, first_name=new.first_name or old.first_name,
                   last_name=new.last_name or old.last_name, email=new.email or old.email,
                   extras={**extras, **new.extras})


def _same(a: Student, b: Student) -> bool:
    return a == b and {k.lower(): v for k, v in a.extras.items()} == \
        {k.lower(): v for k, v in b.extras.items()}


def merge(fmt: Format, existing: list[Student], imported: list[Student]
          ) -> tuple[list[Student], list[str], list[str], list[str]]:
    """(merged roster, added ids, updated ids, unchanged ids); RosterError when an imported
    student matches two roster rows or two imported students match one row."""
    merged = list(existing)
    by_id = {s.student_id: i for i, s in enumerate(merged)}
    added, updated, unchanged = [], [], []
    claimed: dict[int, str] = {}
    for student in imported:
        index = by_id.get(student.student_id)
        if index is None:
            keys = _identities(fmt, student)
            matches = {i for i, s in enumerate(existing) if keys & _identities(fmt, s)}
            if len(matches) > 1:
                raise RosterError(
                    f"{student.student_id} of the class list matches several roster rows "
                    f"({', '.join(existing[i].student_id for i in sorted(matches))}) by its "
                    f"{fmt.title} identity: correct roster.csv first; nothing imported")
            index = matches.pop() if matches else None
        if index is None:
            merged.append(student)
            by_id[student.student_id] = len(merged) - 1
            added.append(student.student_id)
            continue
        if index in claimed:
            raise RosterError(f"{claimed[index]} and {student.student_id} of the class list "
                              f"both match the roster row {merged[index].student_id}; "
                              "nothing imported")
        claimed[index] = student.student_id
        new = _update(merged[index], student)
        (unchanged if _same(new, merged[index]) else updated).append(new.student_id)
        merged[index] = new
    return merged, added, updated, unchanged


def import_roster(course_root: Path, path: Path, fmt: str | None = None,
                  id_column: str | None = None) -> ImportResult:
    """Merge the LMS class list ``path`` into ``course_root/roster.csv`` (created when absent);
    RosterError, with nothing written, when the list or the roster cannot be used."""
    target = Path(course_root) / roster.ROSTER_FILE
    chosen, students, skipped, filled = read_class_list(Path(path), fmt, id_column)
    existing, columns = [], []
    if target.exists():
        existing = roster.read_roster(target)
        columns = [name for name in roster.read_table(target)[0].values()]
    merged, added, updated, unchanged = merge(chosen, existing, students)
    roster.write_roster(target, merged, [*columns, *filled])
    return ImportResult(target, chosen, added, updated, unchanged, skipped)


# ----------------------------------------------------------------------------- CLI

HELP = """\
Merge an LMS class list into the course's roster.csv (student id, name, email and the LMS
identity that `export OUT --lms` needs). Read: Canvas' gradebook export (Student, ID, SIS
User ID, SIS Login ID, Section), Moodle's grade export or participants download (First name,
Last name, Email address, ID number), Brightspace's grades export (OrgDefinedId, Username,
..., End-of-Line Indicator). The student id (a folder name of submitted/) comes from Canvas'
SIS Login ID, Moodle's Email address or Brightspace's Username unless --id-column names
another column. Existing roster rows and columns are kept; a student already on the roster
(same id, or same LMS id or email) is updated and keeps their student id."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``roster`` command's subcommands (``import``)."""
    sub = parser.add_subparsers(dest="roster_command", required=True)
    command = sub.add_parser("import", help="merge an LMS class list into roster.csv",
                             description=HELP)
    command.add_argument("file", type=Path, help="the CSV file exported by the LMS")
    command.add_argument("--format", choices=list(FORMATS),
                         help="the LMS (default: recognised from the header)")
    command.add_argument("--id-column", metavar="COLUMN",
                         help="the file's column that becomes the nbgrader student id "
                              "(default: Canvas 'SIS Login ID', Moodle 'Email address', "
                              "Brightspace 'Username')")
    command.add_argument("--course", type=Path, default=grading.REPO,
                         help="the course folder whose roster.csv is written "
                              "(default: this kit)")


def run(args: argparse.Namespace) -> int:
    """``roster import``: print what changed; exit 1 with the reason when nothing could be."""
    try:
        result = import_roster(args.course.resolve(), args.file, args.format, args.id_column)
    except RosterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0
