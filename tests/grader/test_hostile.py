"""The hostile matrix: submissions of A1 that try to get unearned points, read the hidden tests
or break the grader, by class (tests/hostile_rows.py), all graded in one run of the command an
instructor runs (``python -m dlgrader grade``: sandboxed kernel, trusted judge, two workers).

Every row asserts its exact score (what the honest, usually wrong, notebook earns), that
nothing needs manual grading, and that no line of the hidden tests reaches the student's
feedback or any output of the autograded notebook; where meaningful, what the instructor sees
in the state record (findings, notes, timeouts, a dead kernel, the time it took).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import hostile_rows as H
import nbformat
import pytest
from hostile_rows import A1, FULL, MARKER, NB

from dlgrader import grading, pipeline

LISTENER = socket.socket()
LISTENER.bind(("127.0.0.1", 0))
LISTENER.listen(5)
PORT = LISTENER.getsockname()[1]
CONNECTIONS: list = []


def _accept():
    LISTENER.settimeout(3600)
    try:
        while True:
            CONNECTIONS.append(LISTENER.accept())
    except OSError:
        pass


threading.Thread(target=_accept, daemon=True).start()

ROWS = {row.name: row for row in H.all_rows(PORT)}
GRADED = [name for name, row in ROWS.items() if row.status == "graded"]
# What `./course grade` runs after setup, with limits that keep the run short: a call of a
# student function may take CALL_LIMIT s, a cell 15 s, a notebook 120 s.
COMMAND = [sys.executable, "-m", "dlgrader", "grade", "01_numpy_basics", "--jobs", "2",
           "--call-timeout", str(H.CALL_LIMIT), "--cell-timeout", "15",
           "--notebook-timeout", "120"]


def _submit(root: Path, row: H.Row) -> None:
    folder = root / "submitted" / row.name / A1
    folder.mkdir(parents=True)
    if row.notebook is None:  # the blank release
        (folder / NB).write_bytes((root / "release" / A1 / NB).read_bytes())
    elif isinstance(row.notebook, str):
        (folder / row.notebook_name).write_text(row.notebook)
    else:
        nbformat.write(row.notebook, folder / row.notebook_name)
    for relative, content in row.files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for relative, target in row.symlinks.items():
        os.symlink(target, folder / relative)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade every row once, through the CLI, two workers, sandboxed."""
    root = grading.make_scratch_course(tmp_path_factory.mktemp("hostile"), [A1])
    before = _hash_tree(root / "source")
    for row in ROWS.values():
        _submit(root, row)
    submitted = _hash_tree(root / "submitted")
    start = time.monotonic()
    run = subprocess.run([*COMMAND, "--course", str(root)], capture_output=True, text=True,
                         timeout=3600, check=False)
    seconds = time.monotonic() - start
    print(f"\ngrading {len(ROWS)} hostile rows took {seconds:.0f} s")
    states = {}
    for name in ROWS:
        path = pipeline.state_path(root, A1, name)
        states[name] = json.loads(path.read_text()) if path.exists() else None
    _print_table(root, states)
    return {"root": root, "run": run, "seconds": seconds, "states": states,
            "source_before": before, "source_after": _hash_tree(root / "source"),
            "submitted_before": submitted, "submitted_after": _hash_tree(root / "submitted")}


def _print_table(root: Path, states: dict) -> None:
    """Each row's class, expected and observed score, status and seconds (shown with -s)."""
    for name, row in ROWS.items():
        state = states[name] or {}
        observed = (sum(c.score for c in grading.scores(root, A1, name))
                    if state.get("status") == "graded" else "-")
        flag = "" if observed == row.expected or row.status != "graded" else "  <-- differs"
        print(f"{row.kind:9s} {name:38s} expected {row.expected:>4g} observed {observed!s:>5} "
              f"{state.get('status', 'no state'):6s} {state.get('seconds', 0):6.1f} s{flag}")


def _hash_tree(folder: Path) -> str:
    """Every file's content (a symlink: its target, never followed)."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames
                                        if os.path.islink(os.path.join(dirpath, d))]):
            path = Path(dirpath, name)
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            digest.update(os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
    return digest.hexdigest()


def _hidden_only_lines() -> list[str]:
    """Distinctive lines of hidden tests that appear nowhere else in the notebook (not even
    as part of another line)."""
    hidden, public = set(), []
    for cell in H.REFERENCE.cells:
        inside = False
        for raw in cell.source.splitlines():
            line = raw.strip()
            if "HIDDEN TESTS" in line:
                inside = "BEGIN" in line
                continue
            if inside:
                hidden.add(line)
            else:
                public.append(line)
    elsewhere = "\n".join(public)
    return sorted(line for line in hidden if len(line) > 25 and line not in elsewhere)


HIDDEN_LINES = _hidden_only_lines()


def leaked(text: str) -> list[str]:
    return [line for line in HIDDEN_LINES if line in text]


def feedback_html(root: Path, student: str) -> str:
    return (root / "feedback" / student / A1 / NB.replace(".ipynb", ".html")).read_text()


def autograded(root: Path, student: str) -> nbformat.NotebookNode:
    return nbformat.read(root / "autograded" / student / A1 / NB, as_version=4)


def output_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts += [output.get("ename", ""), output.get("evalue", "")]
        parts += [v if isinstance(v, str) else json.dumps(v)
                  for k, v in output.get("data", {}).items() if not k.startswith("image/")]
    return "\n".join(parts)


def is_test_cell(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade", False)


def outputs_of_tests(nb: nbformat.NotebookNode) -> dict[str, str]:
    return {c.metadata["nbgrader"]["grade_id"]: output_text(c) for c in nb.cells
            if is_test_cell(c)}


def errors_of_tests(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The name of the error each failed test cell ended with."""
    return {c.metadata["nbgrader"]["grade_id"]: o.ename for c in nb.cells if is_test_cell(c)
            for o in c.get("outputs", []) if o.output_type == "error"}


# --------------------------------------------------------------------------------------------
# Every row

@pytest.mark.slow
@pytest.mark.parametrize("name", list(ROWS))
def test_score(graded, name):
    """Exactly the expected score (what the honest notebook earns), nothing needs manual
    grading, and no hidden test line in the feedback or in any output of the notebook."""
    row, state, root = ROWS[name], graded["states"][name], graded["root"]
    assert state is not None, f"no state record for {name}"
    assert state["status"] == row.status, state
    if row.status != "graded":
        assert "not a readable notebook" in state["error"]
        return
    cells = grading.scores(root, A1, name)
    assert sum(c.score for c in cells) == row.expected, [(c.grade_id, c.score) for c in cells]
    assert sum(c.max_score for c in cells) == FULL
    assert not [c for c in cells if c.needs_manual_grade]
    html = feedback_html(root, name)
    assert not leaked(html), leaked(html)
    nb = autograded(root, name)
    outputs = "\n".join(output_text(c) for c in nb.cells)
    assert not leaked(outputs), leaked(outputs)
    assert "TamperingDetected" not in html


@pytest.mark.slow
@pytest.mark.parametrize("name", GRADED)
def test_what_the_student_receives(graded, name):
    """The feedback folder holds the feedback page and nothing of the instructor's: no
    database, no file with a hidden test line."""
    folder = graded["root"] / "feedback" / name / A1
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        assert path.suffix not in (".db", ".sqlite"), path
        text = path.read_bytes().decode("utf-8", "replace")
        assert not leaked(text), (path.name, leaked(text)[:3])


@pytest.mark.slow
@pytest.mark.parametrize("name", GRADED)
def test_what_the_instructor_sees(graded, name):
    """The state record: no zeroed cell (the scan only reports), the expected notes, exactly
    the functions that ran out of time, the dead kernel, the time the submission took."""
    row, state = ROWS[name], graded["states"][name]
    assert state["zeroed_cells"] == []
    for note in row.notes:
        assert any(note in n for n in state["notes"]), (note, state["notes"])
    if row.timeouts is not None:
        assert sorted({t["function"] for t in state["timeouts"]}) == sorted(row.timeouts), \
            state["timeouts"]
    if row.kernel_died is not None:
        assert state["kernel_died"] == row.kernel_died, state["notes"]
    if row.finding is not None:
        assert any(row.finding in f["reason"] for f in state["findings"]), state["findings"]
    if row.max_seconds is not None:
        assert state["seconds"] < row.max_seconds, (state["seconds"], state["notes"])


@pytest.mark.slow
@pytest.mark.parametrize("name", GRADED)
def test_test_cells_show_only_the_judge(graded, name):
    """A test cell's output is the judge's verdict: no fake output of the kernel
    (MARKER) reaches it, whatever the row printed, displayed or forged."""
    nb = autograded(graded["root"], name)
    for grade_id, text in outputs_of_tests(nb).items():
        assert MARKER not in text, (grade_id, text[:300])


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in GRADED if ROWS[n].evidence])
def test_the_trick_ran(graded, name):
    """Each trick really ran (its traces are in the notebook): a row whose trick silently
    failed would prove nothing."""
    nb = autograded(graded["root"], name)
    outputs = "\n".join(output_text(c) for c in nb.cells)
    for evidence in ROWS[name].evidence:
        assert evidence in outputs, evidence


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in GRADED if ROWS[n].ungradable])
def test_ungradable_values(graded, name):
    """A function that returns something other than plain data fails its tests with
    UngradableValue, and the student reads why."""
    row, root = ROWS[name], graded["root"]
    errors = errors_of_tests(autograded(root, name))
    for grade_id in row.ungradable:
        assert errors.get(grade_id) == "UngradableValue", (grade_id, errors)
    assert "which the grader cannot check" in feedback_html(root, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in GRADED if ROWS[n].timeouts])
def test_timeouts_explained(graded, name):
    """The tests of a function that did not return say so; a function that timed out is not
    called again."""
    row, root = ROWS[name], graded["root"]
    errors = errors_of_tests(autograded(root, name))
    html = feedback_html(root, name)
    for function in row.timeouts:
        cells = [grade_id for grade_id, owner in H.TEST_CELLS if owner == function]
        # the first test that called it timed out; a live kernel: the later ones fail at once
        checked = cells if row.kernel_died is False else cells[:1]
        for grade_id in checked:
            assert errors.get(grade_id) == "CallTimedOut", (grade_id, errors)
    assert f"did not return within {H.CALL_LIMIT} s" in html


# --------------------------------------------------------------------------------------------
# The run as a whole and the legacy rows

@pytest.mark.slow
def test_grader_survives_and_nothing_is_touched(graded):
    """The command finishes, with exit status 1 because the malformed notebook could not be
    graded (and is named); source and submissions are unchanged, no connection reached the
    host, and every submission has a state record."""
    run = graded["run"]
    assert run.returncode == 1, run.stderr[-3000:]
    assert "needs attention" in run.stdout and "malformed_json" in run.stdout
    assert graded["source_before"] == graded["source_after"]
    assert graded["submitted_before"] == graded["submitted_after"]
    assert CONNECTIONS == []
    assert all(graded["states"].values())


@pytest.mark.slow
def test_legacy_feedback(graded):
    """Feedback never shows hidden test code or tracebacks; it shows the reasons."""
    root = graded["root"]
    for name in ("reference", "monkeypatched_numpy", "test_cell_edited", "kills_own_kernel"):
        html = feedback_html(root, name)
        assert "### BEGIN HIDDEN TESTS" not in html and "hidden tests ran here" in html
    assert "KernelDied" in feedback_html(root, "kills_own_kernel")
    assert "most recent call last" not in feedback_html(root, "test_cell_edited")
    nb = autograded(root, "reads_source_and_gradebook")
    printed = output_text(nb.cells[H.cell_index(nb, "L1_solution")])
    assert printed.count("No such file or directory") == len(H.SECRETS), printed[:500]


def _test_only_lines() -> list[str]:
    """Distinctive lines of test cells (public or hidden) found in no other cell (not even as
    part of a line)."""
    tests = {line.strip() for cell in H.REFERENCE.cells if is_test_cell(cell)
             for line in cell.source.splitlines()}
    elsewhere = "\n".join(cell.source for cell in H.REFERENCE.cells if not is_test_cell(cell))
    return sorted(line for line in tests
                  if len(line) > 25 and "HIDDEN" not in line and line not in elsewhere)


@pytest.mark.slow
def test_the_kernel_never_sees_test_code(graded):
    """What a student can print of its kernel's history and line cache is its own cells (and
    the locked demo cells), never a line of a test cell, public or hidden."""
    nb = autograded(graded["root"], "kernel_history_and_linecache")
    printed = "\n".join(output_text(c) for c in nb.cells if not is_test_cell(c))
    assert '"_ih": [' in printed and "def basic_sigmoid(x):" in printed
    assert not [line for line in _test_only_lines() if line in printed]


@pytest.mark.slow
def test_regrading_is_idempotent_and_resubmission_is_fresh(graded):
    """A second run grades nothing but the unreadable submission; a changed submission is
    regraded with no stale score."""
    root = graded["root"]
    options = pipeline.Options(jobs=1, cell_timeout=15, call_timeout=H.CALL_LIMIT)
    again = pipeline.grade(root, [A1], options=options, progress=False)
    assert sorted(s["student"] for s in again) == ["malformed_json"]  # only errors retry
    path = root / "submitted" / "reference" / A1 / NB
    nb = json.loads(path.read_text())
    _delete_test_cell_json(nb)
    path.write_text(json.dumps(nb))
    states = pipeline.grade(root, [A1], ["reference"], options=options, progress=False)
    assert [s["student"] for s in states] == ["reference"]
    assert sum(s.score for s in grading.scores(root, A1, "reference")) == FULL - 3


def _delete_test_cell_json(nb: dict) -> None:
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "sigmoid_solution":
            cell["source"] = H.WRONG_SIGMOID
    nb["cells"] = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {})
                   .get("grade_id") != "sigmoid_values_any_shape"]
