"""Per-function scores of the export: what each graded function of a notebook earned.

Each export row gets ``functions``: graded function -> ``{"score", "max_score"}``, in notebook
order (the functions of :func:`dlgrader.report.function_groups`: a function's test cells added
up; a test cell of no function counts as its own, under its grade_id; with several notebooks in
an assignment a function is named ``"<notebook>: <function>"``). Rows without a grade (error,
not graded, missing) get an empty mapping. Scores are before any late penalty (the row's
``final_score``).

In ``grades.csv`` (one row per student and assignment) each function is one more column, after
the usual ones, named as the function: a row fills the columns of its own assignment's
functions and leaves the others empty (filter by assignment in a spreadsheet; a function name
used by two assignments, such as ``sigmoid``, shares one column). A name that is already a
column of grades.csv gets the suffix `` (function)``. For a spreadsheet per assignment,
``functions_<assignment>.csv`` holds one row per student and one column per function, headed
``<function> (max N)``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["annotate", "columns", "csv_cells", "function_scores", "write_wide"]

Groups = dict[tuple[str, str], str]


def function_scores(row: dict, groups: Groups) -> dict[str, dict[str, float]]:
    """A graded row's functions -> score and max score, in notebook order."""
    if row["status"] != "graded":
        return {}
    notebooks = {nb for nb, _ in groups} | {c["notebook"] for c in row["cells"]}
    by_key = {(c["notebook"], c["grade_id"]): c for c in row["cells"]}
    order = [key for key in groups if key in by_key]
    order += [key for key in by_key if key not in groups]
    out: dict[str, dict[str, float]] = {}
    for key in order:
        function = groups.get(key, key[1])
        label = function if len(notebooks) < 2 else f"{key[0]}: {function}"
        entry = out.setdefault(label, {"score": 0.0, "max_score": 0.0})
        entry["score"] += by_key[key]["score"]
        entry["max_score"] += by_key[key]["max_score"]
    return out


def annotate(rows: list[dict], groups_of: Callable[[str], Groups]) -> None:
    """Add ``functions`` to every row (``groups_of(assignment)``: its function groups)."""
    groups: dict[str, Groups] = {}
    for row in rows:
        if row["assignment"] not in groups:
            groups[row["assignment"]] = groups_of(row["assignment"])
        row["functions"] = function_scores(row, groups[row["assignment"]])


def _order(rows: Iterable[dict]) -> dict[str, list[str]]:
    """assignment -> its function labels in notebook order (the union over its rows)."""
    out: dict[str, list[str]] = {}
    for row in rows:
        labels = out.setdefault(row["assignment"], [])
        labels += [f for f in row.get("functions") or {} if f not in labels]
    return out


def columns(rows: list[dict], taken: Iterable[str]) -> dict[str, str]:
    """grades.csv's function columns: label -> column name, assignments in row order."""
    taken = set(taken)
    out: dict[str, str] = {}
    for labels in _order(rows).values():
        for label in labels:
            out.setdefault(label, f"{label} (function)" if label in taken else label)
    return out


def csv_cells(row: dict, names: dict[str, str]) -> dict[str, object]:
    """One grades.csv row's function cells (empty for the functions of other assignments)."""
    got = row.get("functions") or {}
    return {column: got[label]["score"] if label in got else ""
            for label, column in names.items()}


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def write_wide(rows: list[dict], out_dir: Path) -> list[Path]:
    """``functions_<assignment>.csv`` for every assignment with graded functions: student,
    name, status, score, max score (and final_score when the rows have one), then one column
    per function, headed with its max score. Returns the paths written."""
    written = []
    for assignment, labels in _order(rows).items():
        if not labels:
            continue
        mine = [r for r in rows if r["assignment"] == assignment]
        maxima = {label: next(r["functions"][label]["max_score"] for r in mine
                              if label in (r.get("functions") or {})) for label in labels}
        final = any("final_score" in r for r in mine)
        header = ["student", "name", "status", "score", "max_score",
                  *(["final_score"] if final else []),
                  *(f"{label} (max {_number(maxima[label])})" for label in labels)]
        path = Path(out_dir) / f"functions_{assignment}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for r in mine:
                got = r.get("functions") or {}
                writer.writerow([
                    r["student"], r.get("name") or "", r["status"],
                    "" if r["score"] is None else r["score"],
                    "" if r["max_score"] is None else r["max_score"],
                    *([("" if r.get("final_score") is None else r["final_score"])]
                      if final else []),
                    *(got[label]["score"] if label in got else "" for label in labels)])
        written.append(path)
    return written
