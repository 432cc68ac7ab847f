"""A failed check in a real IPython kernel (what JupyterLab and nbgrader's Validate show): the
message first and the failing line of the cell, nothing of the kit; other errors keep IPython's
normal traceback."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

CELLS = {
    "imports": "import numpy as np\nimport dlutils.checks\nfrom dlutils.checks import *",
    "imported_again": "import dlutils.checks\nfrom dlutils.checks import check_close, CheckError",
    "check": 'x = np.array([1.0, 2.0, 3.0])\nresult = x + 0.5\n'
             'check_close(result, x, "shift(x)")\nprint("not reached")',
    "name_error": "def broken(x):\n    return x + undefined_name\n\nbroken(1.0)",
    "numpy_error": "def product(a):\n    return a @ np.ones((2, 2))\n\n"
                   "check_close(product(np.ones((3, 3))), np.ones((3, 2)), \"product\")",
    "helper": 'def check_twice(value):\n    check_close(value, 2.0, "twice(1)")',
    "helper_call": "check_twice(3.0)",
    "raised": 'raise CheckError("sigmoid(x) raised TypeError: use np.exp")',
    "value_error": 'raise ValueError("not a check")',
    "assertion": 'assert 1 == 2, "a plain assert"',
    "script": 'with open("a_script.py", "w") as f:\n'
              '    f.write("from dlutils.checks import check_close\\n"\n'
              '            "check_close(1.0, 2.0, \'in a script\')\\n")\n'
              '%run a_script.py',
    "no_colour": '%colors nocolor\ncheck_close(1.0, 2.0, "half")',
    # the short display must never fail the display: on any problem, IPython's usual traceback
    "display_broken": "def _broken(error):\n    raise RuntimeError('oops')\n\n"
                      "_kept = dlutils.failure_display.check_failure\n"
                      "dlutils.failure_display.check_failure = _broken\n"
                      "check_close(1.0, 2.0, \"half\")",
    "display_mended": "dlutils.failure_display.check_failure = _kept\n"
                      "check_close(1.0, 2.0, \"half\")",
}


@pytest.fixture(scope="module")
def outputs() -> dict[str, dict]:
    """Run CELLS in one fresh kernel; the error output of each cell (or None)."""
    from jupyter_client import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, metadata={"name": name})
                for name, source in CELLS.items()]
    folder = Path(tempfile.mkdtemp(prefix="nndl-display-"))
    manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(folder / "kernel"))
    try:
        NotebookClient(nb, km=manager, timeout=120, allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    found = {}
    for cell in nb.cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        found[cell.metadata["name"]] = {
            "error": errors[0] if errors else None,
            "text": "\n".join(ANSI.sub("", line) for line in errors[0].traceback)
            if errors else "",
            "raw": "\n".join(errors[0].traceback) if errors else "",
            "stdout": "".join(o.get("text", "") for o in cell.outputs
                              if o.output_type == "stream" and o.name == "stdout"),
            "stderr": "".join(o.get("text", "") for o in cell.outputs
                              if o.output_type == "stream" and o.name == "stderr"),
        }
    return found


def _no_kit_inside(text: str) -> None:
    for internal in ("dlutils/checks.py", "site-packages", "Traceback", "_fail", "----> "):
        assert internal not in text, (internal, text)


def test_a_failed_check_shows_its_message_then_the_failing_line(outputs):
    out = outputs["check"]
    error = out["error"]
    assert error is not None and out["stdout"] == "" and out["stderr"] == ""
    # nbgrader's Validate and ./course check read ename and evalue: unchanged.
    assert error.ename.endswith("CheckError")
    assert error.evalue.startswith("shift(x): values differ")
    assert "every value differs by the same amount (+0.5)" in error.evalue
    lines = out["text"].splitlines()
    assert out["text"].startswith("Test failed: " + error.evalue), out["text"]
    assert lines[-1] == 'in this cell, line 3: check_close(result, x, "shift(x)")'
    assert len(lines) <= 12, out["text"]
    _no_kit_inside(out["text"])


def test_importing_the_checks_twice_is_harmless(outputs):
    assert outputs["imports"]["error"] is None and outputs["imported_again"]["error"] is None
    assert outputs["imports"]["stderr"] == "" and outputs["imported_again"]["stderr"] == ""


def test_a_check_called_from_a_helper_of_another_cell_names_both_lines(outputs):
    out = outputs["helper_call"]
    lines = out["text"].splitlines()
    assert lines[0] == "Test failed: twice(1): values differ"
    assert lines[-2] == "in this cell, line 1: check_twice(3.0)"
    assert re.fullmatch(r'  which failed in Cell In\[\d+\], line 2: '
                        r'check_close\(value, 2\.0, "twice\(1\)"\)', lines[-1]), lines[-1]
    _no_kit_inside(out["text"])


def test_a_check_error_raised_by_the_test_itself(outputs):
    out = outputs["raised"]
    assert out["error"].ename == "CheckError"
    assert out["text"].splitlines() == [
        "Test failed: sigmoid(x) raised TypeError: use np.exp",
        'in this cell, line 1: raise CheckError("sigmoid(x) raised TypeError: use np.exp")']


def test_errors_in_the_students_code_keep_the_normal_traceback(outputs):
    out = outputs["name_error"]
    assert out["error"].ename == "NameError"
    assert "Traceback (most recent call last)" in out["text"]
    assert "----> 4 broken(1.0)" in out["text"] and "----> 2     return x + undefined_name" \
        in out["text"]
    assert "Test failed" not in out["text"]
    out = outputs["numpy_error"]
    assert out["error"].ename == "ValueError" and "matmul" in out["error"].evalue
    assert "Traceback (most recent call last)" in out["text"]
    assert "return a @ np.ones((2, 2))" in out["text"] and "Test failed" not in out["text"]


def test_a_check_in_a_script_names_the_scripts_line(outputs):
    out = outputs["script"]
    assert out["text"].startswith("Test failed: in a script: values differ")
    assert re.search(r"\nin /\S*a_script\.py, line 2: check_close\(1\.0, 2\.0, 'in a script'\)$",
                     out["text"]), out["text"]
    _no_kit_inside(out["text"])


def test_other_exceptions_are_untouched(outputs):
    for name, ename in (("value_error", "ValueError"), ("assertion", "AssertionError")):
        out = outputs[name]
        assert out["error"].ename == ename
        assert "Traceback (most recent call last)" in out["text"] and "Test failed" \
            not in out["text"]


def test_the_display_has_colour_unless_colours_are_off(outputs):
    assert outputs["check"]["raw"].startswith("\x1b[")
    out = outputs["no_colour"]
    assert out["raw"] == out["text"] and out["text"].startswith("Test failed: half: values differ")


def test_a_broken_display_falls_back_to_the_normal_traceback(outputs):
    out = outputs["display_broken"]
    assert out["error"].ename == "CheckError" and out["error"].evalue.startswith("half:")
    assert "Traceback (most recent call last)" in out["text"] and "half: values differ" \
        in out["text"]
    assert out["stdout"] == "" and out["stderr"] == ""
    assert outputs["display_mended"]["text"].startswith("Test failed: half: values differ")
