"""The feedback pages students read (dlgrader.feedback), on one small scratch course graded
once: a summary per graded function in notebook order, formulas rendered with no network,
long messages wrapped, no hidden test, and a page in words for a notebook that could not be
graded."""

from __future__ import annotations

import html
import json
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dlgrader import feedback, grading, pipeline, report

A = "98_feedback"
NB = "feedback_demo"
ARTIFACTS = grading.REPO / "test-artifacts" / "feedback"
SECRET = "SECRET_HIDDEN_MARKER"  # only in hidden tests: never in a page
LONG_TOKEN = "/".join(["a_very_long_path_segment"] * 30)  # one unbreakable 749-character word


def _meta(grade_id: str, *, solution=False, grade=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution,
            "schema_version": 3, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _solution(name: str, body: str) -> nbformat.NotebookNode:
    return new_code_cell(f'def {name}(x):\n    """{name} of x."""\n    ### BEGIN SOLUTION\n'
                         f"    {body}\n    ### END SOLUTION\n",
                         metadata=_meta(f"{name}_solution", solution=True))


def _test(grade_id: str, points: int, public: str, hidden: str = "") -> nbformat.NotebookNode:
    source = f'"""{grade_id} checks it."""\n{public}\n'
    if hidden:
        source += f"### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS\n"
    return new_code_cell(source, metadata=_meta(grade_id, grade=True, points=points))


def source_notebook() -> nbformat.NotebookNode:
    """Three graded functions whose tests are not in alphabetical order, one whose name is a
    prefix of another's (add, add_one), formulas, and a check with a very long message."""
    long_message = f'"scale(2) should be 4; see {LONG_TOKEN}"'
    cells = [
        new_markdown_cell("# Feedback demo\nThe sigmoid $\\sigma(z) = \\frac{1}{1 + e^{-z}}$ "
                          "maps $z < 0$ below $\\tfrac12$, and\n$$W = \\begin{bmatrix} w_{11} & "
                          "w_{12} \\\\ w_{21} & w_{22} \\end{bmatrix}.$$",
                          metadata=_meta("intro")),
        _solution("scale", "return 2 * x"),
        _test("scale_public", 1, f"assert scale(2) == 4, {long_message}"),
        _test("scale_hidden", 2, "assert scale(0) == 0",
              f"assert scale(-7.25) == -14.5  # {SECRET}"),
        _solution("add_one", "return x + 1"),
        _test("add_one_public", 1, "assert add_one(1) == 2"),
        _test("add_one_hidden", 2, "assert add_one(0) == 1",
              f"assert add_one(-7.25) == -6.25  # {SECRET}"),
        _solution("add", "return x + x"),
        _test("add_small", 1, "assert add(1) == 2"),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def student_notebook(root, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The released notebook with the student's code in its solution cells."""
    nb = nbformat.read(root / "release" / A / f"{NB}.ipynb", as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        name = grade_id.removesuffix("_solution")
        if grade_id.endswith("_solution"):
            cell.source = f'def {name}(x):\n    """{name} of x."""\n    {answers[name]}\n'
    return nb


def _submit(root, tmp, student: str, nb=None, text: str | None = None) -> None:
    folder = tmp / student
    folder.mkdir()
    if nb is not None:
        nbformat.write(nb, folder / f"{NB}.ipynb")
    else:
        (folder / f"{NB}.ipynb").write_text(text)
    (folder / "timestamp.txt").write_text("2026-01-05 10:00:00.000000 UTC")
    grading.submit(root, A, student, folder)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """One scratch course, graded once: "wrong" (scale multiplies by 3), "broken" (its
    notebook is not valid JSON) and "refused" (a test cell's grading metadata damaged)."""
    tmp = tmp_path_factory.mktemp("feedback")
    source = tmp / "source"
    (source / A).mkdir(parents=True)
    nbformat.write(source_notebook(), source / A / f"{NB}.ipynb")
    root = grading.make_scratch_course(tmp / "course", [A], source)
    answers = {"scale": "return 3 * x", "add_one": "return x + 1", "add": "return x + x"}
    subs = tmp / "submissions"
    subs.mkdir()
    _submit(root, subs, "wrong", student_notebook(root, answers))
    whole = nbformat.writes(student_notebook(root, answers))
    _submit(root, subs, "broken", text=whole[: len(whole) // 2])  # saved halfway
    refused = student_notebook(root, answers)
    refused.cells[3].metadata.nbgrader["schema_version"] = 1  # scale_hidden
    _submit(root, subs, "refused", refused)
    states = pipeline.grade(root, [A], options=pipeline.Options(jobs=2), progress=False)
    return root, {s["student"]: s for s in states}


def page(root, student: str) -> str:
    return (root / "feedback" / student / A / f"{NB}.html").read_text()


def summary_rows(text: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(function, points, [(grade id, its points)]) of each row of the summary table."""
    summary = text.split('id="summary"', 1)[1].split('<div class="panel-body">', 1)[0]
    rows = []
    for row in re.findall(r"<tr class=\"\w+\">(.*?)</tr>", summary, re.DOTALL):
        name = re.search(r"<code>(.*?)</code>", row).group(1)
        points = re.search(r'<td class="points">(.*?)</td>', row).group(1)
        cells = re.findall(r'<a href="#([\w-]+)">[\w-]+</a> \((.*?)\)', row)
        rows.append((html.unescape(name), points, cells))
    return rows


def test_summary_names_each_function_with_its_score_in_notebook_order(course):
    """A row per graded function (report.function_groups' grouping), in the order of the
    notebook, with points scored / possible and links to its test cells."""
    root, states = course
    assert states["wrong"]["status"] == "graded"
    text = page(root, "wrong")
    assert summary_rows(text) == [
        ("scale", "0 / 3", [("scale_public", "0 / 1"), ("scale_hidden", "0 / 2")]),
        ("add_one", "3 / 3", [("add_one_public", "1 / 1"), ("add_one_hidden", "2 / 2")]),
        ("add", "1 / 1", [("add_small", "1 / 1")]),
    ]
    groups = report.function_groups(root, A)
    for function, _, cells in summary_rows(text):
        for grade_id, _ in cells:
            assert groups[(NB, grade_id)] == function
            assert f'<a name="{grade_id}"></a>' in text  # the link's target
    assert f"{NB}: 4 / 7 points" in text
    assert "Test cell</a> (Score" not in text  # nbgrader's unnamed list is gone


def test_no_hidden_test_in_any_page(course):
    """Hidden test code reaches no page: not the notebook, not the summary."""
    root, _ = course
    pages = sorted((root / "feedback").rglob("*.html"))
    assert len(pages) == 3
    for path in pages:
        text = path.read_text()
        assert SECRET not in text and "-7.25" not in text, path
        assert "BEGIN HIDDEN TESTS" not in text, path


def _scripts(text: str) -> list[tuple[str, str]]:
    """(attributes, content) of every <script> element."""
    return re.findall(r"<script\b([^>]*)>(.*?)</script>", text, re.DOTALL | re.IGNORECASE)


def test_no_script_or_stylesheet_from_the_network(course):
    """Every script is inline: none has a src, none is fetched from http(s); no stylesheet is
    linked from the network; the math renderer is the kit's KaTeX, inlined from files that
    exist, fonts included."""
    root, _ = course
    text = page(root, "wrong")
    scripts = _scripts(text)
    assert scripts and all("src" not in attributes.lower() for attributes, _ in scripts)
    assert not re.search(r"<script[^>]+src=[\"']?https?:", text, re.IGNORECASE)
    assert not re.search(r"<link[^>]+href=[\"']?https?:", text, re.IGNORECASE)
    assert "cdnjs" not in text and "mathjax" not in text.lower()
    contents = [content.strip() for _, content in scripts]
    for name in feedback.KATEX_SCRIPTS:
        asset = feedback.KATEX / name
        assert asset.is_file()
        assert asset.read_text().strip() in contents
    assert "renderMathInElement(document.body" in text
    fonts = sorted(feedback.KATEX.glob("fonts/*.woff2"))
    assert len(fonts) >= 19
    assert text.count("url(data:font/woff2;base64,") == len(fonts)
    assert "url(fonts/" not in text


def test_outputs_wrap_inside_the_page(course):
    """The page's CSS wraps long output lines (pre-wrap) and breaks long words; the long
    check message is in an output <pre>."""
    root, _ = course
    text = page(root, "wrong")
    css = "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", text, re.DOTALL))
    rule = re.search(r"div\.output_subarea pre[^{]*\{([^}]*)\}", css)
    assert rule, "no CSS rule for output text"
    assert "white-space: pre-wrap" in rule.group(1)
    assert "overflow-wrap: anywhere" in rule.group(1)
    assert LONG_TOKEN in text


def test_unreadable_notebook_gets_a_page_in_words(course):
    """An invalid notebook gets feedback/<student>/<assignment>/<notebook>.html saying why and
    what to do, with no traceback or message of the grader; Release Feedback's files come
    along."""
    root, states = course
    assert states["broken"]["status"] == "error"
    text = page(root, "broken")
    words = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))
    assert f"{NB}: not graded" in words
    assert f"The file {NB}.ipynb is not a valid notebook: its text stops in the middle" in words
    assert "Open the notebook in JupyterLab" in words
    assert "download the assignment again, copy your answers into the fresh notebook" in words
    for leak in ("Traceback", "Error", "ValueError", "nbformat", str(root), "File \""):
        assert leak not in text, leak
    assert "<script" not in text
    assert (root / "feedback" / "broken" / A / "timestamp.txt").is_file()
    assert any("say why" in note for note in states["broken"]["notes"])


def test_refused_notebook_names_the_damaged_cell(course):
    """A notebook nbgrader refuses (a test cell's grading metadata from an old version) gets a
    page that names the cell and says to copy the answers into a fresh notebook."""
    root, states = course
    assert states["refused"]["status"] == "error"
    words = html.unescape(re.sub(r"\s+", " ", page(root, "refused")))
    assert "hidden settings of cell 4" in words
    assert "copy the code inside the cells, not whole cells" in words
    assert "Traceback" not in words and "SchemaTooOld" not in words


def test_diagnose_explains_each_kind_of_unreadable_file(tmp_path):
    """Empty file, zip, binary, JSON that is no notebook, an unknown format, a notebook with
    another's problem, and a folder without a notebook: each explained in words."""
    cases = {
        "empty": (b"", "is empty"),
        "zipped": (b"PK\x03\x04rest", "is a zip archive"),
        "binary": (b"\xff\xfe\x00junk", "is not a text file"),
        "listed": (b"[1, 2]", "holds JSON data, but not a Jupyter notebook"),
        "future": (json.dumps({"cells": [], "metadata": {}, "nbformat": 99,
                               "nbformat_minor": 0}).encode(), "notebook format (99)"),
        "edited": (b'{"cells": [}', "stops being valid JSON"),
    }
    for name, (data, reason) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "nb.ipynb").write_bytes(data)
        problems = feedback.diagnose(folder, ["nb"])
        assert list(problems) == ["nb"] and reason in problems["nb"].reason, name
    two = tmp_path / "two"
    two.mkdir()
    (two / "a.ipynb").write_bytes(b"")
    nbformat.write(new_notebook(), two / "b.ipynb")
    problems = feedback.diagnose(two, ["a", "b"])
    assert "is empty" in problems["a"].reason
    assert "a.ipynb" in problems["b"].reason and "not graded because" in problems["b"].reason
    none = tmp_path / "none"
    none.mkdir()
    (none / "answers.pdf").write_bytes(b"%PDF")
    assert "holds no notebook" in feedback.diagnose(none, ["nb"])["nb"].reason


def test_ungraded_pages_replace_old_feedback(tmp_path):
    """A resubmission that cannot be graded replaces the earlier submission's pages."""
    root = tmp_path / "course"
    (root / "release" / A).mkdir(parents=True)
    nbformat.write(new_notebook(), root / "release" / A / f"{NB}.ipynb")
    submitted = root / "submitted" / "ann" / A
    submitted.mkdir(parents=True)
    (submitted / f"{NB}.ipynb").write_text("{")
    (submitted / "submission_secret.txt").write_text("s3cret")
    old = root / "feedback" / "ann" / A
    old.mkdir(parents=True)
    (old / "old.html").write_text("old feedback")
    notes = feedback.write_ungraded_pages(root, A, "ann")
    assert notes == [f"not graded: the feedback page(s) {NB}.html say why and what to do"]
    assert sorted(p.name for p in old.iterdir()) == [f"{NB}.html", "submission_secret.txt"]


def test_summarize_groups_partial_scores_and_unknown_cells():
    """Cells of one function add up (a partial score shows as such); a graded cell that
    function_groups does not know is a row of its own, named by its grade id."""
    def graded(grade_id, score, points):
        return new_code_cell("", metadata={"nbgrader": {
            "grade": True, "solution": False, "grade_id": grade_id, "score": score,
            "points": points}})

    nb = new_notebook(cells=[graded("f_one", 1.0, 1.0), graded("orphan", 0.25, 1.0),
                             graded("f_two", 0.5, 2.0)])
    rows = feedback.summarize(nb, "n", {("n", "f_one"): "f", ("n", "f_two"): "f"})
    assert [(r["function"], r["score"], r["max_score"], r["status"]) for r in rows] == [
        ("f", "1.5", "3", "partial"), ("orphan", "0.25", "1", "partial")]
    assert [c["status"] for c in rows[0]["cells"]] == ["full", "partial"]


# ----------------------------------------------------------------------------- in chromium


def _open_offline(page_, path):
    """Open ``path`` from a file:// URL with every network request refused; return the
    requests the page tried."""
    tried = []

    def refuse(route):
        tried.append(route.request.url)
        route.abort()

    page_.route(re.compile(r"^(https?|wss?|ftp)://"), refuse)
    page_.goto(path.as_uri())
    page_.wait_for_selector("body[data-math=rendered]", state="attached", timeout=15_000)
    return tried


@pytest.mark.browser
def test_page_renders_offline_in_chromium(course, tmp_path):
    """From a file:// URL with no network: the formulas are typeset by KaTeX, no request
    leaves the page, and the long message wraps (at 700 px the page is no wider than the
    window). Screenshots in test-artifacts/feedback/."""
    from browser_helpers import chromium_page, require_chromium

    require_chromium()
    root, _ = course
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(tmp_path / "profile") as browser:
        browser.set_viewport_size({"width": 1100, "height": 1100})
        tried = _open_offline(browser, root / "feedback" / "wrong" / A / f"{NB}.html")
        assert tried == []
        assert browser.locator(".katex").count() == 4
        assert browser.locator(".katex-error").count() == 0
        assert browser.locator(".katex-display").count() == 1
        browser.screenshot(path=str(ARTIFACTS / "graded.png"), full_page=True)
        browser.set_viewport_size({"width": 700, "height": 1100})
        width = browser.evaluate("[document.documentElement.scrollWidth, "
                                 "document.documentElement.clientWidth]")
        assert width[0] <= width[1]
        box = browser.locator("div.output_subarea pre", has_text="should be 4").bounding_box()
        assert box["width"] <= 700 and box["height"] > 60  # wrapped on several lines
        browser.locator("a[name=scale_public]").scroll_into_view_if_needed()
        browser.screenshot(path=str(ARTIFACTS / "graded-700px.png"))
        browser.goto((root / "feedback" / "broken" / A / f"{NB}.html").as_uri())
        browser.screenshot(path=str(ARTIFACTS / "not-graded.png"), full_page=True)


@pytest.mark.browser
def test_every_formula_of_the_course_renders(tmp_path):
    """Every markdown cell of every source notebook, converted as nbconvert converts it for
    a feedback page: KaTeX typesets all its formulas without an error."""
    from browser_helpers import chromium_page, require_chromium
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    require_chromium()
    cells = [cell.source for path in sorted((grading.REPO / "source").glob("*/*.ipynb"))
             for cell in nbformat.read(path, as_version=4).cells
             if cell.cell_type == "markdown"]
    body = "\n".join(f'<div class="rendered_html">{markdown2html_mistune(s)}</div>'
                     for s in cells)
    path = tmp_path / "all-formulas.html"
    path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'>"
                    f"{feedback.math_head()}</head><body>{body}</body></html>")
    with chromium_page(tmp_path / "profile") as browser:
        assert _open_offline(browser, path) == []
        errors = browser.locator(".katex-error").all_text_contents()
        assert errors == []
        assert browser.locator(".katex").count() > 300



def test_without_katex_the_page_says_why(monkeypatch, tmp_path):
    """A grading machine without KaTeX still writes pages: formulas stay TeX, and the page's
    source says what to install."""
    monkeypatch.setattr(feedback, "KATEX", tmp_path / "no-katex")
    feedback.math_head.cache_clear()
    try:
        assert feedback.math_head() == feedback.NO_KATEX
        assert "apt-get install libjs-katex" in feedback.NO_KATEX
    finally:
        feedback.math_head.cache_clear()
