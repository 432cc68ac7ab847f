"""./course check: a notebook's public tests as a report card (dlutils.notebook_check)."""

from __future__ import annotations

import nbformat
import pytest

from dlutils import notebook_check as nc


def _cell(source: str, grade_id: str, *, solution=False, grade=False, points=0, error=None):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": solution, "grade": grade,
                                 "locked": not solution, "points": points}
    if error:
        cell.outputs = [nbformat.v4.new_output("error", ename=error[0], evalue=error[1],
                                               traceback=list(error[2:]))]
    return cell


def _notebook(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_tests_are_grouped_by_function_and_classified(tmp_path):
    nb = _notebook(
        _cell("def sigmoid(z):\n    return z", "sigmoid_solution", solution=True),
        _cell("def sigmoid_derivative(z):\n    raise NotImplementedError()",
              "sigmoid_derivative_solution", solution=True),
        _cell("check", "sigmoid_test", grade=True, points=2,
              error=("CheckError", "sigmoid(z): values differ\n  hint: the exponent is -z",
                     "\x1b[0;31mTraceback in dlutils/checks.py\x1b[0m")),
        _cell("check", "sigmoid_large", grade=True, points=1),
        _cell("check", "sigmoid_derivative_test", grade=True, points=2,
              error=("NotImplementedError", "")),
        _cell("check", "free_standing_test", grade=True, points=1))
    report = nc.summarize(nb, tmp_path / "a.ipynb")
    by_name = {f.name: f for f in report.functions}
    assert list(by_name) == ["sigmoid", "sigmoid_derivative", "free_standing_test"]
    assert by_name["sigmoid"].status == nc.FAILED and by_name["sigmoid"].points == 3
    assert by_name["sigmoid"].tests == 2
    assert by_name["sigmoid_derivative"].status == nc.TODO
    assert by_name["free_standing_test"].status == nc.PASSED
    text = nc.text_report(report)
    assert "hint: the exponent is -z" in text and "Traceback" not in text
    assert "dlutils/checks.py" not in text and "\x1b" not in text
    assert "1 of 3 functions pass" in text and "1 failing" in text and "1 not attempted" in text
    markdown = nc.markdown_report(report)
    assert "| ❌ | `sigmoid` | failed | 3 |" in markdown
    assert "| ⬜ | `sigmoid_derivative` | not attempted yet | 2 |" in markdown


def test_an_error_in_the_students_code_names_its_line(tmp_path):
    frame = ("\x1b[0;32mCell In[3], line 2\x1b[0m, in \x1b[0;36msigmoid\x1b[0;34m(z)\x1b[0m\n"
             "      1 def sigmoid(z):\n\x1b[0;32m----> 2\x1b[0m     return 1 / (1 + np.exp(-zz))\n")
    nb = _notebook(_cell("def sigmoid(z):\n    return zz", "sigmoid_solution", solution=True),
                   _cell("check", "sigmoid_test", grade=True, points=1,
                         error=("NameError", "name 'zz' is not defined", frame)))
    message = nc.summarize(nb, tmp_path / "a.ipynb").functions[0].failures[0]
    assert message.startswith("NameError: name 'zz' is not defined (Cell In[3], line 2")
    assert "return 1 / (1 + np.exp(-zz))" in message


def test_a_crash_outside_the_tests_is_a_problem(tmp_path):
    nb = _notebook(_cell("x = load()", "data", error=("FileNotFoundError", "no data")),
                   _cell("check", "t", grade=True))
    report = nc.summarize(nb, tmp_path / "a.ipynb")
    assert not report.ok and report.problems == ["cell 1 raised FileNotFoundError: no data"]


@pytest.mark.slow
def test_runs_a_notebook_and_exits_by_its_result(tmp_path, capsys):
    good = _notebook(_cell("def twice(x):\n    return 2 * x", "twice_solution", solution=True),
                     _cell("assert twice(2) == 4, 'twice(2): expected 4'", "twice_test",
                           grade=True, points=1))
    bad = _notebook(_cell("def twice(x):\n    return x + 2", "twice_solution", solution=True),
                    _cell("assert twice(3) == 6, 'twice(3): expected 6, got ' + str(twice(3))",
                          "twice_test", grade=True, points=1))
    nbformat.write(good, tmp_path / "good.ipynb")
    nbformat.write(bad, tmp_path / "bad.ipynb")
    (tmp_path / "broken.ipynb").write_text("{not json")
    summary = tmp_path / "summary.md"
    assert nc.main([str(tmp_path / "good.ipynb"), "--summary", str(summary)]) == 0
    assert nc.main([str(tmp_path / "bad.ipynb"), "--summary", str(summary)]) == 1
    out = capsys.readouterr().out
    assert "twice(3): expected 6, got 5" in out and "1 test passed" in out
    assert summary.read_text().count("| `twice` |") == 2
    assert nc.main([str(tmp_path / "broken.ipynb")]) == 2
    assert "cannot read the notebook" in capsys.readouterr().out
    assert nc.main([str(tmp_path / "missing.ipynb")]) == 2
    assert nc.main(["--workspace", str(tmp_path / "empty")]) == 0
    assert "no notebooks to check" in capsys.readouterr().out
