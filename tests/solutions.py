"""A released notebook answered with the reference solutions of source/, as a student would
(shared by the tests of the student kit, ./course check and Validate)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?\n)[ \t]*### END SOLUTION", re.S)
STUB = re.compile(r"# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(.*?\)\n", re.S)


def answered(notebook: str, answers: dict[str, tuple[str, str] | None] | None = None
             ) -> nbformat.NotebookNode:
    """release/``notebook`` (e.g. ``01_numpy_basics/numpy_basics.ipynb``) with the reference
    solution of each function in ``answers`` (all of them when None) in place of its stub,
    changed by a (before, after) replacement where one is given."""
    source = nbformat.read(REPO / "source" / notebook, as_version=4)
    nb = nbformat.read(REPO / "release" / notebook, as_version=4)
    solutions = {c.metadata.nbgrader["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if not (cell.metadata.get("nbgrader", {}).get("solution") and grade_id in solutions):
            continue
        name = grade_id.removesuffix("_solution")
        if answers is not None and name not in answers:
            continue
        regions = SOLUTION.findall(solutions[grade_id])
        stubs = STUB.findall(cell.source)
        assert len(regions) == len(stubs) >= 1, grade_id
        change = answers.get(name) if answers else None
        for body in regions:
            if change:
                assert change[0] in body, (grade_id, change)
                body = body.replace(*change)
            cell.source = STUB.sub(lambda _, b=body: b.lstrip(" "), cell.source, count=1)
    return nb
