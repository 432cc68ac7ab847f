"""The catalog of classic student mistakes (``dlgrader/catalog/<assignment>.json``) and how to
turn it into graded submissions.

A catalog file:

    {"assignment": "01_numpy_basics",
     "mistakes": [{"name": "...", "function": "sigmoid", "before": "...", "after": "...",
                   "hint": "text the student must see in the feedback"}],
     "equivalents": [{"name": "...", "function": "sigmoid", "before": "...", "after": "..."}]}

``before`` must occur exactly once in the function's solution cell (grade_id
``<function>_solution``) of the source notebook; ``after`` replaces it.

Every graded function is graded on its own: a test cell runs in the trusted judge, where the
assignment's other graded functions are the reference solutions, and the student's function
calls the references in their place too. So mistakes of different functions are graded
together in one submission (one kernel), one mistake per function, and every function without
a mistake must keep all its points. Equivalent solutions are graded the same way.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

CATALOG = Path(__file__).resolve().parent.parent / "dlgrader" / "catalog"
SOURCE = Path(__file__).resolve().parent.parent / "source"


@dataclass(frozen=True)
class Mutation:
    """One edit of a solution: a mistake (with the hint it must produce) or an equivalent."""

    assignment: str
    name: str
    function: str
    before: str
    after: str
    hint: str | None  # None for an equivalent solution


def load(assignment: str) -> tuple[list[Mutation], list[Mutation]]:
    """(mistakes, equivalents) of one assignment's catalog."""
    data = json.loads((CATALOG / f"{assignment}.json").read_text())
    mistakes = [Mutation(assignment, m["name"], m["function"], m["before"], m["after"],
                         m["hint"]) for m in data["mistakes"]]
    equivalents = [Mutation(assignment, e["name"], e["function"], e["before"], e["after"],
                            None) for e in data.get("equivalents", [])]
    return mistakes, equivalents


def catalogs() -> list[str]:
    return sorted(p.stem for p in CATALOG.glob("*.json"))


def batches(mutations: list[Mutation]) -> list[list[Mutation]]:
    """Greedy packing: at most one mutation of each function in a batch."""
    packed: list[list[Mutation]] = []
    for mutation in mutations:
        for batch in packed:
            if all(other.function != mutation.function for other in batch):
                batch.append(mutation)
                break
        else:
            packed.append([mutation])
    return packed


def source_notebook(assignment: str) -> Path:
    return next((SOURCE / assignment).glob("*.ipynb"))


def apply(nb: nbformat.NotebookNode, mutations: list[Mutation]) -> nbformat.NotebookNode:
    """A copy of ``nb`` with every mutation applied to its function's solution cell."""
    nb = copy.deepcopy(nb)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    for m in mutations:
        cell = cells.get(f"{m.function}_solution")
        if cell is None:
            raise ValueError(f"{m.assignment}/{m.name}: no solution cell {m.function}_solution")
        count = cell.source.count(m.before)
        if count != 1:
            raise ValueError(f"{m.assignment}/{m.name}: 'before' occurs {count} times in "
                             f"{m.function}_solution (must be exactly once)")
        cell.source = cell.source.replace(m.before, m.after)
    return nb
