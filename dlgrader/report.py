"""Export the course's grades and summarise them in a report.

Every (student, assignment) pair known to the gradebook, to ``grading-state/<assignment>/`` or
present in ``submitted/`` gets one row with a status:

* ``graded``: autograded, score from the gradebook (and, when there is one, a state file saying
  so);
* ``error``: the grading pipeline's state file says the grading failed (its message is kept);
* ``not graded``: submitted but never graded (or graded per the state file, but absent from
  the gradebook).

Scores are reported for graded rows only. CLI::

    python -m dlgrader.report export OUT [--course-root ROOT]   # grades.csv, grades.json
    python -m dlgrader.report report OUT [--course-root ROOT]   # + PNGs, report.md
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

from dlgrader import grading

__all__ = ["CSV_FIELDS", "export", "function_groups", "main", "report"]

Pair = tuple[str, str]

CSV_FIELDS = ["student", "assignment", "score", "max_score", "status", "error", "kernel_died",
              "timed_out", "findings", "zeroed_cells"]

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
    }


def collect_rows(course_root: Path) -> list[dict]:
    """Every row of the export, sorted by assignment and student."""
    course_root = Path(course_root)
    graded, maxima = _gradebook(_db_url(course_root))
    states = _states(course_root)
    submitted = _submitted(course_root)
    pairs = sorted(set(graded) | set(states) | submitted, key=lambda p: (p[1], p[0]))
    return [_row(p, states.get(p), graded.get(p), maxima.get(p[1]), p in submitted)
            for p in pairs]


# ----------------------------------------------------------------------------- export


def _write_csv(rows: list[dict], path: Path) -> None:
    """grades.csv: the CSV_FIELDS of each row (zeroed cells joined by ';')."""
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in rows:
            flat = {key: row[key] for key in CSV_FIELDS}
            flat["zeroed_cells"] = ";".join(row["zeroed_cells"])
            flat["timed_out"] = ";".join(row["timed_out"])
            flat["score"] = "" if row["score"] is None else row["score"]
            flat["max_score"] = "" if row["max_score"] is None else row["max_score"]
            flat["error"] = row["error"] or ""
            writer.writerow(flat)


def export(course_root: Path, out_dir: Path) -> dict:
    """Write ``grades.csv`` and ``grades.json`` to ``out_dir``; return the JSON document."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = collect_rows(course_root)
    document = {"generated": datetime.now(UTC).isoformat(timespec="seconds"),
                "course_root": str(Path(course_root).resolve()), "rows": rows}
    _write_csv(rows, out_dir / "grades.csv")
    (out_dir / "grades.json").write_text(json.dumps(document, indent=2) + "\n")
    return document


# ----------------------------------------------------------------------------- functions


def _nbgrader_cells(course_root: Path, assignment: str) -> Iterable[tuple[str, dict]]:
    """(notebook name, nbgrader metadata) of every nbgrader cell of the source notebooks."""
    folder = Path(course_root) / "source" / assignment
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        for cell in json.loads(path.read_text()).get("cells", []):
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta and meta.get("grade_id"):
                yield path.stem, meta


def function_groups(course_root: Path, assignment: str) -> dict[tuple[str, str], str]:
    """Map each graded cell (notebook, grade_id) of the source to its function.

    The functions are the solution cells ``<function>_solution``; a graded cell belongs to the
    longest function name its grade_id starts with (else it is a group of its own).
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
    """(function, its grade_ids, number of graded rows with full marks on all of them)."""
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


def _figure(width: float, height: float):
    """A matplotlib Figure drawn by the Agg canvas (no pyplot, no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _percent(row: dict) -> float:
    """A graded row's score in % of its max score."""
    return 100.0 * row["score"] / row["max_score"] if row["max_score"] else 0.0


def score_histogram(assignment: str, graded: list[dict], path: Path) -> Path:
    """PNG: distribution of the scores (% of max) in % of graded students."""
    fig = _figure(6, 3.5)
    ax = fig.add_subplot()
    values = [_percent(r) for r in graded]
    if values:
        ax.hist(values, bins=[10 * i for i in range(11)], weights=[100 / len(values)] * len(values),
                edgecolor="black")
    else:
        ax.text(50, 50, "no graded submissions", ha="center", va="center")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel("score (% of the maximum)")
    ax.set_ylabel("students (% of graded)")
    ax.set_title(f"{assignment}: scores of {len(values)} graded submission(s)")
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=100)
    return path


def pass_rate_chart(assignment: str, rates: list[tuple[str, list[str], int]], n: int,
                    path: Path) -> Path:
    """PNG: per graded function, % of graded students with full marks on all its cells."""
    fig = _figure(6, 1.2 + 0.4 * max(len(rates), 1))
    ax = fig.add_subplot()
    labels = [label for label, _, _ in rates]
    values = [100 * passed / n if n else 0.0 for _, _, passed in rates]
    ax.barh(labels, values, color="tab:green")
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("pass rate (% of graded students)")
    ax.set_ylabel("graded function")
    ax.set_title(f"{assignment}: pass rate per graded function (n = {n})")
    ax.grid(axis="x", alpha=0.3)
    fig.savefig(path, dpi=100)
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
    count = {s: sum(r["status"] == s for r in rows) for s in ("graded", "error", "not graded")}
    scores = [r["score"] for r in graded]
    maximum = next((r["max_score"] for r in rows if r["max_score"] is not None), None)

    def show(x: float | None) -> str:
        if x is None:
            return "–"
        return f"{_num(x)} ({100 * x / maximum:.1f}%)" if maximum else _num(x)

    mean = statistics.fmean(scores) if scores else None
    median = statistics.median(scores) if scores else None
    return [rows[0]["assignment"], len(rows), count["graded"], count["error"],
            count["not graded"], _num(maximum), show(mean), show(median)]


def _assignment_section(course_root: Path, assignment: str, rows: list[dict],
                        out_dir: Path) -> list[str]:
    """Figures and the per-function table of one assignment."""
    graded = [r for r in rows if r["status"] == "graded"]
    rates = pass_rates(_groups_for(course_root, assignment, rows), graded)
    hist = score_histogram(assignment, graded, out_dir / f"{assignment}_scores.png")
    chart = pass_rate_chart(assignment, rates, len(graded), out_dir / f"{assignment}_functions.png")
    n = len(graded)
    table = [[label, ", ".join(ids), f"{passed}/{n}", f"{100 * passed / n:.1f}%" if n else "–"]
             for label, ids, passed in rates]
    return [f"## {assignment}", "", f"![score histogram of {assignment}]({hist.name})", "",
            f"![pass rate per function of {assignment}]({chart.name})", "",
            *(_table(["function", "graded cells", "full marks", "pass rate"], table) if table
              else ["No graded cells found.", ""])]


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
    return lines


def _suspicious(row: dict) -> str:
    details = row.get("finding_details") or []
    shown = [f"cell {f.get('cell_index')}, line {f.get('line')}: {f.get('reason')}"
             for f in details[:3]]
    more = f" (+{len(details) - 3} more)" if len(details) > 3 else ""
    return "; ".join(shown) + more if shown else str(row["findings"] or "")


def markdown(course_root: Path, rows: list[dict], out_dir: Path) -> str:
    """The report's Markdown (writes the figures it links to into ``out_dir``)."""
    by_assignment: dict[str, list[dict]] = {}
    for row in rows:
        by_assignment.setdefault(row["assignment"], []).append(row)
    lines = ["# Grading report", "",
             f"{len(rows)} submission(s) in {len(by_assignment)} assignment(s), "
             f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.", "",
             *_table(["assignment", "rows", "graded", "errors", "not graded", "max score",
                      "mean score", "median score"],
                     [_stats(r) for r in by_assignment.values()])]
    for assignment, group in by_assignment.items():
        lines += _assignment_section(course_root, assignment, group, out_dir)
    return "\n".join(lines + _problems(rows)).rstrip() + "\n"


def report(course_root: Path, out_dir: Path) -> Path:
    """Export (``grades.csv``/``.json``), draw the figures and write ``report.md``; its path.

    With ``GITHUB_STEP_SUMMARY`` set, the Markdown is appended to that file too.
    """
    out_dir = Path(out_dir)
    rows = export(course_root, out_dir)["rows"]
    text = markdown(Path(course_root), rows, out_dir)
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
    args = parser.parse_args(argv)
    root = getattr(args, "course_root", grading.REPO)
    if args.command == "export":
        rows = export(root, args.out)["rows"]
        print(f"{len(rows)} row(s) written to {args.out / 'grades.csv'} and grades.json")
    else:
        print(report(root, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
