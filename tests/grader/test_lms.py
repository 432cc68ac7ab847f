"""Grades into the LMS: ``roster import`` of Canvas, Moodle and Brightspace class lists
(dlgrader.lms_roster), ``export --lms`` files checked against each LMS's documented import
format (dlgrader.lms_export), and the per-function scores of the export
(dlgrader.function_scores), on a tiny course graded for real."""

import csv
import json
import shutil

import pytest
from tiny_course import TINY

from dlgrader import cli, grading, lms_export, lms_roster, pipeline, report, roster

A, B = "99_tiny", "98_tiny"

ROSTER = ("student_id,first_name,last_name,email,repository\n"
          "ann,Ann,Lee,ann.lee@example.org,https://example.org/ann.git\n"
          "wes,Wes,,wes@example.org,\nbob,,,bob@example.org,\ndan,Dan,Roe,dan@example.org,\n"
          "zoe,Zoe,Ng,,\n")
# Canvas' gradebook export (Grades > Export): the Points Possible row, a test student.
CANVAS = ("Student,ID,SIS User ID,SIS Login ID,Section,99_tiny (101),98_tiny (102),"
          "Current Score,Unposted Current Score,Final Score,Unposted Final Score\n"
          "    Points Possible,,,,,3.00,3.00,(read only),(read only),(read only),(read only)\n"
          '"Lee, Ann",1001,S001,ann,NNDL A,,,,,,\n'
          "Wes,1002,S002,wes,NNDL A,,,,,,\n"
          '"Bo, Bob",1003,S003,bob,NNDL B,,,,,,\n'
          '"Roe, Dan",1004,007,dan,NNDL B,,,,,,\n'
          '"Student, Test",1999,,,NNDL A,,,,,,\n')
# Moodle's grade export (plain text file): its own "Last downloaded" column.
MOODLE = ("First name,Last name,ID number,Institution,Department,Email address,"
          "Assignment: 99_tiny (Real),Course total (Real),Last downloaded from this course\n"
          "Ann,Lee,S001,,,Ann.Lee@example.org,-,-,1700000000\n"
          "Wes,,,,,wes@example.org,-,-,1700000000\n"
          "Bob,Bo,S003,,,bob@example.org,-,-,1700000000\n"
          "Dan,Roe,S004,,,dan@example.org,-,-,1700000000\n")
# Brightspace's grades export: '#' before ids, the End-of-Line Indicator column.
BRIGHTSPACE = ("OrgDefinedId,Username,Last Name,First Name,Email,"
               "99_tiny Points Grade <Numeric MaxPoints:3>,End-of-Line Indicator\n"
               "#00101,#ann,Lee,Ann,Ann.Lee@example.org,,#\n#00102,#wes,,Wes,wes@example.org,,#\n"
               "#00103,#bob,Bo,Bob,bob@example.org,,#\n#00104,#dan,Roe,Dan,dan@example.org,,#\n")


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def by_id(students):
    return {s.student_id: s for s in students}


# ----------------------------------------------------------------------------- roster import


def test_canvas_import_merges_into_the_roster(tmp_path):
    """The Canvas ids, section and name of each student land in their roster row (matched by
    SIS Login ID = student id); the Points Possible row and the test student are skipped;
    existing rows (zoe) and columns (repository) stay; a second import changes nothing."""
    write(tmp_path / "roster.csv", ROSTER)
    result = lms_roster.import_roster(tmp_path, write(tmp_path / "canvas.csv", CANVAS))
    assert result.format.name == "canvas"
    assert (result.added, result.updated, result.unchanged) == \
        ([], ["ann", "wes", "bob", "dan"], [])
    assert [s.split(":")[1].strip() for s in result.skipped] == \
        ["the Points Possible row", "the test student 'Student, Test'"]
    header, *rows = read_csv(tmp_path / "roster.csv")
    assert header == ["student_id", "first_name", "last_name", "email", "repository",
                      "canvas_id", "canvas_sis_user_id", "canvas_sis_login_id", "canvas_section"]
    assert rows[0] == ["ann", "Ann", "Lee", "ann.lee@example.org", "https://example.org/ann.git",
                       "1001", "S001", "ann", "NNDL A"]
    assert rows[2][:3] == ["bob", "Bob", "Bo"] and rows[3][6] == "007"  # leading zero kept
    assert rows[4] == ["zoe", "Zoe", "Ng", "", "", "", "", "", ""]
    students = by_id(roster.read_roster(tmp_path / "roster.csv"))
    assert students["ann"].extra("CANVAS_ID") == "1001" and students["zoe"].extras == {}
    again = lms_roster.import_roster(tmp_path, tmp_path / "canvas.csv")
    assert (again.added, again.updated, len(again.unchanged)) == ([], [], 4)


def test_import_into_a_new_roster_and_id_column(tmp_path):
    """Without a roster.csv, the import writes one; --id-column ID takes Canvas' user id."""
    result = lms_roster.import_roster(tmp_path, write(tmp_path / "c.csv", CANVAS),
                                      id_column="id")
    assert result.added == ["1001", "1002", "1003", "1004"]
    students = roster.read_roster(tmp_path / "roster.csv")
    assert (students[0].student_id, students[0].name, students[0].extra("canvas_sis_login_id")) \
        == ("1001", "Ann Lee", "ann")


def test_moodle_import_matches_by_email(tmp_path):
    """Moodle's default id is the email: a roster row with the same email (any case) is
    updated and keeps its student id; Moodle's spelling of the email is kept (its import
    compares emails case-sensitively); the 'Last downloaded' column is not an identity."""
    write(tmp_path / "roster.csv", ROSTER)
    result = lms_roster.import_roster(tmp_path, write(tmp_path / "m.csv", MOODLE))
    assert (result.format.name, result.added, result.updated, result.unchanged) == \
        ("moodle", [], ["ann", "bob", "dan"], ["wes"])  # wes: same name and email, no ID
    students = by_id(roster.read_roster(tmp_path / "roster.csv"))
    assert (students["ann"].email, students["ann"].extra("moodle_id_number")) == \
        ("Ann.Lee@example.org", "S001")
    assert students["wes"].extra("moodle_id_number") is None
    assert students["bob"].name == "Bob Bo"


def test_moodle_participants_and_brightspace(tmp_path):
    """Moodle's participants download (Roles: teachers left out, semicolons) and
    Brightspace's grades export ('#' dropped, Username as id) are read too."""
    participants = ("First name;Last name;Email address;Roles;Groups;Last access to course\n"
                    "Ann;Lee;ann@example.org;Student;G1;now\n"
                    "Tom;Teach;tom@example.org;Teacher;;now\n")
    result = lms_roster.import_roster(tmp_path, write(tmp_path / "p.csv", participants))
    assert result.added == ["ann@example.org"] and "tom@example.org" in result.skipped[0]
    other = tmp_path / "d2l"
    other.mkdir()
    result = lms_roster.import_roster(other, write(tmp_path / "b.csv", BRIGHTSPACE))
    assert result.added == ["ann", "wes", "bob", "dan"]
    ann = roster.read_roster(other / "roster.csv")[0]
    assert (ann.extra("d2l_org_defined_id"), ann.extra("d2l_username"), ann.email) == \
        ("00101", "ann", "Ann.Lee@example.org")


@pytest.mark.parametrize(("text", "options", "message"), [
    ("Name,Mail\nAnn,a@x\n", {}, r"not a class list this kit reads: its header has Name, Mail; "
     r"expected one of: Canvas .*Student, ID, SIS User ID, SIS Login ID, Section.*; "
     r"Moodle .*First name, Last name, Email address.*; Brightspace .*OrgDefinedId"),
    (CANVAS, {"fmt": "moodle"}, r"does not look like a Moodle .*First name, Last name, "
     r"Email address.*its header has Student, ID"),
    (CANVAS, {"id_column": "Login"}, r"no column 'Login' for the student id \(--id-column "
     r"names one of: Student, ID, SIS User ID"),
    (CANVAS.replace(",ann,", ",,").replace(",bob,", ",../bob,"), {},
     r"nothing imported:\n  line 3 \(Ann Lee\): an empty student_id in column 'SIS Login ID'\n"
     r"  line 5 \(Bob Bo\): student_id '../bob'"),
    (CANVAS.replace(",wes,", ",ann,"), {}, r"line 4 \(Wes\): student id 'ann' .* already on "
     r"line 3"),
    ("", {}, r"is empty: expected one of"),
])
def test_import_errors_write_nothing(tmp_path, text, options, message):
    """An unknown file, the wrong --format or --id-column, rows without a usable or with a
    repeated id: a clear error, and the roster is left as it was."""
    write(tmp_path / "roster.csv", ROSTER)
    with pytest.raises(roster.RosterError, match=message):
        lms_roster.import_roster(tmp_path, write(tmp_path / "in.csv", text), **options)
    assert (tmp_path / "roster.csv").read_text() == ROSTER


def test_import_refuses_ambiguous_matches(tmp_path):
    """A class-list student matching two roster rows by identity is refused."""
    write(tmp_path / "roster.csv", "student_id,email,moodle_id_number\nx,ann.lee@example.org,\n"
                                   "y,,S001\n")
    with pytest.raises(roster.RosterError, match=r"matches several roster rows \(x, y\)"):
        lms_roster.import_roster(tmp_path, write(tmp_path / "m.csv", MOODLE))


def test_roster_import_command(tmp_path, capsys):
    """python -m dlgrader roster import FILE --course DIR: the summary, or exit 1 and why."""
    write(tmp_path / "roster.csv", ROSTER)
    assert cli.main(["roster", "import", str(write(tmp_path / "c.csv", CANVAS)),
                     "--course", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Canvas class list merged into" in out and "0 added, 4 updated (ann, wes, bob, dan)" \
        in out and "the test student" in out
    assert cli.main(["roster", "import", str(tmp_path / "absent.csv"),
                     "--course", str(tmp_path)]) == 1
    assert "error: cannot read the class list" in capsys.readouterr().err


# ----------------------------------------------------------------------------- export --lms


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Two assignments (the tiny one twice). ann: both graded 3/3; wes: 99_tiny graded 1/3,
    98_tiny missing; bob: 99_tiny a grading error, 98_tiny missing; dan: on the roster,
    nothing submitted; cat: 99_tiny submitted, never graded, not on the roster. The roster
    holds the Canvas, Moodle and Brightspace identities (imported)."""
    source = tmp_path_factory.mktemp("source")
    for name in (A, B):
        shutil.copytree(TINY / A, source / name)
    root = grading.make_scratch_course(tmp_path_factory.mktemp("lms"), [A, B], source)
    wrong = tmp_path_factory.mktemp("wrong") / A
    shutil.copytree(TINY / A, wrong)
    nb = json.loads((wrong / "tiny.ipynb").read_text())
    nb["cells"][1]["source"] = ["def double(x):\n", "    return 4 if x == 2 else x\n"]
    (wrong / "tiny.ipynb").write_text(json.dumps(nb))
    grading.submit(root, A, "ann", TINY / A)
    grading.submit(root, B, "ann", TINY / A)
    grading.submit(root, A, "wes", wrong)
    states = pipeline.grade(root, [A, B], ["ann", "wes"],
                            pipeline.Options(jobs=2, force=True), progress=False)
    assert sorted(s["status"] for s in states) == ["graded"] * 3
    for student in ("bob", "cat"):
        grading.submit(root, A, student, root / "release" / A)
    path = root / "grading-state" / A / "bob.json"
    path.write_text(json.dumps({"student": "bob", "assignment": A, "status": "error",
                                "error": "Kernel died", "findings": [], "notes": []}))
    write(root / "roster.csv", ROSTER)
    for name, text in (("c.csv", CANVAS), ("m.csv", MOODLE), ("b.csv", BRIGHTSPACE)):
        lms_roster.import_roster(root, write(root / name, text))
    return root


def export(course, out, lms, **options):
    doc = report.export(course, out, lms=lms, **options)
    return doc, read_csv(out / lms_export.FILES[lms])


def test_canvas_file(course, tmp_path):
    """Canvas: Student, ID, SIS User ID, SIS Login ID, Section, one column per assignment;
    second row Points Possible; scores as plain numbers; no grade (missing, error) is an
    empty cell; cat (no Canvas id, nothing to import) is left out and named."""
    doc, (header, points, *rows) = export(course, tmp_path, "canvas")
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", B, A]
    assert points == ["Points Possible", "", "", "", "", "3", "3"]
    table = {r[3]: r for r in rows}
    assert table["ann"] == ["Lee, Ann", "1001", "S001", "ann", "NNDL A", "3", "3"]
    assert table["wes"] == ["Wes", "1002", "S002", "wes", "NNDL A", "", "1"]
    assert table["bob"][5:] == ["", ""] and table["dan"][5:] == ["", ""]
    assert set(table) == {"ann", "wes", "bob", "dan"}
    assert doc["lms"] == {"format": "canvas", "file": str(tmp_path / "canvas_grades.csv"),
                          "left_out": ["cat", "zoe"]}
    assert json.loads((tmp_path / "grades.json").read_text())["lms"] == doc["lms"]


def test_missing_as_zero_and_final_score(course, tmp_path, monkeypatch):
    """--missing-as-zero: missing work is 0, an error still empty; the cell is the row's
    final_score (after a late penalty) when it has one, rounded to two decimals. A roster
    student with only zeros and no Canvas id is left out."""
    collect = report.collect_rows

    def with_penalty(*args, **kwargs):
        rows = collect(*args, **kwargs)
        for row in rows:
            if row["status"] == "graded":
                row["final_score"] = row["score"] * 2 / 3 if row["student"] == "ann" \
                    else row["score"]
            elif row["status"] == "missing":
                row["final_score"] = None
        return rows

    monkeypatch.setattr(report, "collect_rows", with_penalty)
    doc, (_, _, *rows) = export(course, tmp_path, "canvas", missing_as_zero=True)
    table = {r[3]: r[5:] for r in rows}
    assert table == {"ann": ["2", "2"], "wes": ["0", "1"], "bob": ["0", ""], "dan": ["0", "0"]}
    assert doc["lms"]["left_out"] == ["cat", "zoe"]  # zoe: only zeros, unknown to Canvas
    assert lms_export.number(2 / 3) == "0.67" and lms_export.number(1e-7) == "0" and \
        lms_export.number(12.5) == "12.5" and lms_export.number(100) == "100"


def test_moodle_file(course, tmp_path):
    """Moodle: one identity column (the email: wes has no ID number) and one column per
    grade item, no 'Last downloaded from this course'; the email as Moodle spells it."""
    _, (header, *rows) = export(course, tmp_path, "moodle")
    assert header == ["Email address", B, A]
    assert {r[0]: r[1:] for r in rows} == {
        "Ann.Lee@example.org": ["3", "3"], "wes@example.org": ["", "1"],
        "bob@example.org": ["", ""], "dan@example.org": ["", ""]}


def test_moodle_prefers_the_id_number(course, tmp_path):
    """When every student with graded work has an ID number, the file identifies by it."""
    students = roster.read_roster(course / "roster.csv")
    by_id(students)["wes"].extras["moodle_id_number"] = "S002"
    by_id(students)["bob"].extras.pop("moodle_id_number")
    path = roster.write_roster(tmp_path / "r.csv", students)
    doc = report.export(course, tmp_path, lms="moodle", roster_path=path)
    header, *rows = read_csv(tmp_path / "moodle_grades.csv")
    assert header[0] == "ID number" and sorted(r[0] for r in rows) == ["S001", "S002", "S004"]
    assert doc["lms"]["left_out"] == ["bob", "cat", "zoe"]  # no ID number, nothing graded


def test_brightspace_file(course, tmp_path):
    """Brightspace: OrgDefinedId, Username ('#' before each, as its export writes), one
    '<item> Points Grade' column per item, then 'End-of-Line Indicator' with '#' on every
    row."""
    _, (header, *rows) = export(course, tmp_path, "brightspace")
    assert header == ["OrgDefinedId", "Username", f"{B} Points Grade", f"{A} Points Grade",
                      "End-of-Line Indicator"]
    assert all(r[-1] == "#" and len(r) == len(header) for r in rows)
    assert {r[1]: r[2:4] for r in rows} == {"#ann": ["3", "3"], "#wes": ["", "1"],
                                            "#bob": ["", ""], "#dan": ["", ""]}
    assert [r[0] for r in rows if r[1] == "#dan"] == ["#00104"]


def test_a_graded_student_without_identity_stops_the_export(course, tmp_path, capsys):
    """A student with graded work but no LMS identity: exit 1 naming them and the column to
    fill, and nothing written (no LMS file, no grades.csv)."""
    text = "student_id,first_name\nann,Ann\nwes,Wes\n"
    out = tmp_path / "out"
    assert cli.main(["export", str(out), "--course", str(course), "--roster",
                     str(write(tmp_path / "r.csv", text)), "--lms", "canvas"]) == 1
    err = capsys.readouterr().err
    assert "2 student(s) with graded work have no Canvas identity in the roster (column " \
           "canvas_id, canvas_sis_user_id or canvas_sis_login_id): ann, wes" in err
    assert not (out / "canvas_grades.csv").exists() and not (out / "grades.csv").exists()


def test_export_and_report_commands(course, tmp_path, capsys, monkeypatch):
    """export/report OUT --lms: the LMS file next to grades.csv, named on the terminal."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert cli.main(["export", str(tmp_path / "e"), "--course", str(course),
                     "--lms", "brightspace"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'e' / 'brightspace_grades.csv'} (Brightspace grade import)" in out
    assert "left out of brightspace_grades.csv" in out and "cat, zoe" in out
    assert cli.main(["report", str(tmp_path / "r"), "--course", str(course),
                     "--lms", "moodle"]) == 0
    assert (tmp_path / "r" / "moodle_grades.csv").exists() and (tmp_path / "r" / "report.md")\
        .exists()
    assert "(Moodle grade import)" in capsys.readouterr().out


# ----------------------------------------------------------------------------- per function


def test_per_function_scores(course, tmp_path):
    """grades.json rows carry each function's score and max score; grades.csv keeps its
    columns and adds one per function (filled for graded rows); functions_<A>.csv has one row
    per student and one column per function."""
    doc = report.export(course, tmp_path)
    rows = {(r["student"], r["assignment"]): r for r in doc["rows"]}
    assert rows["wes", A]["functions"] == {"double": {"score": 1.0, "max_score": 3.0}}
    assert rows["ann", B]["functions"] == {"double": {"score": 3.0, "max_score": 3.0}}
    assert rows["bob", A]["functions"] == {} and rows["dan", A]["functions"] == {}
    header, *_ = read_csv(tmp_path / "grades.csv")
    assert header[:len(report.CSV_FIELDS)] == report.CSV_FIELDS  # unchanged, new ones after
    assert header[len(report.CSV_FIELDS):].count("double") == 1
    with open(tmp_path / "grades.csv", newline="") as handle:
        got = {(r["student"], r["assignment"]): r["double"] for r in csv.DictReader(handle)}
    assert (got["wes", A], got["ann", B], got["bob", A], got["dan", B]) == ("1.0", "3.0", "", "")
    wide_header, *wide = read_csv(tmp_path / f"functions_{A}.csv")
    assert wide_header[:5] == ["student", "name", "status", "score", "max_score"]
    assert wide_header[-1] == "double (max 3)"
    assert {r[0]: (r[2], r[-1]) for r in wide} == {
        "ann": ("graded", "3.0"), "wes": ("graded", "1.0"), "bob": ("error", ""),
        "cat": ("not graded", ""), "dan": ("missing", ""), "zoe": ("missing", "")}


def test_function_scores_several_notebooks_and_clashing_names():
    """Functions of two notebooks are named '<notebook>: <function>'; a function named like a
    grades.csv column gets ' (function)'; cells outside any function count under their id."""
    from dlgrader import function_scores

    row = {"status": "graded", "assignment": "x", "cells": [
        {"notebook": "a", "grade_id": "f_t1", "score": 1.0, "max_score": 1.0},
        {"notebook": "b", "grade_id": "score_t", "score": 0.0, "max_score": 2.0},
        {"notebook": "b", "grade_id": "extra", "score": 1.0, "max_score": 1.0},
        {"notebook": "a", "grade_id": "f_t2", "score": 0.5, "max_score": 1.0}]}
    groups = {("a", "f_t1"): "f", ("a", "f_t2"): "f", ("b", "score_t"): "score"}
    function_scores.annotate([row], lambda _: groups)
    assert row["functions"] == {"a: f": {"score": 1.5, "max_score": 2.0},
                                "b: score": {"score": 0.0, "max_score": 2.0},
                                "b: extra": {"score": 1.0, "max_score": 1.0}}
    single = {**row, "cells": row["cells"][1:2]}
    function_scores.annotate([single], lambda _: {("b", "score_t"): "score"})
    assert function_scores.columns([single], report.CSV_FIELDS) == {"score": "score (function)"}
