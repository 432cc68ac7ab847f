"""The class's mistakes by name: a class built from the mistake catalog is graded through the
real pipeline; each student's state record, the export, the report and the feedback name
exactly the mistakes put in, and the report counts them right."""

from __future__ import annotations

import csv
import html
import json
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from mistakes import apply, load, source_notebook

from dlgrader import class_mistakes, grading, mistakes, pipeline, report

A1 = "01_numpy_basics"
#: student -> the catalog mistakes in their notebook (none: the reference solution)
CLASS = {
    "ann": ["sigmoid__exponent_sign", "L1__no_abs"],
    "bob": ["sigmoid__exponent_sign"],
    "cat": ["sigmoid__missing_brackets", "normalize_rows__column_norms"],
    "dan": ["L1__abs_of_sum"],  # the same hint as L1__no_abs: one mistake, id L1__no_abs
    "eve": [],
    "fay": ["softmax__normalises_columns", "sigmoid__exponent_sign"],
}
#: what the class made, by the ids the grader gives (function, id)
MADE = {
    "ann": {("sigmoid", "sigmoid__exponent_sign"), ("L1", "L1__no_abs")},
    "bob": {("sigmoid", "sigmoid__exponent_sign")},
    "cat": {("sigmoid", "sigmoid__missing_brackets"),
            ("normalize_rows", "normalize_rows__column_norms")},
    "dan": {("L1", "L1__no_abs")},
    "eve": set(),
    "fay": {("softmax", "softmax__normalises_columns"), ("sigmoid", "sigmoid__exponent_sign")},
}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory) -> Path:
    root = grading.make_scratch_course(tmp_path_factory.mktemp("class"), [A1])
    catalog, _ = load(A1)
    by_name = {m.name: m for m in catalog}
    reference = nbformat.read(source_notebook(A1), as_version=4)
    for student, names in CLASS.items():
        folder = root / "submitted" / student / A1
        folder.mkdir(parents=True)
        nbformat.write(apply(reference, [by_name[n] for n in names]),
                       folder / source_notebook(A1).name)
    states = pipeline.grade(root, [A1], options=pipeline.Options(jobs=2), progress=False)
    assert sorted(s["status"] for s in states) == ["graded"] * len(CLASS), states
    return root


@pytest.mark.slow
def test_each_submission_records_exactly_its_mistakes(graded_class):
    for student, made in MADE.items():
        state = json.loads(pipeline.state_path(graded_class, A1, student).read_text())
        assert {(m["function"], m["id"]) for m in state["mistakes"]} == made, student


@pytest.mark.slow
def test_export_and_report_count_the_mistakes_put_in(graded_class, tmp_path):
    out = tmp_path / "report"
    report.report(graded_class, out)
    rows = {r["student"]: r for r in json.loads((out / "grades.json").read_text())["rows"]}
    assert {s: {(m["function"], m["id"]) for m in r["mistakes"]} for s, r in rows.items()} == MADE
    with (out / "grades.csv").open() as fh:
        column = {r["student"]: set(filter(None, r["mistakes"].split(";")))
                  for r in csv.DictReader(fh)}
    assert column == {s: {i for _, i in made} for s, made in MADE.items()}

    counts = Counter(pair for made in MADE.values() for pair in made)
    text = (out / "report.md").read_text()
    section = text.split("### Where points were lost", 1)[1]
    n = len(CLASS)
    hints = {m.id: m.hint for m in mistakes.known(A1)}
    for (_, mistake_id), count in counts.items():
        line = f"  - {100 * count / n:.0f} % ({count}/{n}): {hints[mistake_id]} (`{mistake_id}`)"
        assert line in section, line
    # per function, the most frequent mistake first: sigmoid's sign (3) before brackets (1)
    assert section.index("sigmoid__exponent_sign") < section.index("sigmoid__missing_brackets")
    assert f"- **sigmoid**: 4 of {n} lost points" in section
    assert f"- **L1**: 2 of {n} lost points" in section
    assert "no mistake of the catalog recognised" not in section
    assert (out / f"{A1}_mistakes.png").stat().st_size > 10_000

    table = class_mistakes.losses([r for r in rows.values() if r["status"] == "graded"],
                                  report.function_groups(graded_class, A1))
    assert {e.function for e in table} == {f for made in MADE.values() for f, _ in made}
    assert all(e.unexplained == 0 for e in table)


@pytest.mark.slow
def test_the_feedback_lists_the_students_own_mistakes(graded_class):
    def page(student: str) -> str:
        path = graded_class / "feedback" / student / A1 / "numpy_basics.html"
        return html.unescape(path.read_text())

    hints = {m.id: m.hint for m in mistakes.known(A1)}
    ann = page("ann").split('id="summary"', 1)[1].split('class="panel-body"', 1)[0]
    assert "Classic mistakes the tests recognised" in ann
    assert hints["sigmoid__exponent_sign"] in ann and hints["L1__no_abs"] in ann
    assert hints["sigmoid__missing_brackets"] not in ann
    assert "Classic mistakes the tests recognised" not in page("eve")


def _cell(grade_id: str, *errors: str) -> dict:
    outputs = [{"output_type": "error", "ename": "CheckError", "evalue": e, "traceback": []}
               for e in errors]
    return {"cell_type": "code", "source": "", "outputs": outputs,
            "metadata": {"nbgrader": {"grade": True, "grade_id": grade_id}}}


def test_detect_counts_a_hint_only_under_its_own_function(tmp_path):
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    entries = [
        {"name": "f__sign", "function": "f", "hint": "check the sign"},
        {"name": "f__sign_again", "function": "f", "hint": "check the sign"},
        {"name": "f__sign_of_b", "function": "f", "hint": "check the sign of b"},
        {"name": "g__sign", "function": "g", "hint": "check the sign"},
        {"name": "g__mutates", "function": "g", "hint": "x was modified"},
    ]
    (catalog / "A.json").write_text(json.dumps({"assignment": "A", "mistakes": entries}))
    groups = {("nb", "f_test"): "f", ("nb", "g_test"): "g", ("nb", "g_hidden"): "g"}
    nb = {"cells": [
        _cell("f_test", "b: values differ\n  hint: check the sign of b"),
        _cell("g_test", "x was modified by your function"),
        _cell("g_hidden"),  # passed: no error output
        {"cell_type": "markdown", "source": "check the sign", "metadata": {}},
    ]}
    found = mistakes.detect(nb, "nb", groups, "A", catalog)
    # the longer hint of f counts, not its prefix; g's sign hint is not in g's cells
    assert [m.id for m in found] == ["f__sign_of_b", "g__mutates"]
    assert mistakes.known("A", catalog)[0].names == ("f__sign", "f__sign_again")
    assert mistakes.detect(nb, "nb", groups, "no_catalog", catalog) == []
