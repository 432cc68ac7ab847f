"""What `./course grade` shows and returns: one progress bar and one summary table on the
terminal (warnings, nbgrader's log and the kernels' output in grading-state/grade.log), exit
status 1 when a submission could not be graded (0 with --exit-zero), and edited or deleted
locked cells reported in the state record, the summary, the report and the feedback."""

import copy
import json
import re
import subprocess
import sys

import nbformat
import pytest
from nbgrader.utils import compute_checksum

from dlgrader import grading, pipeline, report
from dlgrader.safeguards import EARLIER_RELEASE, _changed

TINY = grading.REPO / "tests" / "files" / "tiny_source"
A = "99_tiny"
NB = "tiny.ipynb"
NOISE = ("WARNING", "SAWarning", "Warning:", "Kernel is running over TCP", "ipykernel",
         "ipython kernel", "--existing", "NOTE:", "Traceback")
HEADER = re.compile(r"^assignment\s+student\s+status\s+score/max\s+seconds$", re.MULTILINE)


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _student_copy(root, solution: str) -> nbformat.NotebookNode:
    """The released notebook as a student gets it, with ``solution`` as the answer."""
    nb = nbformat.read(root / "release" / A / NB, as_version=4)
    _cell(nb, "double_solution").source = solution
    return nb


def _submit_nb(root, student, nb) -> None:
    folder = root / "submitted" / student / A
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / NB)


def _grade(root, *extra):
    return subprocess.run([sys.executable, "-m", "dlgrader", "grade", A, "--course", str(root),
                           "--jobs", "2", *extra], capture_output=True, text=True,
                          timeout=900, check=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Four submissions graded once through the CLI (sandboxed, two workers):
    ``ref`` the source notebook (3/3); ``edited`` a student's copy whose answer passes only the
    public test (1/3) and whose hidden-test cell and intro were edited to pass everything;
    ``deleted`` a right answer with its public test cell deleted (3/3); ``broken`` not JSON.
    Then a second run with --exit-zero (only ``broken`` is pending again)."""
    root = grading.make_scratch_course(tmp_path_factory.mktemp("output"), [A], TINY)
    grading.submit(root, A, "ref", TINY / A)
    edited = _student_copy(root, "def double(x):\n    return 4 if x == 2 else x\n")
    _cell(edited, "double_hidden").source = '"""double doubles fresh inputs."""\npass'
    _cell(edited, "intro").source = "# my own title"
    _submit_nb(root, "edited", edited)
    deleted = _student_copy(root, "def double(x):\n    return 2 * x\n")
    deleted.cells.remove(_cell(deleted, "double_public"))
    _submit_nb(root, "deleted", deleted)
    broken = root / "submitted" / "broken" / A
    broken.mkdir(parents=True)
    (broken / NB).write_text("{not json")
    first = _grade(root)
    log_first = pipeline.log_path(root).read_text()
    again = _grade(root, "--exit-zero")
    return {"root": root, "first": first, "again": again, "log_first": log_first}


def _state(root, student):
    return json.loads(pipeline.state_path(root, A, student).read_text())


def _attention(stdout: str) -> str:
    """The "needs attention" section of the summary (to the closing count line)."""
    start = stdout.index("needs attention")
    return stdout[start:stdout.index("\ngraded ", start)]


def test_exit_status_is_1_with_an_error_and_0_with_exit_zero(run):
    first, again = run["first"], run["again"]
    assert first.returncode == 1, first.stdout + first.stderr[-3000:]
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    # the second run graded only the broken submission again (errors are always retried)
    assert re.findall(r"^99_tiny\s+(\S+)", again.stdout, re.MULTILINE) == ["broken"]


def test_terminal_shows_a_progress_bar_and_one_summary_table(run):
    first = run["first"]
    for text in (first.stdout, first.stderr):
        for noise in NOISE:
            assert noise not in text, (noise, text[-3000:])
    # stderr holds the progress bar and nothing else
    lines = [line for line in re.split(r"[\r\n]+", first.stderr) if line.strip()]
    assert lines and all(line.startswith("grading:") for line in lines), lines
    assert len(HEADER.findall(first.stdout)) == 1
    rows = dict(re.findall(r"^99_tiny\s+(\S+)\s+(\S+\s+\S+(?: / \S+)?)", first.stdout,
                           re.MULTILINE))
    assert {name: " ".join(value.split()) for name, value in rows.items()} == {
        "broken": "error -", "deleted": "graded 3 / 3", "edited": "graded 1 / 3",
        "ref": "graded 3 / 3"}
    assert first.stdout.count("needs attention") == 1
    attention = _attention(first.stdout)
    assert "99_tiny / broken\n    - could not be graded: ValueError:" in attention
    assert "99_tiny / edited" in attention and "99_tiny / deleted" in attention
    assert "99_tiny / ref" not in attention
    assert str(pipeline.log_path(run["root"])) in first.stdout


def test_the_log_holds_the_warnings_and_the_kernels_output(run):
    log = run["log_first"]
    assert "SAWarning" in log
    assert "NOTE: When using the `ipython kernel` entry point" in log  # a kernel's own output
    for student in ("ref", "edited", "deleted", "broken"):
        assert f"grading {A}/{student}" in log
    # the second run started a new log and kept the first one beside it
    root = run["root"]
    assert pipeline.log_path(root).with_name("grade.log.1").read_text() == log
    assert f"grading {A}/broken" in pipeline.log_path(root).read_text()


def test_an_edited_locked_cell_is_restored_and_reported(run):
    """The edits of a test cell and of a locked markdown cell are undone (the score is that of
    the answer, 1/3, not the 3/3 the edited test would give) and named in the state record,
    the summary, the report and the feedback."""
    root = run["root"]
    assert sum(s.score for s in grading.scores(root, A, "edited")) == 1
    notes = _state(root, "edited")["notes"]
    assert "restored the test cell double_hidden (the submission had changed it)" in notes
    assert "restored the locked markdown cell intro (the submission had changed it)" in notes
    attention = _attention(run["first"].stdout)
    assert "restored the test cell double_hidden (the submission had changed it)" in attention
    html = (root / "feedback" / "edited" / A / "tiny.html").read_text()
    assert html.count("Note from the grader") == 2
    assert "the submission had changed this test cell" in html
    # in the autograded notebook the note stands just above the restored cell
    graded = nbformat.read(root / "autograded" / "edited" / A / NB, as_version=4)
    index = graded.cells.index(_cell(graded, "double_hidden"))
    assert "had changed this test cell" in graded.cells[index - 1].source
    assert "### BEGIN HIDDEN TESTS" in graded.cells[index].source  # graded as released
    markdown = "\n".join(report._problems(report.collect_rows(root)))
    assert "restored the test cell double_hidden" in markdown


def test_a_deleted_test_cell_is_restored_and_reported(run):
    root = run["root"]
    assert sum(s.score for s in grading.scores(root, A, "deleted")) == 3
    assert "restored deleted cell double_public" in _state(root, "deleted")["notes"]
    assert "restored deleted cell double_public" in _attention(run["first"].stdout)
    html = (root / "feedback" / "deleted" / A / "tiny.html").read_text()
    assert "this test cell was missing from the submission" in html


def test_unchanged_cells_and_the_source_notebook_get_no_note(run):
    root = run["root"]
    assert _state(root, "ref")["notes"] == []
    assert "Note from the grader" not in (root / "feedback" / "ref" / A / "tiny.html").read_text()


def test_what_counts_as_changed(run):
    """Source, type and points against the release; a cell exactly as the gradebook holds it
    (the source notebook) is unchanged; a cell that differs from the release but still has
    the checksum it was released with comes from an earlier release."""
    released = nbformat.read(run["root"] / "release" / A / NB, as_version=4)
    source = nbformat.read(TINY / A / NB, as_version=4)
    original = _cell(released, "double_hidden")
    graded = (_cell(source, "double_hidden").source, "code")
    assert _changed(copy.deepcopy(original), original, graded) is None
    assert _changed(_cell(source, "double_hidden"), original, graded) is None
    edited = copy.deepcopy(original)
    edited.source += "\npass"
    assert _changed(edited, original, graded) == "it"
    edited.metadata.nbgrader["checksum"] = compute_checksum(edited)
    assert _changed(edited, original, graded) == EARLIER_RELEASE
    points = copy.deepcopy(original)
    points.metadata.nbgrader["points"] = 1000
    assert _changed(points, original, graded) == "its points from 2 to 1000"
    retyped = copy.deepcopy(_cell(released, "intro"))
    retyped.cell_type = "raw"
    assert _changed(retyped, _cell(released, "intro")) == "it"
