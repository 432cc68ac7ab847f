"""What a student reads after grading: the feedback pages of the grading pipeline.

A graded notebook's page is nbgrader's feedback (``GenerateFeedback``) with:

- :class:`FeedbackPage`, a preprocessor that runs last and gives the kit's template
  ``templates/nndl_feedback`` a summary per graded function (its name, the points scored and
  possible, links to its test cells), in notebook order, and the offline math renderer;
- formulas that render with no network: KaTeX, from Debian's package ``libjs-katex`` (MIT;
  ``./course grade`` installs it, as it does bubblewrap), is inlined in every page, fonts
  included, so a page opened from a file, or handed out alone by nbgrader's Release Feedback
  (which copies the ``.html`` files only), needs nothing else. Without it the pages show the
  formulas' TeX and say why. nbgrader's own template loads MathJax from a CDN and ignores
  ``HTMLExporter.mathjax_url`` (it calls ``mathjax()`` without the URL), so the kit's template
  replaces its head;
- long messages and tracebacks that wrap inside the page (CSS in the template);
- hidden test code removed and errors shortened by :mod:`dlgrader.safeguards`' preprocessors.

A submission that could not be graded (its notebook is not a readable notebook, its cells'
grading metadata is damaged, ...) gets a page per notebook that says in words why and what
to do (:func:`write_ungraded_pages`), never a traceback of the grader.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

__all__ = ["TEMPLATE", "TEMPLATES", "FeedbackExporter", "FeedbackPage", "Problem", "configure",
           "diagnose", "math_head", "summarize", "write_ungraded_pages"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "nndl_feedback"  # the nbconvert template folder in TEMPLATES
PAGE = "page.html.j2"  # its page: it extends the index.html.j2 of nbgrader's "feedback"
# Debian's libjs-katex (and its fonts-katex); NNDL_KATEX_DIR names another copy of KaTeX's dist/.
KATEX = Path(os.environ.get("NNDL_KATEX_DIR", "/usr/share/javascript/katex"))
KATEX_SCRIPTS = ("katex.min.js", "contrib/auto-render.js")
NO_KATEX = ("<!-- Formulas are shown as TeX: KaTeX is not installed on the grading machine "
            "(apt-get install libjs-katex) -->")
# Files of a submission that nbgrader's Release Feedback reads beside each feedback page.
RELEASE_FILES = ("timestamp.txt", "submission_secret.txt")


def configure(config: Any, course_root: Path) -> Any:
    """nbgrader's GenerateFeedback with the kit's preprocessors, exporter and template."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader import preprocessors as pp

    from . import safeguards

    config.GenerateFeedback.preprocessors = [
        pp.GetGrades, safeguards.HideHiddenTests, safeguards.ShortTracebacks,
        CSSHTMLHeaderPreprocessor, FeedbackPage]
    config.FeedbackPage.course_root = str(course_root)
    # nbgrader's API sets HTMLExporter.template_name = "feedback" (its own) before every
    # GenerateFeedback: the kit's exporter class has a config section of its own, which wins.
    config.GenerateFeedback.exporter_class = FeedbackExporter
    config.FeedbackExporter.template_name = TEMPLATE
    config.FeedbackExporter.template_file = PAGE
    # the kit's page extends nbgrader's "feedback" template, found in nbgrader's folder
    config.FeedbackExporter.extra_template_basedirs = [str(TEMPLATES), _nbgrader_templates()]
    return config


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter under a name of its own, so that its configuration (the
    kit's template) is not the one nbgrader's API gives every HTMLExporter."""


def _nbgrader_templates() -> str:
    import nbgrader

    return str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
               / "templates")


# ----------------------------------------------------------------------------- graded pages


def _points(value: float) -> str:
    """Points as people write them: 2, 0.5, 1.25."""
    return f"{round(float(value), 2):g}"


def _status(score: float, points: float) -> str:
    if points and score >= points:
        return "full"
    return "partial" if score > 0 else "none"


def summarize(nb: Any, notebook: str, groups: dict[tuple[str, str], str]) -> list[dict]:
    """One row per graded function of ``nb`` (after nbgrader's GetGrades), in notebook order:
    name, points scored and possible, and its graded cells (grade id, points, anchor).

    ``groups`` is :func:`dlgrader.report.function_groups`; a graded cell it does not know
    (no source notebook) is a row of its own, named by its grade id.
    """
    rows: dict[str, dict] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if not grade_id or not (meta.get("grade") or meta.get("task")):
            continue
        name = groups.get((notebook, grade_id), grade_id)
        row = rows.setdefault(name, {"function": name, "score": 0.0, "max_score": 0.0,
                                     "cells": []})
        score, points = float(meta.get("score") or 0.0), float(meta.get("points") or 0.0)
        row["score"] += score
        row["max_score"] += points
        row["cells"].append({"grade_id": grade_id, "score": _points(score),
                             "points": _points(points), "status": _status(score, points)})
    for row in rows.values():
        row["status"] = _status(row["score"], row["max_score"])
        row["score"], row["max_score"] = _points(row["score"]), _points(row["max_score"])
    return list(rows.values())


class FeedbackPage(NbGraderPreprocessor):
    """Give the kit's feedback template what it shows above the notebook: the score, a row
    per graded function and the links to its test cells; and the offline math renderer.

    Runs after nbgrader's GetGrades (which puts each cell's score in its metadata). Only
    function names, grade ids and the hints of the catalog's mistakes that the judge's
    messages show (:mod:`dlgrader.mistakes`) reach the summary: no test code.
    """

    course_root = Unicode("", help="the course folder: graded functions come from its "
                          "source notebooks (dlgrader.report.function_groups)").tag(config=True)

    def preprocess(self, nb, resources):
        from . import mistakes, report

        info = resources.get("nbgrader", {})
        groups = (report.function_groups(Path(self.course_root), info.get("assignment", ""))
                  if self.course_root else {})
        comments = [c.metadata.nbgrader["grade_id"] for c in nb.cells
                    if c.metadata.get("nbgrader", {}).get("comment")
                    and c.metadata.nbgrader.get("grade_id")]
        late = float(info.get("late_penalty") or 0.0)
        from . import late as late_work
        resources["nndl_feedback"] = {
            "notebook": info.get("notebook", ""),
            "score": _points(info.get("score") or 0.0),
            "max_score": _points(info.get("max_score") or 0.0),
            "late_penalty": _points(late) if late > 0 else "",
            "late_reason": late_work.feedback_reason(  # when late: time, due date, rule
                self.config, info.get("db_url", ""), self.course_root,
                info.get("assignment", ""), info.get("student", "")),
            "functions": summarize(nb, info.get("notebook", ""), groups),
            "mistakes": [m.record() for m in mistakes.detect(
                nb, info.get("notebook", ""), groups, info.get("assignment", ""))],
            "comments": comments,
            "math": math_head(),
        }
        return nb, resources


@functools.cache
def math_head() -> str:
    """KaTeX, its stylesheet with every font inlined, and the call that renders the page's
    formulas: the ``$...$``, ``$$...$$``, ``\\(...\\)`` and ``\\[...\\]`` of markdown cells
    (code and outputs are left as they are), as JupyterLab shows them. One string, cached."""
    if not all((KATEX / name).is_file() for name in ("katex.min.css", *KATEX_SCRIPTS)):
        return NO_KATEX
    css = (KATEX / "katex.min.css").read_text()

    def inline(match: re.Match) -> str:
        font = KATEX / "fonts" / f"{match.group(1)}.woff2"
        data = base64.b64encode(font.read_bytes()).decode("ascii")
        return f'src:url(data:font/woff2;base64,{data}) format("woff2")'

    # each @font-face lists woff2, woff and ttf files beside the CSS: keep the woff2, inline
    css, count = re.subn(r"src:url\(fonts/([\w-]+)\.woff2\) format\([\"']woff2[\"']\)[^;}]*",
                         inline, css)
    if count == 0 or "url(fonts/" in css:
        raise RuntimeError(f"unexpected @font-face rules in {KATEX / 'katex.min.css'}")
    scripts = [(KATEX / name).read_text() for name in KATEX_SCRIPTS]
    for script in scripts:
        if re.search(r"</script|<!--", script, re.IGNORECASE):
            raise RuntimeError("a KaTeX script cannot be inlined as it is")
    return "\n".join([
        "<!-- Formulas: KaTeX (MIT licence, https://katex.org), inlined: no network needed -->",
        f'<style type="text/css">\n{css}\n</style>',
        *(f'<script type="text/javascript">\n{script}\n</script>' for script in scripts),
        f'<script type="text/javascript">\n{RENDER_MATH}\n</script>',
    ])


RENDER_MATH = r"""
document.addEventListener("DOMContentLoaded", function () {
  if (typeof renderMathInElement !== "function") { return; }
  var environments = ["equation", "equation*", "align", "align*", "aligned", "gather",
                      "gather*", "multline", "multline*", "eqnarray", "eqnarray*"];
  var delimiters = [
    {left: "$$", right: "$$", display: true},
    {left: "\\[", right: "\\]", display: true}
  ].concat(environments.map(function (name) {
    return {left: "\\begin{" + name + "}", right: "\\end{" + name + "}", display: true};
  })).concat([
    {left: "$", right: "$", display: false},
    {left: "\\(", right: "\\)", display: false}
  ]);
  renderMathInElement(document.body, {
    delimiters: delimiters,
    ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"],
    throwOnError: false,
    strict: "ignore",
    trust: false
  });
  document.body.setAttribute("data-math", "rendered");
});
""".strip()


# ----------------------------------------------------------------------------- ungraded pages


@dataclass(frozen=True)
class Problem:
    """Why a notebook could not be graded, and what the student should do, in words."""

    reason: str
    advice: str


REOPEN = ("Open the notebook in JupyterLab. If it opens and shows your work, save it "
          "(File > Save Notebook) and submit it again. If it does not open, download the "
          "assignment again, copy your answers into the fresh notebook and submit that "
          "notebook.")
RECOPY = ("Download the assignment again and copy your answers into the answer cells (those "
          "that said YOUR CODE HERE) of the fresh notebook: copy the code inside the cells, "
          "not whole cells. Then submit that notebook.")
UNKNOWN = Problem(
    "The grader could not grade this notebook. The file itself is a readable notebook, so "
    "the problem may not show when you open it in JupyterLab; your instructor has the "
    "grader's record of what went wrong.",
    "If you changed the notebook in other ways than writing your answers (deleted, split, "
    "merged or converted cells, changed a cell's type, or copied cells from another "
    "notebook), download the assignment again, copy your answers into the fresh notebook "
    "and submit that notebook. Otherwise ask your instructor, quoting the reference at the "
    "end of this page.")


def _read_problem(name: str, data: bytes) -> Problem | None:
    """What makes the file ``name`` (its bytes ``data``) unreadable as a notebook, or None."""
    import nbformat

    if not data.strip():
        return Problem(f"The file {name} is empty: it was not saved completely, or an empty "
                       "file was submitted in place of your notebook.", REOPEN)
    if data.startswith(b"PK\x03\x04"):
        return Problem(f"The file {name} is a zip archive, not a notebook.",
                       "Unzip it and submit the notebook (.ipynb file) it holds. " + REOPEN)
    if data.startswith(b"%PDF"):
        return Problem(f"The file {name} is a PDF document, not a notebook.",
                       "Submit the notebook file itself (the .ipynb file you worked on in "
                       "JupyterLab), not an export of it. " + REOPEN)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Problem(f"The file {name} is not a text file, so it is not a notebook "
                       "(a notebook is text in the JSON format).", REOPEN)
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        if not text[error.pos:].strip():
            why = (f"its text stops in the middle, at {where}. This happens when a notebook "
                   "is not saved or uploaded completely.")
        else:
            why = (f"its text stops being valid JSON (the format notebooks are saved in) at "
                   f"{where}. This happens when a notebook is changed outside JupyterLab.")
        return Problem(f"The file {name} is not a valid notebook: {why}", REOPEN)
    if not isinstance(content, dict) or ("cells" not in content
                                         and "worksheets" not in content):
        return Problem(f"The file {name} holds JSON data, but not a Jupyter notebook (it has "
                       "no cells).", REOPEN)
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception:  # any error of nbformat: the notebook's structure is damaged
        version = content.get("nbformat")
        known = isinstance(version, int) and 1 <= version <= 4
        return Problem(
            f"The file {name} is a notebook whose structure is damaged"
            + ("" if known else f" or saved in a notebook format ({version!r}) the grader "
               "does not know") + ": the grader cannot read it.", REOPEN)
    return _metadata_problem(name, nb)


def _metadata_problem(name: str, nb: Any) -> Problem | None:
    """A Problem when nbgrader's metadata of some cells of ``nb`` is invalid (nbgrader
    refuses such a notebook), naming the cells by their position."""
    from nbgrader.nbgraderformat import MetadataValidator

    validator = MetadataValidator()
    bad = []
    for number, cell in enumerate(nb.cells, start=1):
        try:
            validator.validate_cell(cell)
        except Exception:  # any complaint of nbgrader's validator
            bad.append(number)
    if not bad:
        return None
    cells = (f"cell {bad[0]}" if len(bad) == 1
             else "cells " + ", ".join(map(str, bad[:-1])) + f" and {bad[-1]}")
    return Problem(
        f"In {name}, the grader's hidden settings of {cells} (counted from the top of the "
        "notebook) were changed or removed, so the grader cannot tell your answers from the "
        "tests. This happens when cells are copied from another notebook, or when the "
        "notebook is edited with a tool other than JupyterLab.", RECOPY)


def diagnose(folder: Path, released: list[str]) -> dict[str, Problem]:
    """Why each notebook of the submission ``folder`` could not be graded, by notebook name
    (without ``.ipynb``); ``released`` names the assignment's notebooks. Each notebook's own
    problem when it has one; the others, and every notebook when no file shows a problem,
    are explained in general terms."""
    if folder.is_symlink() or not folder.is_dir():
        return {name: Problem("Your submission is not a folder of files (it is a link, or "
                              "it is missing), so there was nothing to grade.",
                              "Submit the assignment's folder with your notebook in it.")
                for name in released}
    files = sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink())
    if not files:
        expected = ", ".join(f"{n}.ipynb" for n in released) or "a notebook"
        return {name: Problem(f"Your submission holds no notebook (.ipynb file): the grader "
                              f"expected {expected}.",
                              "Submit the notebook file itself (the .ipynb file you worked on "
                              "in JupyterLab), not a PDF, HTML export or zip of it.")
                for name in released}
    problems = {p.stem: _read_problem(p.name, p.read_bytes()) for p in files}
    broken = [f"{name}.ipynb" for name, problem in problems.items() if problem]
    explained = {}
    for name, problem in problems.items():
        if problem is None and broken:
            others = ", ".join(broken)
            problem = Problem(
                f"This notebook was not graded because the same submission holds a notebook "
                f"the grader could not read ({others}); a submission is graded as a whole.",
                f"Fix {others} as its own feedback page says, and submit again.")
        explained[name] = problem or UNKNOWN
    return explained


def write_ungraded_pages(course_root: Path, assignment: str, student: str) -> list[str]:
    """Write ``feedback/<student>/<assignment>/<notebook>.html`` for a submission that could
    not be graded: one page per notebook saying why, in words, and what to do. Replaces the
    folder's old pages; copies the files nbgrader's Release Feedback needs. Never raises:
    returns notes for the state record."""
    try:
        course_root = Path(course_root)
        folder = course_root / "submitted" / student / assignment
        released = sorted(p.stem for p in (course_root / "release" / assignment).glob("*.ipynb"))
        problems = diagnose(folder, released)
        out = course_root / "feedback" / student / assignment
        if out.is_dir() and not out.is_symlink():
            shutil.rmtree(out)  # the pages of an earlier submission
        elif out.exists() or out.is_symlink():
            out.unlink()
        out.mkdir(parents=True)
        for name in RELEASE_FILES:
            source = folder / name
            if not folder.is_symlink() and source.is_file() and not source.is_symlink():
                shutil.copyfile(source, out / name)
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        for notebook, problem in problems.items():
            (out / f"{notebook}.html").write_text(
                render_ungraded(notebook, assignment, student, problem, when), encoding="utf-8")
        names = ", ".join(f"{n}.html" for n in problems)
        return [f"not graded: the feedback page(s) {names} say why and what to do"]
    except Exception as exc:  # a page that cannot be written must not stop the run
        return [f"could not write the not-graded feedback page: {type(exc).__name__}: {exc}"]


def render_ungraded(notebook: str, assignment: str, student: str, problem: Problem,
                    when: str) -> str:
    """The page of a notebook that could not be graded (plain HTML, no script)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, keep_trailing_newline=True)
    return env.get_template("ungraded.html.j2").render(
        notebook=notebook, assignment=assignment, student=student, problem=problem,
        when=when)
