"""Grades as a file the LMS imports as is: ``./course export OUT --lms canvas|moodle|brightspace``.

One row per student, one column per assignment (named as the assignment: create the LMS
items with the same names, or let the LMS create them on import). Each cell is the row's final
score (``final_score`` when the export has one, e.g. after a late penalty, else ``score``) with
at most two decimals and a point (``2.5``, ``3``); a student without a grade (missing, error, not
graded) gets an EMPTY cell, never 0, except missing work with ``--missing-as-zero`` (0, as in
grades.csv). An empty cell means "no grade": Canvas and Moodle clear a grade typed in the LMS
when the import holds an empty cell for it.

The files (in OUT):

* ``canvas_grades.csv``: ``Student, ID, SIS User ID, SIS Login ID, Section``, the assignments;
  the second row is ``Points Possible`` with each assignment's max score. Canvas finds the
  student by ID, else SIS User ID, else SIS Login ID (roster columns ``canvas_id``,
  ``canvas_sis_user_id``, ``canvas_sis_login_id``); see "How do I import grades in the
  Gradebook?", https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807
  and https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades
  (the student columns, then the assignment columns; Section closes the student columns).
* ``moodle_grades.csv``: one identity column, ``ID number`` (roster ``moodle_id_number``)
  when every student with graded work has one, else ``Email address`` (roster ``email``), then
  one
  column per grade item; no "Last downloaded from this course" column (its check against
  newer grades only applies to files exported by Moodle). On import, map the identity column
  to "useridnumber" or "useremail" and each column to its grade item: MoodleDocs, "Grade
  import", https://docs.moodle.org/311/en/Grade_import (emails are compared case-sensitively;
  Moodle aborts an import that names an unknown user).
* ``brightspace_grades.csv``: ``OrgDefinedId``, ``Username`` (roster ``d2l_org_defined_id``,
  ``d2l_username``; one is enough), one ``<assignment> Points Grade`` column per item, and the
  last column ``End-of-Line Indicator`` holding ``#`` on every row; ids are written ``#<id>``
  as Brightspace's own export does (a spreadsheet then keeps their leading zeros): D2L,
  "Importing grades", https://community.d2l.com/brightspace/kb/articles/3538-importing-grades,
  https://www2.tntech.edu/ilearn/Instructor/pages/semester-start/instructor-file_format_for_importing_grades.htm
  and https://kb.wisc.edu/page.php?id=4330 (the pound signs).

Students come from the export's rows; their LMS identity from the course roster (``./course
roster import`` fills it, :mod:`dlgrader.lms_roster`). A student with graded work but without
the identity the LMS needs stops the export with an :class:`LmsExportError` listing them all (a
grade silently missing from the file would be worse); a student without the identity and
without graded work (nothing, an error, or only the zeros of ``--missing-as-zero``: someone the
LMS does not know, such as a student who left) is left out of the file and named in the
summary.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from dlgrader.roster import RosterError, Student

__all__ = ["FILES", "FORMATS", "LmsExportError", "LmsTable", "build", "number", "summary",
           "write"]

FORMATS = ("canvas", "moodle", "brightspace")
#: The file each format writes in the export folder.
FILES = {"canvas": "canvas_grades.csv", "moodle": "moodle_grades.csv",
         "brightspace": "brightspace_grades.csv"}
TITLES = {"canvas": "Canvas", "moodle": "Moodle", "brightspace": "Brightspace"}
CANVAS_STUDENT = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_IDS = ("canvas_id", "canvas_sis_user_id", "canvas_sis_login_id")
MOODLE_IDS = (("ID number", "moodle_id_number"), ("Email address", "email"))
D2L_IDS = (("OrgDefinedId", "d2l_org_defined_id"), ("Username", "d2l_username"))
END_OF_LINE = "End-of-Line Indicator"


class LmsExportError(RosterError):
    """The LMS file cannot be written: students with grades lack their LMS identity."""


@dataclass
class LmsTable:
    """The rows of an LMS file (header first), before it is written."""

    format: str
    rows: list[list[str]]
    left_out: list[str] = field(default_factory=list)

    @property
    def file(self) -> str:
        return FILES[self.format]


def number(value: float) -> str:
    """A score for an LMS: rounded half up to two decimals, point as separator, no trailing
    zeros, no exponent (``2.5``, ``3``, ``0.33``)."""
    text = format(Decimal(repr(float(value))).quantize(Decimal("0.01"), ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _value(row: dict) -> str:
    """The cell of one export row: its final score, or empty when it has no grade."""
    if row["status"] not in ("graded", "missing"):
        return ""  # error, not graded: no grade, whatever the row's score says
    score = row.get("final_score", row["score"])
    if score is None:  # a missing row scored 0 by --missing-as-zero has no final score
        score = row["score"]
    return "" if score is None else number(score)


def _grid(rows: Iterable[dict]) -> tuple[list[str], dict[str, float | None],
                                         dict[str, dict[str, str]], list[str]]:
    """(assignments in order, their max scores, student -> assignment -> cell, the students
    with a graded submission)."""
    assignments: dict[str, float | None] = {}
    cells: dict[str, dict[str, str]] = {}
    graded: dict[str, None] = {}
    for row in rows:
        if assignments.get(row["assignment"]) is None:
            assignments[row["assignment"]] = row["max_score"]
        cells.setdefault(row["student"], {})[row["assignment"]] = _value(row)
        if row["status"] == "graded" and _value(row):
            graded[row["student"]] = None
    return list(assignments), assignments, cells, list(graded)


def _canvas_name(student: Student | None, sid: str) -> str:
    """Canvas' sortable name, "Last, First" (Canvas matches it only when no id matches)."""
    if student is None or not (student.first_name or student.last_name):
        return sid
    return ", ".join(p for p in (student.last_name, student.first_name) if p)


def _identity(fmt: str, student: Student | None, moodle_column: str = "email"
              ) -> list[str] | None:
    """The identity cells of ``student`` in ``fmt``'s file, or None when it has none."""
    if student is None:
        return None
    if fmt == "canvas":
        ids = [student.extra(c) or "" for c in CANVAS_IDS]
        if not any(ids):
            return None
        return [_canvas_name(student, student.student_id), *ids,
                student.extra("canvas_section") or ""]
    if fmt == "moodle":
        value = student.email if moodle_column == "email" else student.extra(moodle_column)
        return [value] if value else None
    ids = [student.extra(c) or "" for _, c in D2L_IDS]
    return [f"#{i}" if i else "" for i in ids] if any(ids) else None


def _moodle_column(wanted: list[str], by_id: dict[str, Student]) -> str:
    """The roster column that identifies the students of ``wanted`` (those with graded work)
    in Moodle: the ID number when every one has one, else the email."""
    ids = [by_id[s].extra("moodle_id_number") if s in by_id else None for s in wanted]
    return "moodle_id_number" if all(ids) else "email"


def _needed(fmt: str) -> str:
    return {"canvas": "canvas_id, canvas_sis_user_id or canvas_sis_login_id",
            "moodle": "moodle_id_number or email",
            "brightspace": "d2l_org_defined_id or d2l_username"}[fmt]


def build(fmt: str, rows: list[dict], students: Iterable[Student]) -> LmsTable:
    """The LMS file of the export ``rows`` (of :func:`dlgrader.report.collect_rows`) with the
    roster ``students``; LmsExportError when a student with graded work lacks the identity."""
    if fmt not in FORMATS:
        raise LmsExportError(f"unknown LMS {fmt!r}: choose one of {', '.join(FORMATS)}")
    by_id = {s.student_id: s for s in students}
    assignments, maxima, cells, graded = _grid(rows)
    moodle = _moodle_column(graded, by_id)
    lacking = [sid for sid in graded if _identity(fmt, by_id.get(sid), moodle) is None]
    if lacking:
        raise LmsExportError(
            f"cannot write the {TITLES[fmt]} file {FILES[fmt]}: {len(lacking)} student(s) with "
            f"graded work have no {TITLES[fmt]} identity in the roster (column {_needed(fmt)}): "
            f"{', '.join(sorted(lacking))}. Import the class list (./course roster import "
            f"FILE) or fill those columns of roster.csv; nothing was written")
    body, left_out = [], []
    for sid in sorted(cells, key=lambda s: (_canvas_name(by_id.get(s), s).lower(), s)):
        identity = _identity(fmt, by_id.get(sid), moodle)
        if identity is None:
            left_out.append(sid)
            continue
        body.append([*identity, *(cells[sid].get(a, "") for a in assignments)]
                    + (["#"] if fmt == "brightspace" else []))
    if fmt == "canvas":
        header = [*CANVAS_STUDENT, *assignments]
        points = ["Points Possible", "", "", "", "",
                  *("" if maxima[a] is None else number(maxima[a]) for a in assignments)]
        table = [header, points, *body]
    elif fmt == "moodle":
        label = next(name for name, column in MOODLE_IDS if column == moodle)
        table = [[label, *assignments], *body]
    else:
        header = [*(name for name, _ in D2L_IDS), *(f"{a} Points Grade" for a in assignments),
                  END_OF_LINE]
        table = [header, *body]
    return LmsTable(fmt, table, left_out)


def write(table: LmsTable, out_dir: Path) -> Path:
    """Write ``table`` as ``out_dir/<its file>`` (UTF-8, comma separated); its path."""
    path = Path(out_dir) / table.file
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(table.rows)
    return path


def summary(document: dict) -> list[str]:
    """Lines for the terminal about the LMS file of an export document (none without)."""
    made = document.get("lms")
    if not made:
        return []
    lines = [f"wrote {made['file']} ({TITLES[made['format']]} grade import)"]
    if made["left_out"]:
        lines.append(f"left out of {Path(made['file']).name} (no {TITLES[made['format']]} "
                     f"identity in the roster, no grade to import): "
                     f"{', '.join(made['left_out'])}")
    return lines
