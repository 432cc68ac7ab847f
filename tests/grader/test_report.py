"""dlgrader.report: grades export and the report on a tiny course with every kind of row."""

import csv
import json
import shutil

import pytest

from dlgrader import grading, pipeline, report

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
    bob (grading error, kernel died, one finding), cat (submitted, never graded)."""
    root = grading.make_scratch_course(tmp_path_factory.mktemp("report"), [A], TINY)
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
    """Every submission has a row with the right status; JSON has the per-cell scores."""
    doc = report.export(course, tmp_path)
    rows = by_student(doc["rows"])
    assert set(rows) == {"ann", "wes", "bob", "cat"}
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
    assert list(table["ann"]) == report.CSV_FIELDS
    assert table["bob"]["zeroed_cells"] == "double_hidden" and table["cat"]["score"] == ""
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
    text = path.read_text()
    assert f"| {A} | 4 | 2 | 1 | 1 | 3 | 2 (66.7%) | 2 (66.7%) |" in text
    assert "| double | double_public, double_hidden | 1/2 | 50.0% |" in text
    assert "Kernel died \\| while running cell 3" in text
    assert "| 99_tiny | bob | cell 3, line 2: assert rewritten | double | yes |" in text
    assert summary.read_text() == "earlier step\n" + text


def test_cli(course, tmp_path, capsys, monkeypatch):
    """python -m dlgrader.report export|report OUT --course-root ROOT."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert report.main(["export", str(tmp_path), "--course-root", str(course)]) == 0
    assert "4 row(s)" in capsys.readouterr().out
    assert report.main(["--course-root", str(course), "report", str(tmp_path)]) == 0
    assert (tmp_path / "report.md").exists()


def test_empty_course(tmp_path, monkeypatch):
    """A course without gradebook, states or submissions exports nothing and creates no DB."""
    monkeypatch.delenv("NNDL_DB_URL", raising=False)
    shutil.copy(grading.REPO / "nbgrader_config.py", tmp_path)
    assert report.export(tmp_path, tmp_path / "out")["rows"] == []
    assert not (tmp_path / "gradebook.db").exists()
