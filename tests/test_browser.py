"""End to end in a real browser: JupyterLab 4 with nbgrader, as a student and as an instructor.

Debian's chromium (headless) is driven by Playwright against JupyterLab started with the
README's own commands (``./course lab``, ``./course formgrader``) on a free local port, from a
temporary course mirror (see browser_helpers) so that the repository's workspace/ and gradebook
are never touched. Screenshots of every step go to test-artifacts/browser/.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess

import pytest
from browser_helpers import (
    REPO,
    chromium_page,
    course_mirror,
    jupyter_lab,
    log_on_failure,
    require_chromium,
    require_fresh_setup,
    shoot,
)

pytestmark = pytest.mark.browser

A2 = "02_logistic_regression/logistic_regression.ipynb"
ASSIGNMENTS = ["01_numpy_basics", "02_logistic_regression", "03_planar_classification",
               "04_deep_nn_step_by_step", "05_deep_nn_application", "06_initialization",
               "07_regularization", "08_gradient_checking", "09_optimization_methods"]
STUB = "raise NotImplementedError"
# What the student types in place of the stub of each solution cell (found by its first line):
# the three data-preparation exercises and sigmoid correctly, initialize_with_zeros with the
# classic rank-1 mistake np.zeros(dim).
ANSWERS = [
    ("# m_train, m_test and num_px", ["m_train = train_set_x_orig.shape[0]",
                                      "m_test = test_set_x_orig.shape[0]",
                                      "num_px = train_set_x_orig.shape[1]"]),
    ("# train_set_x_flatten and test_set_x_flatten",
     ["train_set_x_flatten = train_set_x_orig.reshape(train_set_x_orig.shape[0], -1).T",
      "test_set_x_flatten = test_set_x_orig.reshape(test_set_x_orig.shape[0], -1).T"]),
    ("# train_set_x and test_set_x: the flattened", ["train_set_x = train_set_x_flatten / 255",
                                                     "test_set_x = test_set_x_flatten / 255"]),
    ("def sigmoid(z):", ["s = 1 / (1 + np.exp(-z))"]),
    ("def initialize_with_zeros(dim):", ["w = np.zeros(dim)", "b = 0.0"]),
]
# The test cells' first lines (their docstrings), as the validation dialog shows them.
SIGMOID_TESTS = ['"""sigmoid computes 1 / (1 + exp(-z))', '"""sigmoid gives 0 and 1 (no NaN)']
ZEROS_TEST = '"""initialize_with_zeros returns a float column of zeros'
ZEROS_MESSAGE = ["w: wrong shape (3,), expected (3, 1)",
                 "hint: Use np.zeros((dim, 1)), not np.zeros(dim)."]

# A first start of JupyterLab asks, in a pop-up over the notebook, whether to fetch Jupyter's
# news; answered "no" in advance so that it covers nothing in the screenshots.
NO_NEWS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
           {"fetchNews": "false", "checkForUpdates": False}}


@pytest.fixture(scope="module", autouse=True)
def _browser_prerequisites():
    require_chromium()
    require_fresh_setup()


def _settings(home):
    for name, value in NO_NEWS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# nbgrader's Create Assignment side panel (its id is spelt "create_assignemnt" in 0.9.6).
CREATE_ASSIGNMENT_TAB = "[id^='nbgrader-create_assign']"


def _menu(page, menu: str, item: str) -> None:
    """Open a menu of the menu bar and click one of its entries, as a person would."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-item:visible", has=page.locator(
        ".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$"))).click()


def _type_answer(page, first_line: str, lines: list[str]):
    """Click the stub line of a solution cell, select it, type ``lines`` over it."""
    cell = page.locator(".jp-CodeCell").filter(
        has=page.locator(".cm-line", has_text=first_line)).first
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-line", has_text=STUB).click()
    page.keyboard.press("Home")  # to the end of the indentation
    page.keyboard.press("Shift+End")
    for i, line in enumerate(lines):
        if i:
            page.keyboard.press("Enter")  # the editor keeps the indentation
        page.keyboard.type(line)
    typed = cell.locator(".cm-content").inner_text()
    assert STUB not in typed and all(line in typed for line in lines), typed
    return cell


def test_student_validates_a2_in_jupyterlab(tmp_path):
    """A student opens A2 from ./course lab, answers sigmoid right and initialize_with_zeros
    wrong, runs all cells and presses Validate: the dialog shows the failing test with its
    message, and sigmoid's tests are not among the failures."""
    released = REPO / "release" / A2
    released_sha = _sha(released)
    root = course_mirror(tmp_path / "course")
    # no news settings: the student's page config alone keeps the news pop-up away
    # The instructor has also released A2 through nbgrader's exchange (the mirror's own).
    subprocess.run([str(REPO / ".venv" / "bin" / "nbgrader"), "release_assignment",
                    "02_logistic_regression"], cwd=root, check=True, capture_output=True,
                   timeout=120)
    with (jupyter_lab(root, "lab", tmp_path / "home") as lab, log_on_failure(lab),
          chromium_page(tmp_path / "profile") as page):
        # ./course lab made the student's copy of release/ and opened JupyterLab in it.
        notebook = root / "workspace" / A2
        assert notebook.is_file(), f"./course lab did not copy release/ to {notebook.parent}"
        page.goto(lab.page_url(f"lab/tree/{A2}"))
        validate = page.locator(".jp-NotebookPanel-toolbar .validate-button")
        validate.wait_for()  # nbgrader's labextension is loaded
        page.get_by_text(re.compile(r"\| Idle$")).wait_for()  # the kernel is up
        shoot(page, "01-student-opens-a2")

        cells = {first: _type_answer(page, first, lines) for first, lines in ANSWERS}
        cells["def sigmoid(z):"].scroll_into_view_if_needed()
        shoot(page, "02-student-typed-answers")

        _menu(page, "Run", "Run All Cells")
        # Run All stops at the first error: the initialize_with_zeros test, after sigmoid's.
        zeros_test = page.locator(".jp-CodeCell").filter(
            has=page.locator(".cm-line", has_text=ZEROS_TEST[3:]))
        error = zeros_test.locator(".jp-OutputArea-output[data-mime-type='application/"
                                   "vnd.jupyter.stderr']")
        error.wait_for(timeout=120_000)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
            timeout=120_000)
        # (text_content: cells scrolled out of view are not rendered, so have no inner text)
        assert all(message in error.text_content() for message in ZEROS_MESSAGE)
        for text in SIGMOID_TESTS:  # ran, without an error
            sigmoid_test = page.locator(".jp-CodeCell").filter(
                has=page.locator(".cm-line", has_text=text[3:]))
            assert re.fullmatch(r"\[\d+\]:", sigmoid_test.locator(
                ".jp-InputPrompt").text_content().strip()), text
            assert sigmoid_test.locator(".jp-OutputArea-output").count() == 0, text
        demo = page.locator(".jp-CodeCell").filter(
            has=page.locator(".cm-line", has_text='print("sigmoid(0) ="'))
        assert "sigmoid(0) = 0.5" in demo.locator(".jp-OutputArea").text_content()
        zeros_test.scroll_into_view_if_needed()
        shoot(page, "03-student-ran-all-cells")

        # A failed check shows its message first, the cell's line, nothing of the kit.
        shown = error.text_content()
        assert shown.lstrip().startswith("Test failed: " + ZEROS_MESSAGE[0]), shown
        assert "dlutils" not in shown and "Traceback" not in shown

        # The own-image cell is the student's to edit: typed there, it stays.
        own = page.locator(".jp-CodeCell").filter(
            has=page.locator(".cm-line", has_text="my_image = None")).first
        own.scroll_into_view_if_needed()
        own_cell = own.element_handle()  # the same cell once its text has changed
        own.locator(".cm-line", has_text="my_image = None").click()
        page.keyboard.press("End")
        page.keyboard.press("Shift+Home")
        page.keyboard.type('my_image = "my_cat.jpg"')
        typed = own_cell.query_selector(".cm-content").inner_text()
        assert 'my_image = "my_cat.jpg"' in typed, typed
        shoot(page, "04-student-edits-own-image-cell")

        validate.click()
        dialog = page.locator(".jp-Dialog", has_text="Validation Results")
        dialog.locator(".nndl-report").wait_for(timeout=300_000)
        shoot(page, "05-student-validation-report-card")
        text = dialog.locator(".jp-Dialog-body").inner_text()
        # a summary first, then the failure's message and hint; no source, no traceback
        assert text.lstrip().startswith(
            "logistic_regression.ipynb: 1 of 6 functions pass their public tests"), text
        assert all(message in text for message in ZEROS_MESSAGE), text
        assert "Traceback" not in text and "def initialize_with_zeros" not in text
        assert "not attempted yet" in text
        dialog.get_by_role("button", name="Ok").click()
        dialog.wait_for(state="detached")

        # Validate saved the student's work in their workspace, and release/ is untouched.
        saved = notebook.read_text()
        assert "s = 1 / (1 + np.exp(-z))" in saved and "w = np.zeros(dim)" in saved
        assert 'my_image = \\"my_cat.jpg\\"' in saved
        assert _sha(released) == released_sha

        # The student's Nbgrader menu: the assignment list, not the instructor's panels.
        page.locator(".lm-MenuBar-item", has_text=re.compile("^Nbgrader$")).click()
        labels = page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel").all_inner_texts()
        page.keyboard.press("Escape")
        assert "Assignment List" in labels, labels
        assert not {"Formgrader", "Course List"} & set(labels), labels
        assert page.locator(CREATE_ASSIGNMENT_TAB).count() == 0

        # nbgrader's assignment list shows what the instructor released, for course nndl.
        _menu(page, "Nbgrader", "Assignment List")
        released_list = page.locator("#released_assignments_list")
        released_list.locator(".list_item", has_text="02_logistic_regression").wait_for()
        assert "nndl" in released_list.locator(".list_item").first.inner_text()
        assert released_list.locator("#released_assignments_list_error").is_hidden()
        shoot(page, "06-student-assignment-list")
        # no pop-up of JupyterLab's news (the student's page config turns it off)
        assert page.get_by_text("official Jupyter news").count() == 0


def test_instructor_sees_assignments_in_formgrader(tmp_path):
    """./course formgrader: Nbgrader > Formgrader lists the kit's nine assignments."""
    root = course_mirror(tmp_path / "course")
    _settings(tmp_path / "home")
    with (jupyter_lab(root, "formgrader", tmp_path / "home") as lab, log_on_failure(lab),
          chromium_page(tmp_path / "profile") as page):
        page.goto(lab.page_url("lab"))
        page.locator(".lm-MenuBar-item", has_text="Nbgrader").wait_for()
        _menu(page, "Nbgrader", "Formgrader")
        frame = page.frame_locator("iframe")
        rows = frame.locator("#main-table tr")
        for name in ASSIGNMENTS:
            rows.filter(has_text=name).first.wait_for()
        shoot(page, "07-instructor-formgrader")
        names = frame.locator("#main-table tr td:first-child").all_inner_texts()
        assert sorted(name.strip() for name in names) == ASSIGNMENTS, names
        # ./course formgrader released release/ to the course's exchange: not "draft"
        for name in ASSIGNMENTS:
            row = rows.filter(has_text=name).first.inner_text()
            assert "released" in row and "draft" not in row, row
        # The instructor keeps the panels the student's JupyterLab hides.
        assert page.locator(CREATE_ASSIGNMENT_TAB).count() == 1
