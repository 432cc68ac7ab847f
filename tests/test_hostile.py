"""The hostile and broken submissions: each graded through the real pipeline (sandboxed), with
exact scores, what the instructor sees (the state record) and what the student sees (feedback).

All rows are variations of the A1 reference solution (17 points), graded in one run.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import socket
import threading
from pathlib import Path

import nbformat
import pytest

from dlutils import grading, pipeline
from dlutils.sandbox import Limits

A1 = "01_numpy_basics"
NB = "numpy_basics.ipynb"
FULL = 17
SOURCE = grading.REPO / "source" / A1 / NB
REFERENCE = nbformat.read(SOURCE, as_version=4)


def cell_index(grade_id: str) -> int:
    return next(i for i, c in enumerate(REFERENCE.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def variant(edit) -> nbformat.NotebookNode:
    nb = copy.deepcopy(REFERENCE)
    edit(nb)
    return nb


def append_to(grade_id: str, code: str):
    def edit(nb):
        nb.cells[cell_index(grade_id)].source += "\n" + code
    return edit


def prepend_to(grade_id: str, code: str):
    def edit(nb):
        cell = nb.cells[cell_index(grade_id)]
        cell.source = code + "\n" + cell.source
    return edit


WRONG_SIGMOID = "def sigmoid(x):\n    return 1 / (1 + np.exp(x))\n"
LISTENER = socket.socket()
LISTENER.bind(("127.0.0.1", 0))
LISTENER.listen(5)
PORT = LISTENER.getsockname()[1]
CONNECTIONS: list = []


def _accept():
    LISTENER.settimeout(600)
    try:
        while True:
            CONNECTIONS.append(LISTENER.accept())
    except OSError:
        pass


threading.Thread(target=_accept, daemon=True).start()


def _edit_test_cell(nb):
    nb.cells[cell_index("sigmoid_solution")].source = WRONG_SIGMOID
    nb.cells[cell_index("sigmoid_values_any_shape")].source = '"""edited"""\npass'


def _delete_test_cell(nb):
    nb.cells[cell_index("sigmoid_solution")].source = WRONG_SIGMOID
    del nb.cells[cell_index("sigmoid_values_any_shape")]


def _thousand_points(nb):
    nb.cells[cell_index("L2_value_and_type")].metadata.nbgrader["points"] = 1000


def _big_image(nb):
    png = base64.b64encode(b"\x89PNG" + b"\0" * 30_000_000).decode()
    nb.cells[cell_index("L1_solution")].outputs = [nbformat.v4.new_output(
        "display_data", data={"image/png": png})]


def _duplicate_solution(nb):
    i = cell_index("sigmoid_solution")
    nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))


SECRETS = ("../../../source/01_numpy_basics/numpy_basics.ipynb", "../../../gradebook.db",
           "/work/main/source/01_numpy_basics/numpy_basics.ipynb")
READ_SECRETS = "\n".join(
    f"try:\n    print(open({p!r}).read()[:2000])\nexcept Exception as e:\n    print('no', e)"
    for p in SECRETS)
WRITE_SECRETS = "\n".join(
    f"try:\n    open({p!r}, 'w').write('pwned')\nexcept Exception as e:\n    print('no', e)"
    for p in SECRETS)

# name -> (notebook edit or special, expected score, expected status)
ROWS = {
    "reference": (lambda nb: None, FULL, "graded"),
    "monkeypatched_numpy": (prepend_to("sigmoid_solution",
                                       "np.allclose = lambda *a, **k: True\n" + WRONG_SIGMOID),
                            1, "graded"),
    "reads_source_and_gradebook": (append_to("L1_solution", READ_SECRETS), FULL, "graded"),
    "writes_source_and_gradebook": (append_to("L1_solution", WRITE_SECRETS), FULL, "graded"),
    "opens_network": (append_to("L1_solution", (
        f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {PORT}), timeout=3)\n"
        "except OSError as e:\n    print('no network', e)")), FULL, "graded"),
    "infinite_loop": (prepend_to("L1_solution", "while True:\n    pass"), FULL - 1, "graded"),
    "allocates_50GB": (append_to("L1_solution", "big = np.ones(50_000_000_000 // 8)"),
                       FULL, "graded"),
    "spawns_processes": (append_to("L1_solution", (
        "import subprocess\nkids = []\ntry:\n    for _ in range(2000):\n"
        "        kids.append(subprocess.Popen(['sleep', '20']))\n"
        "except OSError as e:\n    print('stopped after', len(kids), e)")), FULL, "graded"),
    # 500 MB in 1 MB lines: the output is cut at the cap and the cell interrupted; the
    # kernel lives on, L1 was defined before the flood, so nothing is lost
    "prints_500MB": (append_to("L1_solution", "for _ in range(500):\n    print('x' * 1_000_000)"),
                     FULL, "graded"),
    "kills_own_kernel": (prepend_to("sigmoid_solution", "import os\nos.kill(os.getpid(), 9)"),
                         1, "graded"),
    # a wrong sigmoid loses its two test cells (3 points) once the test cell is back
    "test_cell_edited": (_edit_test_cell, FULL - 3, "graded"),
    "test_cell_deleted": (_delete_test_cell, FULL - 3, "graded"),
    "thousand_points": (_thousand_points, FULL, "graded"),
    "30MB_image_output": (_big_image, FULL, "graded"),
    "runtime_warning": (append_to("L1_solution", (
        "import warnings\n_L1 = L1\ndef L1(yhat, y):\n"
        "    warnings.warn('harmless', RuntimeWarning)\n    return _L1(yhat, y)")),
        FULL, "graded"),
    "duplicated_solution_cell": (_duplicate_solution, FULL, "graded"),
    "malformed_json": ("{not json", 0, "error"),
    "renamed_notebook": ("rename", FULL, "graded"),
    "blank_release": ("blank", 0, "graded"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade every row once, two workers, sandboxed, tight limits."""
    root = grading.make_scratch_course(tmp_path_factory.mktemp("hostile"), [A1])
    before = _hash_tree(root / "source")
    for name, (edit, _, _) in ROWS.items():
        folder = root / "submitted" / name / A1
        folder.mkdir(parents=True)
        if edit == "blank":
            (folder / NB).write_bytes((root / "release" / A1 / NB).read_bytes())
        elif edit == "rename":
            (folder / "numpy_basics-Copy1.ipynb").write_text(nbformat.writes(REFERENCE))
        elif isinstance(edit, str):
            (folder / NB).write_text(edit)
        else:
            nbformat.write(variant(edit), folder / NB)
    submitted = _hash_tree(root / "submitted")
    options = pipeline.Options(jobs=2, cell_timeout=10, notebook_timeout=120,
                               limits=Limits(memory_mb=3072, processes=32, cpu_seconds=120))
    states = pipeline.grade(root, [A1], options=options, progress=False)
    return {"root": root, "states": {s["student"]: s for s in states},
            "source_before": before, "source_after": _hash_tree(root / "source"),
            "submitted_before": submitted, "submitted_after": _hash_tree(root / "submitted")}


def _hash_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def _hash_tree(folder: Path) -> str:
    return "".join(_hash_file(p) for p in sorted(folder.rglob("*")) if p.is_file())


def total(root: Path, student: str) -> float:
    return sum(s.score for s in grading.scores(root, A1, student))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ROWS))
def test_hostile_submission_score(graded, name):
    """Each row gets exactly its expected score and status, and nothing needs manual grading."""
    _, expected, status = ROWS[name]
    state = graded["states"][name]
    assert state["status"] == status, state
    if status == "graded":
        cells = grading.scores(graded["root"], A1, name)
        assert sum(c.score for c in cells) == expected, [(c.grade_id, c.score) for c in cells]
        assert sum(c.max_score for c in cells) == FULL
        assert not [c for c in cells if c.needs_manual_grade]
    else:
        assert "not a readable notebook" in state["error"]


@pytest.mark.slow
def test_grader_survives_and_nothing_is_touched(graded):
    """Source and submissions are unchanged, no connection reached the host, and every
    submission has a state record."""
    assert graded["source_before"] == graded["source_after"]
    assert graded["submitted_before"] == graded["submitted_after"]
    assert CONNECTIONS == []
    assert set(graded["states"]) == set(ROWS)


@pytest.mark.slow
def test_what_the_instructor_sees(graded):
    """The state records name the tampering, the dead kernel, the renames and restorations."""
    states = graded["states"]
    assert any("np.allclose" in f["reason"] for f in states["monkeypatched_numpy"]["findings"])
    assert "sigmoid_values_any_shape" in states["monkeypatched_numpy"]["zeroed_cells"]
    assert states["kills_own_kernel"]["kernel_died"]
    assert any("renamed" in n for n in states["renamed_notebook"]["notes"])
    assert any("restored" in n for n in states["test_cell_deleted"]["notes"])
    assert any("truncated" in n for n in states["prints_500MB"]["notes"])


def _hidden_only_lines() -> list[str]:
    """Distinctive lines of hidden tests that appear nowhere else in the notebook."""
    hidden, public = set(), set()
    for cell in REFERENCE.cells:
        inside = False
        for raw in cell.source.splitlines():
            line = raw.strip()
            if "HIDDEN TESTS" in line:
                inside = "BEGIN" in line
                continue
            (hidden if inside else public).add(line)
    return sorted(line for line in hidden - public if len(line) > 25)


HIDDEN_LINES = _hidden_only_lines()


def feedback_html(root: Path, student: str) -> str:
    return (root / "feedback" / student / A1 / NB.replace(".ipynb", ".html")).read_text()


@pytest.mark.slow
def test_what_the_student_sees(graded):
    """Feedback never shows hidden test code or tracebacks; it shows the reasons."""
    root = graded["root"]
    hidden = "### BEGIN HIDDEN TESTS"
    for name in ("reference", "monkeypatched_numpy", "test_cell_edited", "kills_own_kernel"):
        html = feedback_html(root, name)
        assert hidden not in html and "hidden tests ran here" in html
    assert "TamperingDetected" in feedback_html(root, "monkeypatched_numpy")
    assert "KernelDied" in feedback_html(root, "kills_own_kernel")
    html = feedback_html(root, "test_cell_edited")
    assert "most recent call last" not in html
    assert not [line for line in HIDDEN_LINES if line in html]
    autograded = nbformat.read(root / "autograded" / "reads_source_and_gradebook" / A1 / NB, 4)
    printed = "".join(o.get("text", "") for o in autograded.cells[cell_index("L1_solution")]
                      .outputs)
    assert printed.count("No such file or directory") == len(SECRETS), printed[:500]


@pytest.mark.slow
def test_regrading_is_idempotent_and_resubmission_is_fresh(graded):
    """A second run grades nothing; a changed submission is regraded with no stale score."""
    root = graded["root"]
    options = pipeline.Options(jobs=1, cell_timeout=10)
    again = pipeline.grade(root, [A1], options=options, progress=False)
    assert [s["student"] for s in again] == ["malformed_json"]  # only errors are retried
    nb = json.loads((root / "submitted" / "reference" / A1 / NB).read_text())
    _delete_test_cell_json(nb)
    (root / "submitted" / "reference" / A1 / NB).write_text(json.dumps(nb))
    states = pipeline.grade(root, [A1], ["reference"], options=options, progress=False)
    assert [s["student"] for s in states] == ["reference"]
    assert total(root, "reference") == FULL - 3


def _delete_test_cell_json(nb: dict) -> None:
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "sigmoid_solution":
            cell["source"] = WRONG_SIGMOID
    nb["cells"] = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {})
                   .get("grade_id") != "sigmoid_values_any_shape"]
