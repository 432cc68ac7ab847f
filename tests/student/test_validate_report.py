"""Validate as a report card: what JupyterLab's Validate button gets from
dlutils.validate_server (the same function its handler calls) and what ``./course validate``
(``python -m dlgrader validate``) prints, for assignment notebooks and lecture companions.

nbgrader's dialog shows ``value.failed`` as "The following cell failed:", the entry's source and
its error (HTML). Ours sends one entry whose HTML starts with the summary (the entry's fixed
heading and empty source are hidden by its style); ``dialog_text`` below reads that HTML as
the dialog shows it.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from solutions import answered

from dlutils import notebook_check as nc
from dlutils import validate_server
from dlutils.companion import VERDICT_MIME

REPO = Path(__file__).resolve().parents[2]
A1 = "01_numpy_basics/numpy_basics.ipynb"
ANSI = re.compile(r"\x1b\[")
# The student of these tests: four functions right, sigmoid with the classic sign mistake, three
# not attempted (seven failing test cells, as nbgrader counts them).
SIGN_MISTAKE = ("np.exp(-x)", "np.exp(x)")
SOME_DONE = {"basic_sigmoid": None, "sigmoid": SIGN_MISTAKE, "image2vector": None,
             "normalize_rows": None}
ALL_DONE = {name: None for name in ("basic_sigmoid", "sigmoid", "sigmoid_derivative",
                                    "image2vector", "normalize_rows", "softmax", "L1", "L2")}
SIGN_HINT = "hint: You computed 1 / (1 + e^x): the exponent is -x."
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def answered_a1(dest: Path, answers: dict[str, tuple[str, str] | None]) -> Path:
    """release/'s A1 with the reference solution of each function in ``answers`` filled in,
    changed by a (before, after) replacement where one is given."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(answered(A1, answers), dest)
    return dest


def dialog_text(error_html: str) -> str:
    """The text nbgrader's dialog shows for our one ``failed`` entry (its heading and empty
    source hidden): the HTML without its style, rows and paragraphs on their own lines."""
    text = re.sub(r"<style>.*?</style>", "", error_html, flags=re.S)
    text = re.sub(r"</td>", "\t", text)
    text = re.sub(r"</(tr|p|div|table)>", "\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return "\n".join(line for line in text.splitlines() if line.strip())


def nbgrader_dialog_text(value: dict) -> str:
    """What nbgrader's own answer shows in the same dialog: per failing cell its heading, its
    source and its traceback (HTML)."""
    shown = []
    for cell in value.get("failed", []):
        shown += ["The following cell failed:", cell["source"],
                  html.unescape(re.sub(r"<[^>]+>", "", cell["error"]))]
    return "\n".join(shown)


def our_answer(path: Path) -> tuple[dict, str]:
    answer = validate_server.validate(path)
    assert answer["success"] is True, answer
    failed = answer["value"]["failed"]
    assert len(failed) == 1 and failed[0]["source"] == "", failed
    return answer, dialog_text(failed[0]["error"])


@pytest.fixture(scope="module")
def failing_a1(tmp_path_factory) -> Path:
    return answered_a1(tmp_path_factory.mktemp("workspace") / A1, SOME_DONE)


@pytest.fixture(autouse=True)
def _one_blas_thread(monkeypatch):
    for name, value in ONE_THREAD.items():
        monkeypatch.setenv(name, value)


@pytest.mark.slow
def test_validate_on_a_failing_assignment_is_a_short_report_card(failing_a1):
    """Summary first (a row per graded function: status, tests, points), then each failure's
    message and hint; no test source, no traceback, no colour code; far shorter than
    nbgrader's answer for the same notebook."""
    answer, text = our_answer(failing_a1)
    lines = text.splitlines()
    assert lines[0] == ("numpy_basics.ipynb: 3 of 8 functions pass their public tests; "
                        "1 failing, 4 not attempted yet."), lines[0]
    rows = [line.split("\t")[:4] for line in lines[1:9]]
    assert rows == [
        ["✓", "basic_sigmoid", "1 test passed", "1 point"],
        ["✗", "sigmoid", "2 of 2 tests failed", "3 points"],
        ["○", "sigmoid_derivative", "not attempted yet", "2 points"],
        ["✓", "image2vector", "1 test passed", "2 points"],
        ["✓", "normalize_rows", "2 tests passed", "3 points"],
        ["○", "softmax", "not attempted yet", "4 points"],
        ["○", "L1", "not attempted yet", "1 point"],
        ["○", "L2", "not attempted yet", "1 point"],
    ], rows
    assert lines[9].startswith("sigmoid (test: sigmoid applies 1 / (1 + e^(-x))"), lines[9]
    assert lines[10] == "sigmoid(x): values differ"
    assert SIGN_HINT in text
    assert text.count("values differ") == 2  # sigmoid's two tests, nothing for the others
    for noise in ("Traceback", "The following cell failed", "check_close(", "NotImplementedError",
                  "Cell In[", "hints={"):
        assert noise not in text, noise
    assert not ANSI.search(json.dumps(answer))

    # nbgrader's own handler on the same notebook: seven cells, each source and traceback.
    from nbgrader.server_extensions.validate_assignment.handlers import (
        ValidateAssignmentHandler,
    )

    class Handler:
        root_dir = str(failing_a1.parent.parent)
        log = logging.getLogger("nbgrader-validate")
        load_config = ValidateAssignmentHandler.load_config

    theirs = ValidateAssignmentHandler.validate_notebook(Handler(), A1)
    assert len(theirs["value"]["failed"]) == 7
    before, after = nbgrader_dialog_text(theirs["value"]), text
    sizes = (f"Validate on {A1} (sigmoid wrong, 4 functions not attempted): nbgrader's dialog "
             f"{len(before)} characters ({len(json.dumps(theirs))} of JSON), ours {len(after)} "
             f"({len(json.dumps(answer))} of JSON)")
    print(sizes)
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "validate-sizes.txt").write_text(sizes + "\n")
    assert len(after) * 4 < len(before), sizes


@pytest.mark.slow
def test_validate_reports_changed_and_deleted_test_cells(tmp_path):
    """nbgrader's checks stay: a test cell whose source changed (grading uses the released
    one) and a deleted test cell (found by comparing with release/) are failures, named."""
    path = answered_a1(tmp_path / A1, ALL_DONE)
    nb = nbformat.read(path, as_version=4)
    tests = {c.metadata.nbgrader["grade_id"]: c for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("grade")}
    tests["L2_value_and_type"].source += "\nprint('my own extra check')"
    nb.cells.remove(tests["L1_value_and_type"])
    nbformat.write(nb, path)
    assert nc.released_copy(path) == REPO / "release" / A1

    _, text = our_answer(path)
    lines = text.splitlines()
    assert lines[0] == ("numpy_basics.ipynb: 7 of 8 functions pass their public tests; "
                        "1 failing. 1 locked cell changed."), lines[0]
    assert ["✗", "L1", "1 of 1 test failed", "1 point"] in [ln.split("\t")[:4] for ln in lines]
    assert "this test is not in your notebook (deleted?)" in text
    changed = [ln for ln in lines if "was changed" in ln]
    assert len(changed) == 1 and changed[0].startswith("test cell ")
    assert '("L2 returns one number' in changed[0]
    assert "grading uses the released version" in changed[0]


def test_changed_cell_types_are_named():
    """A locked cell turned into another type of cell: said, as nbgrader's Validate says it."""
    nb = nbformat.read(REPO / "release" / A1, as_version=4)
    assert nc.compare_with_release(nb) == []
    index, cell = next((i, c) for i, c in enumerate(nb.cells, 1) if c.cell_type == "markdown"
                       and c.metadata.get("nbgrader", {}).get("locked"))
    nb.cells[index - 1] = nbformat.v4.new_raw_cell(cell.source, metadata=cell.metadata)
    found = nc.compare_with_release(nb)
    assert len(found) == 1 and found[0].startswith(f"locked markdown cell {index} ")
    assert "was a markdown cell and is now a raw cell" in found[0]


def test_a_copied_test_cell_counts_once_as_its_last_copy(tmp_path):
    """As grading does: the copies of a test cell (same grade id) are one test, the last."""
    def test_cell(error=None):
        cell = nbformat.v4.new_code_cell('"""f doubles."""\nassert f(1) == 2')
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                     "points": 2, "grade_id": "f_doubles"}
        if error:
            cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError",
                                                   evalue=error, traceback=[])]
        return cell

    solution = nbformat.v4.new_code_cell("def f(x):\n    return 2 * x")
    solution.metadata["nbgrader"] = {"grade": False, "solution": True, "grade_id": "f_solution"}
    nb = nbformat.v4.new_notebook()
    nb.cells = [solution, test_cell("f(1): expected 2"), test_cell()]
    report = nc.summarize(nb, tmp_path / "a.ipynb")
    assert [(f.name, f.status, f.tests, f.points) for f in report.functions] == [
        ("f", nc.PASSED, 1, 2.0)]


def test_knock_on_errors_of_unfinished_work_are_not_problems(tmp_path):
    """A demonstration cell stopped by a function not attempted yet leaves its names undefined;
    the NameErrors of the cells that use them are its consequences, not more problems."""
    def cell(source, ename=None, evalue=""):
        made = nbformat.v4.new_code_cell(source)
        if ename:
            made.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                                   traceback=[])]
        return made

    nb = nbformat.v4.new_notebook()
    nb.cells = [cell("run = model(X)", "NotImplementedError"),
                cell("w, b = run['w'], run['b']", "NameError", "name 'run' is not defined"),
                cell("print(w)", "NameError", "name 'w' is not defined"),
                cell("print(typo)", "NameError", "name 'typo' is not defined")]
    assert nc.summarize(nb, tmp_path / "a.ipynb").problems == [
        "cell 4 raised NameError: name 'typo' is not defined"]


def test_a_passing_report_is_nbgraders_success():
    """Nothing left to do: the empty value nbgrader's dialog shows as its "Success!"."""
    report = nc.NotebookReport(Path("a.ipynb"), functions=[nc.FunctionResult("f", 1, 1)],
                               exercises=[nc.Exercise("Exercise 1", nc.CORRECT)])
    assert report.ok and validate_server.dialog_value(report) == {}


def test_the_dialog_escapes_what_it_shows():
    report = nc.NotebookReport(Path("a<b>.ipynb"), functions=[
        nc.FunctionResult("f", 1, 1, failures=["expected <b>1</b> & got 2"], checks=["f <3"])])
    error = validate_server.dialog_value(report)["failed"][0]["error"]
    assert "<b>1</b>" not in error and "&lt;b&gt;1&lt;/b&gt; &amp; got 2" in error
    assert dialog_text(error).startswith("a<b>.ipynb: 0 of 1 functions pass")


def test_validate_answers_a_missing_or_unreadable_notebook(tmp_path):
    assert validate_server.validate(tmp_path / "gone.ipynb")["success"] is False
    (tmp_path / "broken.ipynb").write_text("{not json")
    answer = validate_server.validate(tmp_path / "broken.ipynb")
    assert answer["success"] is False and "cannot read the notebook" in answer["value"]


# --- ./course validate ------------------------------------------------------------------------

def course_validate(*notebooks: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlgrader", "validate", *map(str, notebooks)],
                          capture_output=True, text=True, timeout=600, cwd=REPO,
                          env={**os.environ, **ONE_THREAD})


@pytest.mark.slow
def test_course_validate_prints_a_plain_table_and_exits_1_on_failure(failing_a1):
    done = course_validate(failing_a1)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert not ANSI.search(out + done.stderr)
    assert out.startswith(f"{failing_a1}: 3 of 8 functions pass their public tests; 1 failing, "
                          "4 not attempted yet.\n")
    for row in (r"ok\s+basic_sigmoid\s+1 test passed\s+1 point",
                r"FAIL\s+sigmoid\s+2 of 2 tests failed\s+3 points",
                r"todo\s+sigmoid_derivative\s+not attempted yet\s+2 points",
                r"todo\s+L2\s+not attempted yet\s+1 point"):
        assert re.search(rf"^  {row}$", out, re.M), (row, out)
    assert SIGN_HINT in out and "expected: numpy array" in out
    assert "Traceback" not in out and "check_close(" not in out
    assert out.rstrip().endswith(f"{failing_a1}: validation failed")


@pytest.mark.slow
def test_course_validate_exits_0_when_everything_passes(tmp_path):
    path = answered_a1(tmp_path / A1, ALL_DONE)
    done = course_validate(path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "8 of 8 functions pass their public tests." in done.stdout
    assert done.stdout.rstrip().endswith(f"{path}: all checks passed")
    assert not ANSI.search(done.stdout + done.stderr)


# --- lecture companions -----------------------------------------------------------------------

COMPANION_CELLS = [
    "from dlutils.checks import check_close\nfrom dlutils.companion import self_check",
    "answer_one = 2.0  # exercise cells\nanswer_two = 5.0\nanswer_three = ...",
    'self_check("Exercise 1 (two)", answer_one, lambda a: check_close(a, 2.0, "answer_one"))',
    'self_check("Exercise 2 (four)", answer_two, lambda a: check_close(\n'
    '    a, 4.0, "answer_two", hints={lambda got, exp: got > exp: "Too big: halve it."}))',
    'self_check("Exercise 3 (three)", answer_three, lambda a: check_close(a, 3.0, "three"))',
]


def companion(dest: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in COMPANION_CELLS]
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)
    return dest


@pytest.mark.slow
def test_validate_on_a_companion_says_what_is_not_attempted(tmp_path):
    """A companion has no test cells (nbgrader: "Success!"); ours lists each exercise: correct,
    wrong with the check's message and hint, or not attempted yet."""
    path = companion(tmp_path / "companions" / "week9_demo.ipynb")
    answer, text = our_answer(path)
    lines = text.splitlines()
    assert lines[0] == ("week9_demo.ipynb: 1 of 3 exercises correct; 1 wrong, "
                        "1 not attempted yet."), lines[0]
    assert [ln.split("\t")[:3] for ln in lines[1:4]] == [
        ["✓", "Exercise 1 (two)", "correct"], ["✗", "Exercise 2 (four)", "wrong"],
        ["○", "Exercise 3 (three)", "not attempted yet"]]
    assert lines[4] == "Exercise 2 (four)"
    assert lines[5].startswith("answer_two: values differ")
    assert "hint: Too big: halve it." in text
    assert text.endswith("The exercises are not graded: they are for you.")
    assert not ANSI.search(json.dumps(answer))


@pytest.mark.slow
def test_self_check_records_its_verdict_only_under_validation(tmp_path):
    """What the reader sees stays the printed verdict; under validation each verdict is also
    display data of our own type (JupyterLab renders it as nothing)."""
    from dlgrader.notebooks import execute

    path = companion(tmp_path / "week9_demo.ipynb")
    plain = execute(path, env={"NBGRADER_VALIDATING": "", **ONE_THREAD})
    validating = execute(path, env={"NBGRADER_VALIDATING": "1", **ONE_THREAD})
    for a, b in zip(plain.cells, validating.cells, strict=True):
        assert [o for o in a.outputs] == [o for o in b.outputs if o.output_type == "stream"]
        assert all(o.output_type == "stream" for o in a.outputs)
        extra = [o for o in b.outputs if o.output_type != "stream"]
        assert all(o.output_type == "display_data" and list(o.data) == [VERDICT_MIME]
                   for o in extra)
    assert plain.cells[3].outputs[0].text.startswith("✗ Exercise 2 (four): not yet.\n")
    verdict = validating.cells[3].outputs[-1].data[VERDICT_MIME]
    assert verdict["name"] == "Exercise 2 (four)" and verdict["status"] == "wrong"
    assert "hint: Too big: halve it." in verdict["message"]


@pytest.mark.slow
def test_an_exercise_whose_check_raises_is_wrong_not_missing(tmp_path):
    """The answer itself raised before self_check ran (or a check cell was deleted): the
    exercise is still listed, with the error or the missing cell."""
    path = companion(tmp_path / "week9_demo.ipynb")
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = "answer_one = 2.0\nanswer_two = 1 / 0\nanswer_three = 3.0"
    nbformat.write(nb, path)
    original = companion(tmp_path / "released" / "week9_demo.ipynb")
    nb.cells.pop(4)
    nbformat.write(nb, path)
    report = nc.check_notebook(path, original=original)
    by_name = {e.name: e for e in report.exercises}
    assert by_name["Exercise 1 (two)"].status == nc.CORRECT
    assert by_name["Exercise 2 (four)"].status == nc.WRONG
    assert "NameError: name 'answer_two' is not defined" in by_name["Exercise 2 (four)"].message
    assert by_name["Exercise 3 (three)"].status == nc.NOT_RUN
    assert "not in your notebook" in by_name["Exercise 3 (three)"].message
    assert report.problems == ["cell 2 raised ZeroDivisionError: division by zero "
                               "(Cell In[2], line 2: answer_two = 1 / 0)"]
    assert not report.ok
