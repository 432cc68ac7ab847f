"""The Validate button in a real browser: the report card of dlutils.validate_server in
nbgrader's own "Validation Results" dialog, against nbgrader's handler on the same notebooks.

Two course mirrors (see browser_helpers) start ``./course lab`` with a student's workspace
prepared in advance: A1 with sigmoid wrong (the sign of the exponent) and four functions not
attempted, and the week-2 companion with its first exercise answered. The first mirror is the
kit as it was before (its student config without our server extension, so nbgrader's handler
answers), the second the kit as it is. Screenshots in test-artifacts/browser/, the dialogs' text
and sizes in test-artifacts/browser/validate-dialogs.txt.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from browser_helpers import (
    ARTIFACTS,
    REPO,
    chromium_page,
    course_mirror,
    jupyter_lab,
    log_on_failure,
    require_chromium,
    require_fresh_setup,
    shoot,
)
from solutions import answered

pytestmark = pytest.mark.browser

A1 = "01_numpy_basics/numpy_basics.ipynb"
WEEK2 = "week2_computation_graph_and_vectorisation.ipynb"
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
ANSWERS = {"basic_sigmoid": None, "sigmoid": ("np.exp(-x)", "np.exp(x)"), "image2vector": None,
           "normalize_rows": None}
A1_SUMMARY = ("numpy_basics.ipynb: 3 of 8 functions pass their public tests; 1 failing, "
              "4 not attempted yet.")
WEEK2_SUMMARY = f"{WEEK2}: 1 of 6 exercises correct; 5 not attempted yet."
SIGN_HINT = "hint: You computed 1 / (1 + e^x): the exponent is -x."
NO_NEWS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
           {"fetchNews": "false", "checkForUpdates": False}}


@pytest.fixture(scope="module", autouse=True)
def _browser_prerequisites():
    require_chromium()
    require_fresh_setup()


def _student_workspace(root: Path) -> None:
    """What the student has done before pressing Validate (./course lab keeps it)."""
    nb = answered(A1, ANSWERS)
    (root / "workspace" / A1).parent.mkdir(parents=True)
    nbformat.write(nb, root / "workspace" / A1)
    week2 = nbformat.read(REPO / "notebooks" / WEEK2, as_version=4)
    exercise = next(c for c in week2.cells if "exercise" in c.metadata.get("tags", []))
    solution = next(c for c in week2.cells if "solution" in c.metadata.get("tags", []))
    exercise.source = CODE_BLOCK.findall(solution.source)[0].rstrip("\n")
    (root / "workspace" / "companions").mkdir(parents=True)
    nbformat.write(week2, root / "workspace" / "companions" / WEEK2)


def _kit_before(root: Path) -> None:
    """The mirror's student config as it was: no jupyter_server_config.json, so nbgrader's
    validate_assignment handler answers (./course lab reads $ROOT/dlutils/student_config)."""
    (root / "dlutils").unlink()
    shutil.copytree(REPO / "dlutils", root / "dlutils",
                    ignore=shutil.ignore_patterns("__pycache__", "jupyter_server_config.json"))


def _settings(home: Path) -> None:
    for name, value in NO_NEWS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


def _validate(page, lab, path: str, shot: str) -> str:
    """Open ``path``, press Validate, return the dialog's text (as shown) and close it."""
    try:
        return _validate_steps(page, lab, path, shot)
    except Exception:
        shoot(page, f"{shot}-failed")
        raise


def _validate_steps(page, lab, path: str, shot: str) -> str:
    page.goto(lab.page_url(f"lab/tree/{path}"))
    # This notebook's button (JupyterLab may reopen the previous notebook's tab as well).
    button = page.get_by_label(Path(path).name, exact=True).locator(
        ".jp-NotebookPanel-toolbar .validate-button")
    button.wait_for()
    page.get_by_text(re.compile(r"\| Idle$")).wait_for()
    button.click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    dialog.locator("#validation-message").wait_for(timeout=300_000)
    shoot(page, shot)
    text = dialog.locator(".jp-Dialog-body").inner_text()
    report = dialog.locator(".nndl-report .message").first
    if report.count():  # our dialog: the first failure's message, scrolled into view
        report.scroll_into_view_if_needed()
        shoot(page, f"{shot}-message")
    dialog.get_by_role("button", name="Ok").click()
    dialog.wait_for(state="detached")
    # One notebook open at a time (JupyterLab would reopen this one next to the next one).
    page.locator(".lm-MenuBar-item", has_text=re.compile("^File$")).click()
    page.locator(".lm-Menu-item:visible", has=page.locator(
        ".lm-Menu-itemLabel", has_text=re.compile("^Close All Tabs$"))).click()
    page.locator(".jp-NotebookPanel").first.wait_for(state="detached")
    return text


def test_validate_dialog_shows_the_report_card(tmp_path):
    """Before: nbgrader's dialog repeats each failing test's source and traceback, and says
    "Success!" for a companion with nothing done. Now: the summary first, then each failure's
    message and hint; for the companion, each exercise."""
    shown = {}
    for kit in ("before", "now"):
        root = course_mirror(tmp_path / kit / "course")
        if kit == "before":
            _kit_before(root)
        _student_workspace(root)
        home = tmp_path / kit / "home"
        _settings(home)
        with (jupyter_lab(root, "lab", home) as lab, log_on_failure(lab),
              chromium_page(tmp_path / kit / "profile") as page):
            shown[kit, "a1"] = _validate(page, lab, A1, f"validate-{kit}-01-a1")
            shown[kit, "week2"] = _validate(page, lab, f"companions/{WEEK2}",
                                            f"validate-{kit}-02-week2")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "validate-dialogs.txt").write_text("\n\n".join(
        f"===== {kit} / {name}: {len(text)} characters\n{text}"
        for (kit, name), text in shown.items()))

    before, now = shown["before", "a1"], shown["now", "a1"]
    assert before.startswith("The following cell failed:"), before[:200]
    assert before.count("The following cell failed:") == 7
    assert shown["before", "week2"].strip() == "Success! Your notebook passes all the tests."

    assert now.startswith(A1_SUMMARY), now[:300]
    for row in ("basic_sigmoid\t1 test passed\t1 point", "sigmoid\t2 of 2 tests failed\t3 points",
                "softmax\tnot attempted yet\t4 points"):
        assert row in now, (row, now)
    assert SIGN_HINT in now
    assert now.index("L2\tnot attempted yet") < now.index("values differ")
    for noise in ("The following cell failed", "Traceback", "check_close(", "hints={"):
        assert noise not in now, noise
    assert len(now) * 4 < len(before), (len(now), len(before))

    week2 = shown["now", "week2"]
    assert week2.startswith(WEEK2_SUMMARY), week2[:300]
    assert "Exercise 1 (backward pass)\tcorrect" in week2
    assert "Exercise 6 (standardise)\tnot attempted yet" in week2
