"""Every classic mistake of the catalog (dlgrader/catalog/) costs its function points, leaves
every other function alone, shows its hint in the feedback and is named in the state record;
every equivalent solution keeps full marks. Graded through the real pipeline (sandboxed, two
workers)."""

from __future__ import annotations

import functools
import html
import tempfile
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from mistakes import apply, batches, catalogs, load, source_notebook

from dlgrader import grading, pipeline, report

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ASSIGNMENTS = catalogs()


@functools.cache
def graded(assignment: str) -> dict:
    """Grade all mistake and equivalent batches of one assignment; remember who got what."""
    mistakes, equivalents = load(assignment)
    root = grading.make_scratch_course(Path(tempfile.mkdtemp(prefix="nndl-mistakes-")),
                                       [assignment])
    reference = nbformat.read(source_notebook(assignment), as_version=4)
    name = source_notebook(assignment).name
    where = {}
    for kind, mutations in (("m", mistakes), ("e", equivalents)):
        for i, batch in enumerate(batches(mutations)):
            student = f"{kind}{i:03d}"
            folder = root / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(apply(reference, batch), folder / name)
            for mutation in batch:
                where[mutation.name] = (student, batch)
    states = pipeline.grade(root, [assignment], options=pipeline.Options(jobs=2),
                            progress=False)
    groups = report.function_groups(root, assignment)
    return {"root": root, "where": where, "groups": groups,
            "states": {s["student"]: s for s in states}, "notebook": name,
            "mistakes": mistakes, "equivalents": equivalents}


def by_function(result: dict, student: str, assignment: str) -> dict[str, tuple[float, float]]:
    totals: dict[str, list[float]] = {}
    for cell in grading.scores(result["root"], assignment, student):
        function = result["groups"].get((cell.notebook, cell.grade_id), cell.grade_id)
        got = totals.setdefault(function, [0.0, 0.0])
        got[0] += cell.score
        got[1] += cell.max_score
    return {f: (s, m) for f, (s, m) in totals.items()}


def error_messages(result: dict, student: str, assignment: str) -> str:
    """What the student's feedback shows of each failing test cell: "Name: message"."""
    path = result["root"] / "autograded" / student / assignment / result["notebook"]
    nb = nbformat.read(path, as_version=4)
    return "\n".join(f"{o.ename}: {o.evalue}" for c in nb.cells if c.cell_type == "code"
                     and c.metadata.get("nbgrader", {}).get("grade")
                     for o in c.outputs if o.output_type == "error")


def feedback(result: dict, student: str, assignment: str) -> str:
    path = (result["root"] / "feedback" / student / assignment /
            result["notebook"].replace(".ipynb", ".html"))
    return html.unescape(path.read_text())


def cases(kind: str) -> list:
    out = []
    for assignment in ASSIGNMENTS:
        mistakes, equivalents = load(assignment)
        for m in mistakes if kind == "mistakes" else equivalents:
            out.append(pytest.param(assignment, m.name, id=f"{assignment}-{m.name}"))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "name"), cases("mistakes"))
def test_mistake_is_caught_with_its_hint(assignment, name):
    """The mistaken function loses points; every function without a mistake in the batch keeps
    all of its points (each function is graded on its own, its callers included); the
    student's feedback contains the hint."""
    result = graded(assignment)
    student, batch = result["where"][name]
    mistake = next(m for m in batch if m.name == name)
    assert result["states"][student]["status"] == "graded", result["states"][student]
    scores = by_function(result, student, assignment)
    score, best = scores[mistake.function]
    assert score < best, f"{name} survived: {mistake.function} kept {score}/{best}"
    touched = {m.function for m in batch}
    for function, (got, most) in scores.items():
        if function not in touched:
            assert got == most, f"{name}: {function}, without a mistake, lost points"
    messages = error_messages(result, student, assignment)
    assert mistake.hint in messages, f"{name}: no failing test says {mistake.hint!r}"
    # named by its hint, or by a longer hint of its function that the same message shows
    recorded = {(m["function"], m["hint"]) for m in result["states"][student]["mistakes"]}
    assert any(f == mistake.function and mistake.hint in h for f, h in recorded), \
        f"{name}: not named in {recorded}"
    assert messages.splitlines()[0] in feedback(result, student, assignment)


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "name"), cases("equivalents"))
def test_equivalent_solution_keeps_full_marks(assignment, name):
    """A correct solution written differently scores exactly the reference's full marks."""
    result = graded(assignment)
    student, _ = result["where"][name]
    scores = by_function(result, student, assignment)
    lost = {f: s for f, s in scores.items() if s[0] != s[1]}
    assert not lost, f"{name}: an equivalent solution lost points {lost}"


@pytest.mark.slow
def test_catalog_size_and_kill_table():
    """At least 120 mistakes and 10 equivalents, three or more per graded function; writes
    the table (function, mistakes, caught) and the kill rate to test-artifacts/."""
    rows, total, caught = [], 0, 0
    for assignment in ASSIGNMENTS:
        result = graded(assignment)
        count = Counter(m.function for m in result["mistakes"])
        functions = {f for f in result["groups"].values()}
        assert not functions - set(count), f"{assignment}: functions without mistakes"
        assert min(count.values()) >= 3, f"{assignment}: fewer than 3 mistakes for a function"
        for function in sorted(count):
            killed = 0
            for m in result["mistakes"]:
                if m.function != function:
                    continue
                student, _ = result["where"][m.name]
                got, most = by_function(result, student, assignment)[function]
                killed += got < most
            rows.append(f"| {assignment} | {function} | {count[function]} | {killed} |")
            total += count[function]
            caught += killed
    equivalents = sum(len(load(a)[1]) for a in ASSIGNMENTS)
    table = ["| assignment | function | mistakes | caught |", "| --- | --- | --- | --- |",
             *rows, "", f"kill rate: {caught}/{total} = {100 * caught / max(total, 1):.1f} %;"
             f" equivalent solutions: {equivalents}"]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "mistakes.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    assert total >= 120 and equivalents >= 10
    assert caught == total
