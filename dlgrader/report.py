"""Export the course's grades and summarise them in a report.

Every (student, assignment) pair known to the gradebook, to ``grading-state/<assignment>/`` or
present in ``submitted/``, and every student of the course roster (:mod:`dlgrader.roster`:
``roster.csv``, ``c.CourseDirectory.db_students``, the gradebook's students) for every assignment
of the export (one with a submission, a state file or an entry in the gradebook) gets one row
with a status:

* ``graded``: autograded, score from the gradebook (and, when there is one, a state file saying
  so);
* ``error``: the grading pipeline's state file says the grading failed (its message is kept);
* ``not graded``: submitted but never graded (or graded per the state file, but absent from
  the gradebook);
* ``missing``: a roster student with nothing for that assignment (no submission, no state).

Scores are reported for graded rows only; a missing row's score is empty, or 0 with
``missing_as_zero`` (``--missing-as-zero``). Exporting first adds the roster's students to the
gradebook, with their names and emails (:func:`dlgrader.roster.sync_gradebook`). CLI::

    python -m dlgrader.report export OUT [--course-root ROOT] [--roster CSV] [--missing-as-zero]
    python -m dlgrader.report report OUT [...]   # the export, PNGs and report.md
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from dlgrader import class_mistakes, function_scores, grading, late, lms_export, roster
from dlgrader.figures import DPI, STYLE
from dlgrader.figures import figure as _figure
from dlgrader.figures import fit_title as _fit_title
from dlgrader.figures import wrap_label as _wrap_label

__all__ = ["CSV_FIELDS", "STATUSES", "export", "function_groups", "histogram_figure", "main",
           "pass_rate_figure", "report"]

Pair = tuple[str, str]

CSV_FIELDS = ["student", "assignment", "score", "max_score", "status", "error", "kernel_died",
              "timed_out", "findings", "zeroed_cells", "mistakes",
              # late work (dlgrader.late): final_score = score - late_penalty
              "submitted_at", "time_source", "late_by_hours", "late_penalty", "final_score",
              "late_reason"]
#: The statuses of a row, in the order of the report's summary table.
STATUSES = ("graded", "error", "not graded", "missing")

# ----------------------------------------------------------------------------- gathering


def _db_url(course_root: Path) -> str | None:
    """The course's gradebook URL, or None for an SQLite gradebook that does not exist yet."""
    url = grading._api(course_root).coursedir.db_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    return url


def _gradebook(db_url: str | None) -> tuple[dict[Pair, dict], dict[str, float]]:
    """Graded submissions (score, max_score, cells) and each assignment's max score."""
    if db_url is None:
        return {}, {}
    from nbgrader.api import Gradebook

    graded: dict[Pair, dict] = {}
    maxima: dict[str, float] = {}
    with Gradebook(db_url) as gb:
        for assignment in gb.assignments:
            maxima[assignment.name] = float(assignment.max_score)
            for sub in assignment.submissions:
                cells = [{"notebook": nb.name, "grade_id": g.name, "score": float(g.score or 0),
                          "max_score": float(g.max_score),
                          "needs_manual_grade": bool(g.needs_manual_grade)}
                         for nb in sub.notebooks for g in nb.grades]
                graded[(sub.student_id, assignment.name)] = {
                    "score": float(sub.score), "max_score": float(sub.max_score),
                    "cells": sorted(cells, key=lambda c: (c["notebook"], c["grade_id"]))}
    return graded, maxima


def _states(course_root: Path) -> dict[Pair, dict]:
    """The grading pipeline's state files, by (student, assignment)."""
    states: dict[Pair, dict] = {}
    for path in sorted((course_root / "grading-state").glob("*/*.json")):
        pair = (path.stem, path.parent.name)
        try:
            states[pair] = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            states[pair] = {"status": "error", "error": f"unreadable state file {path}: {error}"}
    return states


def _submitted(course_root: Path) -> set[Pair]:
    """The (student, assignment) folders of ``submitted/``."""
    return {(p.parent.name, p.name) for p in (course_root / "submitted").glob("*/*")
            if p.is_dir() and not p.name.startswith(".") and not p.parent.name.startswith(".")}


def _status(state: dict | None, graded: dict | None) -> tuple[str, str | None]:
    """(status, error message) of one row."""
    if state is None:
        return ("graded", None) if graded is not None else ("not graded", None)
    status = state.get("status")
    if status == "error":
        return "error", state.get("error") or "grading failed (no message)"
    if status != "graded":
        return "error", f"unknown status {status!r} in the grading state file"
    if graded is None:
        return "not graded", "graded per grading-state, but missing from the gradebook"
    return "graded", None


def _row(pair: Pair, state: dict | None, graded: dict | None, maximum: float | None,
         submitted: bool) -> dict:
    """One export row (JSON form: with cells, findings and notes)."""
    status, error = _status(state, graded)
    state = state or {}
    ok = status == "graded"
    return {
        "student": pair[0], "assignment": pair[1],
        "score": graded["score"] if ok else None,
        "max_score": graded["max_score"] if graded else maximum,
        "status": status, "error": error,
        "kernel_died": bool(state.get("kernel_died", False)),
        "findings": len(state.get("findings") or []),
        "zeroed_cells": list(state.get("zeroed_cells") or []),
        "timed_out": sorted({t.get("function", "?") for t in state.get("timeouts") or []}),
        "submitted": submitted,
        "finding_details": list(state.get("findings") or []),
        "notes": list(state.get("notes") or []),
        "cells": graded["cells"] if ok else [],
        "mistakes": list(state.get("mistakes") or []) if ok else [],
        **late.export_fields(state, graded["score"] if ok else None),
    }


def collect_rows(course_root: Path, students: list[roster.Student] | None = None,
                 missing_as_zero: bool = False) -> list[dict]:
    """Every row of the export, sorted by assignment and student.

    ``students`` is the course roster (default: :func:`dlgrader.roster.course_roster`); they and
    the gradebook's students get a ``missing`` row (score None, or 0 with ``missing_as_zero``)
    for each assignment of the export they have nothing for. Each row names its student
    (``name``: "First Last" from the roster or the gradebook, else None).
    """
    course_root = Path(course_root)
    db_url = _db_url(course_root)
    graded, maxima = _gradebook(db_url)
    states = _states(course_root)
    submitted = _submitted(course_root)
    if students is None:
        students = roster.course_roster(course_root)
    everyone = {s.student_id: s for s in roster.merge(students, roster.gradebook_students(db_url))}
    known = set(graded) | set(states) | submitted
    assignments = {a for _, a in known} | set(maxima)
    pairs = known | {(student, a) for student in everyone for a in assignments}
    rows = []
    for pair in sorted(pairs, key=lambda p: (p[1], p[0])):
        row = _row(pair, states.get(pair), graded.get(pair), maxima.get(pair[1]),
                   pair in submitted)
        if pair not in known:
            row.update(status="missing", score=0.0 if missing_as_zero else None)
            row.update(late.export_fields(None, row["score"]))  # final_score as the score
        student = everyone.get(pair[0])
        row["name"] = student.name if student else None
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- export


def _write_csv(rows: list[dict], path: Path) -> None:
    """grades.csv: the CSV_FIELDS of each row (zeroed cells joined by ';'), then one column
    per graded function (:mod:`dlgrader.function_scores`)."""
    functions = function_scores.columns(rows, CSV_FIELDS)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*CSV_FIELDS, *functions.values()])
        writer.writeheader()
        for row in rows:
            flat = {key: row[key] for key in CSV_FIELDS}
            flat["zeroed_cells"] = ";".join(row["zeroed_cells"])
            flat["timed_out"] = ";".join(row["timed_out"])
            flat["mistakes"] = ";".join(m["id"] for m in row["mistakes"])
            flat["score"] = "" if row["score"] is None else row["score"]
            flat["max_score"] = "" if row["max_score"] is None else row["max_score"]
            flat["error"] = row["error"] or ""
            flat.update(function_scores.csv_cells(row, functions))
            writer.writerow(flat)


def export(course_root: Path, out_dir: Path, missing_as_zero: bool = False,
           roster_path: Path | None = None, lms: str | None = None) -> dict:
    """Write ``grades.csv`` and ``grades.json`` to ``out_dir``; return the JSON document.

    The course roster (``roster_path``, else the course's ``roster.csv`` when it exists, and
    ``db_students``) is added to the gradebook first (names for the formgrader); its students
    without work get ``missing`` rows, scored 0 with ``missing_as_zero`` (else empty).
    :class:`dlgrader.roster.RosterError` when the roster cannot be used.

    Each row gets its per-function scores (``functions``; a grades.csv column per function and
    ``functions_<assignment>.csv``: :mod:`dlgrader.function_scores`). With ``lms`` (canvas,
    moodle or brightspace) the file that LMS imports is written too (:mod:`dlgrader.lms_export`,
    named in the document's ``lms``); when students with grades lack their LMS identity in the
    roster, :class:`dlgrader.lms_export.LmsExportError` (a RosterError) and nothing is written.
    """
    out_dir = Path(out_dir)
    students = roster.course_roster(course_root, roster_path)
    roster.sync_gradebook(course_root, students)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = collect_rows(course_root, students, missing_as_zero)
    document = {"generated": datetime.now(UTC).isoformat(timespec="seconds"),
                "course_root": str(Path(course_root).resolve()),
                "missing_as_zero": missing_as_zero,
                "roster": [s.student_id for s in students], "rows": rows}
    function_scores.annotate(rows, lambda assignment: function_groups(course_root, assignment))
    lms_table = lms_export.build(lms, rows, students) if lms else None  # may refuse: first
    _write_csv(rows, out_dir / "grades.csv")
    function_scores.write_wide(rows, out_dir)
    if lms_table is not None:
        document["lms"] = {"format": lms, "file": str(lms_export.write(lms_table, out_dir)),
                           "left_out": lms_table.left_out}
    (out_dir / "grades.json").write_text(json.dumps(document, indent=2) + "\n")
    return document


# ----------------------------------------------------------------------------- functions


def _nbgrader_cells(course_root: Path, assignment: str) -> Iterable[tuple[str, dict]]:
    """(notebook name, nbgrader metadata) of every nbgrader cell of the source notebooks (else
    of the released ones, which keep the metadata), in notebook order."""
    for kind in ("source", "release"):
        folder = Path(course_root) / kind / assignment
        paths = [p for p in sorted(folder.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts]
        if paths:
            break
    for path in paths:
        for cell in json.loads(path.read_text()).get("cells", []):
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta and meta.get("grade_id"):
                yield path.stem, meta


def function_groups(course_root: Path, assignment: str) -> dict[tuple[str, str], str]:
    """Map each graded cell (notebook, grade_id) of the source to its function.

    The functions are the solution cells ``<function>_solution``; a graded cell belongs to the
    longest function name its grade_id starts with (else it is a group of its own). The map is in
    notebook order, so its functions come in the order of their first graded cell.
    """
    cells = list(_nbgrader_cells(course_root, assignment))
    functions: dict[str, list[str]] = {}
    for notebook, meta in cells:
        if meta.get("solution") and meta["grade_id"].endswith("_solution"):
            functions.setdefault(notebook, []).append(meta["grade_id"].removesuffix("_solution"))
    groups = {}
    for notebook, meta in cells:
        if meta.get("grade"):
            gid = meta["grade_id"]
            names = [f for f in functions.get(notebook, []) if gid.startswith(f)]
            groups[(notebook, gid)] = max(names, key=len) if names else gid
    return groups


def _groups_for(course_root: Path, assignment: str, rows: list[dict]
                ) -> dict[tuple[str, str], str]:
    """function_groups, or (without a source notebook) one group per graded cell seen."""
    groups = function_groups(course_root, assignment)
    if groups:
        return groups
    return {(c["notebook"], c["grade_id"]): c["grade_id"] for r in rows for c in r["cells"]}


def pass_rates(groups: dict[tuple[str, str], str], graded: list[dict]
               ) -> list[tuple[str, list[str], int]]:
    """(function, its grade_ids, number of graded rows with full marks on all of them), in
    the order of ``groups`` (notebook order: the first graded cell of each function)."""
    notebooks = {nb for nb, _ in groups}
    members: dict[str, list[tuple[str, str]]] = {}
    for key, function in groups.items():
        label = function if len(notebooks) < 2 else f"{key[0]}: {function}"
        members.setdefault(label, []).append(key)
    out = []
    for label, keys in members.items():
        passed = 0
        for row in graded:
            got = {(c["notebook"], c["grade_id"]): c for c in row["cells"]}
            passed += all(k in got and got[k]["score"] >= got[k]["max_score"] for k in keys)
        out.append((label, [gid for _, gid in keys], passed))
    return out


# ----------------------------------------------------------------------------- figures

def _percent(row: dict) -> float:
    """A graded row's score in % of its max score."""
    return 100.0 * row["score"] / row["max_score"] if row["max_score"] else 0.0


def histogram_figure(assignment: str, graded: list[dict], missing: int = 0):
    """The figure of :func:`score_histogram` (a matplotlib Figure)."""
    import matplotlib

    values = [_percent(r) for r in graded]
    with matplotlib.rc_context(STYLE):
        fig = _figure(7.5, 4.5)
        ax = fig.add_subplot()
        top = 100.0
        if values:
            shares, _, bars = ax.hist(values, bins=[10 * i for i in range(11)],
                                      weights=[100 / len(values)] * len(values),
                                      color="tab:blue", edgecolor="black")
            top = min(100.0, 10.0 * ((max(shares) + 14) // 10))
            for bar, share in zip(bars, shares, strict=True):
                if share:  # how many students, above the bar
                    ax.annotate(f"{round(share * len(values) / 100)}",
                                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                                xytext=(0, 2), textcoords="offset points", ha="center",
                                va="bottom", fontsize=9)
            median = statistics.median(values)
            ax.axvline(median, color="black", linestyle="--", linewidth=1.2,
                       label=f"median {median:.0f}%")
            ax.legend(loc="upper left")
        else:
            ax.text(50, 50, "no graded submissions", ha="center", va="center")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, top)
        ax.set_xticks(range(0, 101, 10))
        ax.set_xlabel("score (% of the maximum)")
        ax.set_ylabel("% of graded students (count on each bar)")
        ax.grid(alpha=0.3)
        ax.set_axisbelow(True)
        note = f", {missing} missing" if missing else ""
        _fit_title(fig, fig.suptitle(
            f"{assignment}\nscores of {len(values)} graded submission(s){note}"))
    return fig


def pass_rate_figure(assignment: str, rates: list[tuple[str, list[str], int]], n: int):
    """The figure of :func:`pass_rate_chart`: the functions top to bottom in notebook order."""
    import matplotlib

    labels = [_wrap_label(label) for label, _, _ in rates]
    longest = max((len(line) for label in labels for line in label.split("\n")), default=10)
    lines = sum(label.count("\n") + 1 for label in labels)
    values = [100 * passed / n if n else 0.0 for _, _, passed in rates]
    with matplotlib.rc_context(STYLE):
        fig = _figure(max(7.5, 4.0 + 0.085 * longest), 1.9 + 0.42 * max(lines, 2))
        ax = fig.add_subplot()
        positions = list(range(len(rates)))
        ax.barh(positions, values, color="tab:green", height=0.65)
        ax.set_yticks(positions, labels)
        ax.set_ylim(max(len(rates), 1) - 0.5, -0.5)  # the notebook's first function on top
        for y, value, (_, _, passed) in zip(positions, values, rates, strict=True):
            inside = value > 78  # the label inside a long bar, in white
            ax.text(value - 1 if inside else value + 1, y,
                    f"{value:.0f}% ({passed}/{n})" if n else "–",
                    ha="right" if inside else "left", va="center", fontsize=9,
                    color="white" if inside else "black")
        if not rates:
            ax.text(50, 0, "no graded cells", ha="center", va="center")
        ax.set_xlim(0, 100)
        ax.set_xticks(range(0, 101, 20))
        ax.set_xlabel("students with full marks on the function (% of graded)")
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
        _fit_title(fig, fig.suptitle(
            f"{assignment}\npass rate per graded function, in notebook order (n = {n})"))
    return fig


def score_histogram(assignment: str, graded: list[dict], path: Path, missing: int = 0) -> Path:
    """PNG: distribution of the scores (% of max) in % of graded students."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        histogram_figure(assignment, graded, missing).savefig(path, dpi=DPI)
    return path


def pass_rate_chart(assignment: str, rates: list[tuple[str, list[str], int]], n: int,
                    path: Path) -> Path:
    """PNG: per graded function, % of graded students with full marks on all its cells."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        pass_rate_figure(assignment, rates, n).savefig(path, dpi=DPI)
    return path


# ----------------------------------------------------------------------------- markdown


def _num(x: float | None) -> str:
    """A score for a table: at most two decimals, no trailing zeros."""
    return "–" if x is None else f"{x:.2f}".rstrip("0").rstrip(".")


def _md(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    flat = " ".join(str(text).split())
    flat = flat if len(flat) <= 300 else flat[:297] + "..."
    return flat.replace("|", "\\|")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _stats(rows: list[dict]) -> list[object]:
    """Summary cells of one assignment: counts, mean and median score."""
    graded = [r for r in rows if r["status"] == "graded"]
    count = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    scores = [r["score"] for r in graded]
    maximum = next((r["max_score"] for r in rows if r["max_score"] is not None), None)

    def show(x: float | None) -> str:
        if x is None:
            return "–"
        return f"{_num(x)} ({100 * x / maximum:.1f}%)" if maximum else _num(x)

    mean = statistics.fmean(scores) if scores else None
    median = statistics.median(scores) if scores else None
    return [rows[0]["assignment"], len(rows), *(count[s] for s in STATUSES), _num(maximum),
            show(mean), show(median)]


def _assignment_section(course_root: Path, assignment: str, rows: list[dict],
                        out_dir: Path) -> list[str]:
    """Figures and the per-function table of one assignment."""
    graded = [r for r in rows if r["status"] == "graded"]
    rates = pass_rates(_groups_for(course_root, assignment, rows), graded)
    missing = sum(r["status"] == "missing" for r in rows)
    hist = score_histogram(assignment, graded, out_dir / f"{assignment}_scores.png", missing)
    chart = pass_rate_chart(assignment, rates, len(graded), out_dir / f"{assignment}_functions.png")
    n = len(graded)
    table = [[label, ", ".join(ids), f"{passed}/{n}", f"{100 * passed / n:.1f}%" if n else "–"]
             for label, ids, passed in rates]
    return [f"## {assignment}", "", f"![score histogram of {assignment}]({hist.name})", "",
            f"![pass rate per function of {assignment}]({chart.name})", "",
            *(_table(["function", "graded cells", "full marks", "pass rate"], table) if table
              else ["No graded cells found.", ""]),
            *_lost_points(course_root, assignment, rows, graded, out_dir)]


def _lost_points(course_root: Path, assignment: str, rows: list[dict], graded: list[dict],
                 out_dir: Path) -> list[str]:
    """Where the class lost points: the functions ranked by points lost, each with the
    catalog's mistakes the class made, ranked by how many students made them, and a figure."""
    import matplotlib

    table = class_mistakes.losses(graded, _groups_for(course_root, assignment, rows))
    if not table:
        return []
    n = len(graded)
    path = out_dir / f"{assignment}_mistakes.png"
    with matplotlib.rc_context(STYLE):
        class_mistakes.mistakes_figure(assignment, table, n).savefig(path, dpi=DPI)
    lines = ["### Where points were lost", "",
             "Functions by points lost (all graded students together); under each, the "
             "classic mistakes of the catalog that its tests recognised, by how many students "
             "made them.", "",
             *_table(["function", "points lost", "mean lost per student", "students who lost "
                      "points", "of them: no known mistake"],
                     [[e.function, _num(e.lost), f"{_num(e.lost / n)} of {_num(e.possible)}",
                       f"{e.students}/{n}", e.unexplained] for e in table]),
             f"![the most common mistakes of {assignment}]({path.name})", ""]
    for entry in table:
        lines.append(f"- **{_md(entry.function)}**: {entry.students} of {n} lost points")
        for mistake, count in entry.mistakes:
            lines.append(f"  - {100 * count / n:.0f} % ({count}/{n}): {_md(mistake['hint'])} "
                         f"(`{mistake['id']}`)")
        if entry.unexplained:
            lines.append(f"  - {100 * entry.unexplained / n:.0f} % ({entry.unexplained}/{n}): "
                         "no mistake of the catalog recognised")
    return lines + [""]


def _late_work(rows: list[dict]) -> list[str]:
    """The late submissions (dlgrader.late), and those with a due date but no time."""
    late_rows = [[r["assignment"], r["student"], r.get("submitted_at") or "–",
                  r.get("time_source") or "–", _num(r.get("late_by_hours")),
                  _num(r.get("late_penalty")), _num(r.get("final_score")), r["late_reason"]]
                 for r in rows if (r.get("late_by_hours") or 0) > 0 or r.get("late_penalty")
                 or r.get("late_reason", "").startswith("no submission time")]
    if not late_rows:
        return []
    return ["## Late work", "", "Times in UTC; the reason gives them in the course's time zone "
            "(c.LatePolicy.timezone).", "",
            *_table(["assignment", "student", "submitted", "time from", "hours late",
                     "penalty", "final score", "reason"], late_rows)]


def _missing(rows: list[dict], roster_ids: list[str] | None = None) -> list[str]:
    """The roster's students without work, and students with work absent from the roster."""
    missing = [[r["assignment"], r["student"], r.get("name") or "", _num(r["score"])]
               for r in rows if r["status"] == "missing"]
    lines = ["## Missing work", ""]
    lines += (_table(["assignment", "student", "name", "score"], missing) if missing
              else ["Every student of the roster has work for every assignment.", ""])
    strangers = sorted({r["student"] for r in rows} - set(roster_ids or []))
    if roster_ids and strangers:
        lines += [f"Not on the roster: {_md(', '.join(strangers))} (a typo in a student "
                  "id shows up here and as a missing row).", ""]
    return lines


def _problems(rows: list[dict]) -> list[str]:
    """The errors, and graded rows with suspicious code, timeouts or a dead kernel."""
    errors = [[r["assignment"], r["student"], r["status"], r["error"] or ""]
              for r in rows if r["error"]]
    flagged = [[r["assignment"], r["student"], _suspicious(r), ", ".join(r["timed_out"]),
                "yes" if r["kernel_died"] else "no"]
               for r in rows if r["findings"] or r["timed_out"] or r["kernel_died"]]
    lines = ["## Errors", ""]
    lines += (_table(["assignment", "student", "status", "error"], errors) if errors
              else ["No errors.", ""])
    if flagged:
        lines += ["## Integrity flags", "",
                  "Suspicious code costs no points (tests run in the trusted judge, out of the "
                  "student's reach): read the cells named here.", "",
                  *_table(["assignment", "student", "suspicious code (cell, line: reason)",
                           "did not return in time", "kernel died"], flagged)]
    noted = [[r["assignment"], r["student"], "; ".join(r.get("notes") or [])]
             for r in rows if r.get("notes")]
    if noted:
        lines += ["## Grader's notes", "",
                  "What the grader restored, removed or cut before grading (edited or deleted "
                  "locked cells, shipped code, renamed notebooks, long output).", "",
                  *_table(["assignment", "student", "notes"], noted)]
    return lines


def _suspicious(row: dict) -> str:
    details = row.get("finding_details") or []
    shown = [f"cell {f.get('cell_index')}, line {f.get('line')}: {f.get('reason')}"
             for f in details[:3]]
    more = f" (+{len(details) - 3} more)" if len(details) > 3 else ""
    return "; ".join(shown) + more if shown else str(row["findings"] or "")


def markdown(course_root: Path, rows: list[dict], out_dir: Path,
             roster_ids: list[str] | None = None) -> str:
    """The report's Markdown (writes the figures it links to into ``out_dir``); ``roster_ids``:
    the students of the roster file, to name those with work who are not in it."""
    by_assignment: dict[str, list[dict]] = {}
    for row in rows:
        by_assignment.setdefault(row["assignment"], []).append(row)
    lines = ["# Grading report", "",
             f"{len(rows)} row(s) (student and assignment), "
             f"{sum(r['status'] == 'missing' for r in rows)} of them missing, in "
             f"{len(by_assignment)} assignment(s), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
             "Mean and median are of the graded submissions.", "",
             *_table(["assignment", "rows", "graded", "errors", "not graded", "missing",
                      "max score", "mean score", "median score"],
                     [_stats(r) for r in by_assignment.values()])]
    for assignment, group in by_assignment.items():
        lines += _assignment_section(course_root, assignment, group, out_dir)
    return "\n".join(lines + _late_work(rows) + _missing(rows, roster_ids)
                     + _problems(rows)).rstrip() + "\n"


def report(course_root: Path, out_dir: Path, missing_as_zero: bool = False,
           roster_path: Path | None = None, lms: str | None = None, similarity: bool = True,
           similarity_threshold: float | None = None) -> Path:
    """Export (``grades.csv``/``.json``, see :func:`export`), draw the figures and write
    ``report.md``; its path. With ``similarity``, ``similarity/`` and the section "Similar
    solutions" (:mod:`dlgrader.similarity`, pairs from ``similarity_threshold`` on).

    With ``GITHUB_STEP_SUMMARY`` set, the Markdown is appended to that file too.
    """
    out_dir = Path(out_dir)
    document = export(course_root, out_dir, missing_as_zero, roster_path, lms)
    text = markdown(Path(course_root), document["rows"], out_dir, document["roster"])
    if similarity:
        from dlgrader.similarity import report_section

        text += "\n" + report_section(course_root, out_dir / "similarity", similarity_threshold)
    path = out_dir / "report.md"
    path.write_text(text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a") as fh:
            fh.write(text)
    return path


# ----------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """``python -m dlgrader.report export OUT`` / ``report OUT``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course-root", type=Path, default=argparse.SUPPRESS,
                        help="the nbgrader course folder (default: this repository)")
    parser = argparse.ArgumentParser(prog="python -m dlgrader.report", parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("export", "write grades.csv and grades.json"),
                       ("report", "export, draw the figures, write report.md")):
        cmd = sub.add_parser(name, parents=[common], help=text)
        cmd.add_argument("out", type=Path)
        add_roster_options(cmd)
    from dlgrader.similarity import add_report_options

    add_report_options(sub.choices["report"])
    args = parser.parse_args(argv)
    root = getattr(args, "course_root", grading.REPO)
    try:
        if args.command == "export":
            rows = export(root, args.out, args.missing_as_zero, args.roster)["rows"]
            print(f"{len(rows)} row(s) written to {args.out / 'grades.csv'} and grades.json")
        else:
            print(report(root, args.out, args.missing_as_zero, args.roster,
                         similarity=not args.no_similarity,
                         similarity_threshold=args.similarity_threshold))
    except roster.RosterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def add_roster_options(parser: argparse.ArgumentParser) -> None:
    """--roster and --missing-as-zero, for the export and report commands."""
    parser.add_argument("--roster", type=Path, default=None, metavar="CSV",
                        help="the course roster: student_id,first_name,last_name,email "
                             "(default: roster.csv of the course folder, when it exists)")
    parser.add_argument("--missing-as-zero", action="store_true",
                        help="score 0 for a roster student's missing work (default: empty)")


if __name__ == "__main__":
    sys.exit(main())
