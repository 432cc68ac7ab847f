"""dlgrader.report: grades export and the report on a tiny course with every kind of row;
dlgrader.roster: the course roster; the figures; the formgrader's view of the course."""

import csv
import json
import shutil
import struct

import pytest
from matplotlib.text import Text

from dlgrader import cli, grading, pipeline, report, roster

TINY = grading.REPO / "tests" / "files" / "tiny_source"
A = "99_tiny"
PNG = b"\x89PNG\r\n\x1a\n"


def state(course, student, **fields):
    """Write a grading-state file as the grading pipeline does."""
    doc = {"student": student, "assignment": A, "status": "graded", "error": None,
           "submission_sha256": "0" * 64, "seconds": 1.5, "findings": [], "zeroed_cells": [],
           "kernel_died": False, "notes": []}
    doc.update(fields)
    path = course / "grading-state" / A / f"{student}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """ann (reference, 3/3, state file), wes (hidden-test mistake, 1/3, no state file),
    bob (grading error, kernel died, one finding), cat (submitted, never graded, not on the
    roster), dan (on the roster, nothing submitted)."""
    root = grading.make_scratch_course(tmp_path_factory.mktemp("report"), [A], TINY)
    (root / "roster.csv").write_text("student_id,first_name,last_name,email\n"
                                     "ann,Ann,Lee,ann@example.org\nwes,Wes,,\nbob,,,\n"
                                     "dan,Dan,Roe,dan@example.org\n")
    wrong = tmp_path_factory.mktemp("wrong") / A
    shutil.copytree(TINY / A, wrong)
    nb = json.loads((wrong / "tiny.ipynb").read_text())
    nb["cells"][1]["source"] = ["def double(x):\n", "    return 4 if x == 2 else x\n"]
    (wrong / "tiny.ipynb").write_text(json.dumps(nb))
    for student, folder in (("ann", TINY / A), ("wes", wrong)):
        grading.submit(root, A, student, folder)
        pipeline.autograde(root, A, student)
    state(root, "ann")
    for student in ("bob", "cat"):
        grading.submit(root, A, student, root / "release" / A)
    state(root, "bob", status="error", error="Kernel died | while running cell 3",
          kernel_died=True, zeroed_cells=["double_hidden"],
          timeouts=[{"function": "double", "seconds": 10}],
          findings=[{"cell_index": 3, "grade_id": "double_hidden", "line": 2,
                     "reason": "assert rewritten"}])
    return root


def by_student(rows):
    """Rows keyed by student."""
    return {r["student"]: r for r in rows}


def test_export_rows(course, tmp_path):
    """Every submission and every roster student has a row with the right status; JSON has the
    per-cell scores and the roster's names."""
    doc = report.export(course, tmp_path)
    rows = by_student(doc["rows"])
    assert set(rows) == {"ann", "wes", "bob", "cat", "dan"}
    assert doc["roster"] == ["ann", "wes", "bob", "dan"] and doc["missing_as_zero"] is False
    assert (rows["dan"]["status"], rows["dan"]["score"], rows["dan"]["max_score"],
            rows["dan"]["submitted"], rows["dan"]["name"]) == ("missing", None, 3, False, "Dan Roe")
    assert (rows["ann"]["name"], rows["wes"]["name"], rows["cat"]["name"]) == \
        ("Ann Lee", "Wes", None)
    assert (rows["ann"]["status"], rows["ann"]["score"], rows["ann"]["max_score"]) == \
        ("graded", 3, 3)
    assert (rows["wes"]["status"], rows["wes"]["score"]) == ("graded", 1)
    assert {c["grade_id"]: c["score"] for c in rows["wes"]["cells"]} == \
        {"double_public": 1, "double_hidden": 0}
    bob = rows["bob"]
    assert (bob["status"], bob["score"], bob["kernel_died"], bob["findings"]) == \
        ("error", None, True, 1)
    assert bob["error"].startswith("Kernel died") and bob["zeroed_cells"] == ["double_hidden"]
    assert (rows["cat"]["status"], rows["cat"]["score"], rows["cat"]["max_score"]) == \
        ("not graded", None, 3)
    assert json.loads((tmp_path / "grades.json").read_text())["rows"] == doc["rows"]
    with (tmp_path / "grades.csv").open() as fh:
        table = by_student(csv.DictReader(fh))
    assert list(table["ann"]) == [*report.CSV_FIELDS, "double"]  # then one per function
    assert table["bob"]["zeroed_cells"] == "double_hidden" and table["cat"]["score"] == ""
    assert (table["dan"]["status"], table["dan"]["score"], table["dan"]["max_score"]) == \
        ("missing", "", "3.0")
    assert table["bob"]["timed_out"] == "double" and table["ann"]["timed_out"] == ""
    assert table["ann"]["status"] == "graded" and float(table["ann"]["score"]) == 3


def test_function_groups(course):
    """Both test cells of the tiny notebook belong to its one function, double."""
    assert report.function_groups(course, A) == {("tiny", "double_public"): "double",
                                                 ("tiny", "double_hidden"): "double"}


def test_report_files_and_numbers(course, tmp_path, monkeypatch):
    """PNGs, report.md with the counts, mean, median and pass rate; step summary appended."""
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    path = report.report(course, tmp_path / "out")
    for name in (f"{A}_scores.png", f"{A}_functions.png"):
        assert (tmp_path / "out" / name).read_bytes().startswith(PNG)
    for name in (f"{A}_scores.png", f"{A}_functions.png"):
        width, height = struct.unpack(">II", (tmp_path / "out" / name).read_bytes()[16:24])
        assert width >= 1000 and height >= 350  # 150 dpi: legible when shown full width
    text = path.read_text()
    assert f"| {A} | 5 | 2 | 1 | 1 | 1 | 3 | 2 (66.7%) | 2 (66.7%) |" in text
    assert f"| {A} | dan | Dan Roe | – |" in text.split("## Missing work")[1]
    assert "Not on the roster: cat " in text
    assert "| double | double_public, double_hidden | 1/2 | 50.0% |" in text
    assert "Kernel died \\| while running cell 3" in text
    assert "| 99_tiny | bob | cell 3, line 2: assert rewritten | double | yes |" in text
    assert summary.read_text() == "earlier step\n" + text


def test_cli(course, tmp_path, capsys, monkeypatch):
    """python -m dlgrader.report export|report OUT --course-root ROOT."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert report.main(["export", str(tmp_path), "--course-root", str(course)]) == 0
    assert "5 row(s)" in capsys.readouterr().out
    assert report.main(["--course-root", str(course), "report", str(tmp_path)]) == 0
    assert (tmp_path / "report.md").exists()


def test_empty_course(tmp_path, monkeypatch):
    """A course without gradebook, states or submissions exports nothing and creates no DB."""
    monkeypatch.delenv("NNDL_DB_URL", raising=False)
    shutil.copy(grading.REPO / "nbgrader_config.py", tmp_path)
    assert report.export(tmp_path, tmp_path / "out")["rows"] == []
    assert not (tmp_path / "gradebook.db").exists()


# ----------------------------------------------------------------------------- missing work


def test_missing_as_zero(course, tmp_path):
    """--missing-as-zero scores a missing row 0 (still "missing"); nothing else changes."""
    assert cli.main(["export", str(tmp_path), "--course", str(course), "--missing-as-zero"]) == 0
    doc = json.loads((tmp_path / "grades.json").read_text())
    rows = by_student(doc["rows"])
    assert doc["missing_as_zero"] is True
    assert (rows["dan"]["status"], rows["dan"]["score"]) == ("missing", 0)
    assert (rows["cat"]["status"], rows["cat"]["score"]) == ("not graded", None)
    with (tmp_path / "grades.csv").open() as fh:
        table = by_student(csv.DictReader(fh))
    assert (table["dan"]["score"], table["cat"]["score"], table["bob"]["score"]) == ("0.0", "", "")
    path = report.report(course, tmp_path / "zero", missing_as_zero=True)
    assert f"| {A} | dan | Dan Roe | 0 |" in path.read_text()


def test_roster_in_the_gradebook(course, tmp_path):
    """Exporting adds the roster to nbgrader's gradebook with names (the formgrader lists them
    by name); a student only the gradebook knows is on the roster too."""
    from nbgrader.api import Gradebook

    report.export(course, tmp_path)
    students = {s["id"]: s for s in grading._api(course).get_students()}
    assert (students["dan"]["first_name"], students["dan"]["last_name"],
            students["dan"]["email"]) == ("Dan", "Roe", "dan@example.org")
    assert (students["ann"]["first_name"], students["ann"]["last_name"]) == ("Ann", "Lee")
    assert roster.sync_gradebook(course) == 0  # nothing left to change
    url = grading._api(course).coursedir.db_url
    with Gradebook(url) as gb:
        gb.add_student("eve", first_name="Eve")
    try:
        rows = by_student(report.export(course, tmp_path)["rows"])
        assert (rows["eve"]["status"], rows["eve"]["name"]) == ("missing", "Eve")
    finally:
        with Gradebook(url) as gb:
            gb.remove_student("eve")


def test_db_students(tmp_path):
    """c.CourseDirectory.db_students (and nbgrader's older c.NbGrader.db_students) are roster
    students; the roster file's names win; a malformed list is a clear error."""
    config = (grading.REPO / "nbgrader_config.py").read_text()
    (tmp_path / "nbgrader_config.py").write_text(
        config + "\nc.CourseDirectory.db_students = [dict(id='ann', first_name='A.'), "
                 "dict(id='zoe', first_name='Zoe', last_name='Ng')]\n"
                 "c.NbGrader.db_students = [dict(id='old', email='old@example.org')]\n")
    roster.write_roster(tmp_path / "roster.csv", [roster.Student("ann", "Ann", "Lee")])
    assert roster.course_roster(tmp_path) == [
        roster.Student("ann", "Ann", "Lee"), roster.Student("zoe", "Zoe", "Ng"),
        roster.Student("old", email="old@example.org")]
    (tmp_path / "nbgrader_config.py").write_text(
        config + "\nc.CourseDirectory.db_students = [dict(first_name='Nobody')]\n")
    with pytest.raises(roster.RosterError, match=r"db_students.*entry 1 has an empty student_id"):
        roster.config_students(tmp_path)


def test_roster_of_github_classroom(tmp_path):
    """GitHub Classroom's grades export (the roster of collect git) is a roster too."""
    path = tmp_path / "roster.csv"
    path.write_text("github_username,student_repository_url\nann,u\nbob,v\n")
    assert [s.student_id for s in roster.read_roster(path)] == ["ann", "bob"]


@pytest.mark.parametrize(("text", "message"), [
    ("id,first_name\nann,Ann\n",
     r"has no column student_id or github_username or roster_identifier: it needs a header "
     r"row student_id,first_name,last_name,email \(names and email may be left out; it has: "
     r"id, first_name\)"),
    ("", r"has no column student_id.*it has: no header\)$"),
    ("student_id,first_name,last_name,email\nann,,,\nbob,,,\nann,Ann,,\n",
     r"student_id 'ann' is listed twice \(lines 2 and 4\)"),
    ("student_id,first_name,last_name,email\n,Ann,Lee,\n", r"line 2: an empty student_id"),
    ("student_id,first_name,last_name,email\n../x,,,\n", r"line 2: student_id '../x'"),
])
def test_roster_errors(tmp_path, text, message):
    """A roster without the columns, with a repeated, empty or unsafe id is refused, saying
    where and why."""
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(roster.RosterError, match=message):
        roster.read_roster(path)


def test_roster_errors_on_the_command_line(course, tmp_path, capsys):
    """export/report with an unusable roster exit 1 with the message, and write nothing."""
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\n")
    assert cli.main(["export", str(tmp_path / "a"), "--course", str(course),
                     "--roster", str(bad)]) == 1
    assert report.main(["report", str(tmp_path / "b"), "--course-root", str(course),
                        "--roster", str(tmp_path / "absent.csv")]) == 1
    err = capsys.readouterr().err
    assert "error: roster" in err and "has no column student_id" in err
    assert "cannot read roster" in err and "absent.csv" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_roster_file_format(tmp_path):
    """Spreadsheet exports read as written: byte-order mark, any column order and case,
    extra columns (collect git's repository), blank lines; write_roster round-trips."""
    path = tmp_path / "roster.csv"
    path.write_bytes("\ufeffEmail, Last_Name ,First_Name,Student_ID,repository\n"
                     "a@x.org,Lee,Ann,ann,https://example.org/ann.git\n\n"
                     ",,,bob,\n".encode())
    students = roster.read_roster(path)
    assert students == [roster.Student("ann", "Ann", "Lee", "a@x.org"), roster.Student("bob")]
    assert (students[0].name, students[1].name) == ("Ann Lee", None)
    assert roster.read_roster(roster.write_roster(tmp_path / "copy.csv", students)) == students
    path.write_text("student_id,repository\nann,https://example.org/ann.git\n")  # collect git's
    assert roster.read_roster(path) == [roster.Student("ann")]


# ----------------------------------------------------------------------------- figures


def notebook(cells):
    """A notebook of nbgrader cells: (grade_id, kind) with kind "solution" or "test"."""
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "source": "", "outputs": [], "execution_count": None,
         "metadata": {"nbgrader": {"grade_id": gid, "solution": kind == "solution",
                                   "grade": kind == "test", "locked": kind == "test",
                                   "points": 1, "schema_version": 3, "task": False}}}
        for gid, kind in cells]}


def test_functions_in_notebook_order(tmp_path):
    """The per-function table and chart follow the notebook: each function where its first
    test cell is (not alphabetically, not by solution cell or score), from source/, else
    release/; the chart shows the first on top."""
    cells = [("zeta_solution", "solution"), ("zeta_shape", "test"), ("alpha_solution", "solution"),
             ("mid_solution", "solution"), ("mid_value", "test"), ("alpha_value", "test"),
             ("zeta_again", "test")]
    for kind in ("source", "release"):
        folder = tmp_path / kind / "07_order"
        folder.mkdir(parents=True)
        (folder / "order.ipynb").write_text(json.dumps(notebook(cells)))
    rows = [{"cells": [{"notebook": "order", "grade_id": gid, "score": 1, "max_score": 1}
                       for gid in ("alpha_value", "mid_value")]}]
    for _ in range(2):
        rates = report.pass_rates(report.function_groups(tmp_path, "07_order"), rows)
        assert rates == [("zeta", ["zeta_shape", "zeta_again"], 0), ("mid", ["mid_value"], 1),
                         ("alpha", ["alpha_value"], 1)]
        if (tmp_path / "source").exists():
            shutil.rmtree(tmp_path / "source")  # then the released notebook alone
    fig = report.pass_rate_figure("07_order", rates, 1)
    fig.canvas.draw()
    ticks = sorted(fig.axes[0].get_yticklabels(), key=lambda t: -t.get_window_extent().y0)
    assert [t.get_text() for t in ticks] == ["zeta", "mid", "alpha"]


def outside(fig):
    """The visible texts of ``fig`` that do not lie entirely inside it, once drawn."""
    fig.canvas.draw()
    box = fig.bbox
    out = []
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip():
            ext = text.get_window_extent()
            if ext.x0 < box.x0 - 0.5 or ext.y0 < box.y0 - 0.5 or ext.x1 > box.x1 + 0.5 \
                    or ext.y1 > box.y1 + 0.5:
                out.append(text.get_text())
    return out


@pytest.mark.parametrize("assignment", ["05_deep_nn_application", "04_deep_nn_step_by_step",
                                        "04_deep_nn_step_by_step_" + "x" * 120])
def test_figures_keep_titles_and_labels_inside(assignment):
    """Titles, axis and tick labels and bar values lie inside the figure, even with a long
    assignment name, the course's longest function names and "notebook: function" labels."""
    groups = report.function_groups(grading.REPO, "04_deep_nn_step_by_step")
    rates = report.pass_rates(groups, [])
    rates += [("a_rather_long_notebook_name: linear_activation_backward", ["x"], 0)]
    rates = [(label, ids, i % 4) for i, (label, ids, _) in enumerate(rates)]
    graded = [{"score": s, "max_score": 3} for s in (0, 1, 2, 3, 3, 3)]
    figures = [report.pass_rate_figure(assignment, rates, 3),
               report.pass_rate_figure(assignment, [], 0),
               report.histogram_figure(assignment, graded, missing=2),
               report.histogram_figure(assignment, [])]
    for fig in figures:
        assert fig.get_suptitle().startswith(assignment[:20])
        assert outside(fig) == []


# ----------------------------------------------------------------------------- formgrader


def test_formgrader_shows_released_assignments(course):
    """The formgrader says "draft" until an assignment is in nbgrader's exchange;
    release_to_exchange puts release/ there (nbgrader's release_assignment), once, and again
    when release/ changed."""
    assert grading._api(course).get_assignment(A)["status"] == "draft"
    assert grading.release_to_exchange(course) == [A]
    assert grading._api(course).get_assignment(A)["status"] == "released"
    assert grading.release_to_exchange(course) == []
    released = course / "release" / A / "tiny.ipynb"
    original = released.read_text()
    try:
        released.write_text(original.replace("A tiny assignment", "A tiny changed assignment"))
        assert grading.release_to_exchange(course, [A]) == [A]
        outbound = course / "exchange" / "nndl" / "outbound" / A / "tiny.ipynb"
        assert "tiny changed assignment" in outbound.read_text()
    finally:
        released.write_text(original)


def test_grading_puts_the_roster_in_the_gradebook_and_refuses_a_bad_one(tmp_path, capsys):
    """pipeline.generate (the start of every grading run) adds the roster's students with
    their names; ./course grade with a broken roster stops with the reason, before grading."""
    from nbgrader.api import Gradebook

    root = grading.make_scratch_course(tmp_path / "course", [A], TINY)
    (root / "roster.csv").write_text("student_id,first_name,last_name\nzoe,Zoe,Park\n")
    pipeline.generate(root, [A])
    with Gradebook(grading._api(root).coursedir.db_url) as gb:
        zoe = gb.find_student("zoe")
        assert (zoe.first_name, zoe.last_name) == ("Zoe", "Park")
    (root / "roster.csv").write_text("student_id\nzoe\nzoe\n")
    assert cli.main(["grade", A, "--course", str(root), "--no-sandbox"]) == 1
    assert "student_id 'zoe' is listed twice" in capsys.readouterr().err
