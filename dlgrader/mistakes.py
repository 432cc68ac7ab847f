"""The classic mistakes by name: which ones a graded submission made.

The mistake catalog (``dlgrader/catalog/<assignment>.json``, proven by tests/test_mistakes.py)
lists, per graded function, classic mistakes with a stable name and the hint that the hidden
tests show for it. Mistakes of one function that show the same hint cannot be told apart from
the feedback, so they are one :class:`Mistake`: its id is the catalog's first name with that
hint, ``names`` lists all of them.

After grading, :func:`detect` reads the judge's messages in the failed test cells of a
notebook (the ``ename: evalue`` of their errors) and returns the known mistakes whose hint
they contain, each under the function of its cell (a hint of another function does not
count). A hint that is part of a longer hint found in the same cell counts once, as the
longer. The pipeline records them in the state record (``mistakes``); the report ranks them
per function over the class; the feedback page lists them for the student.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CATALOG", "Mistake", "detect", "detect_files", "known"]

CATALOG = Path(__file__).resolve().parent / "catalog"


@dataclass(frozen=True)
class Mistake:
    """A classic mistake of one function, as its hint shows it."""

    id: str
    function: str
    hint: str
    names: tuple[str, ...]

    def record(self) -> dict[str, str]:
        """The form of the state record and the export."""
        return {"function": self.function, "id": self.id, "hint": self.hint}


@functools.cache
def known(assignment: str, catalog: Path = CATALOG) -> tuple[Mistake, ...]:
    """The catalog's mistakes of ``assignment`` (none when it has no catalog), one per
    (function, hint), in catalog order."""
    path = catalog / f"{assignment}.json"
    if not path.is_file():
        return ()
    entries = json.loads(path.read_text())["mistakes"]
    grouped: dict[tuple[str, str], list[str]] = {}
    for entry in entries:
        grouped.setdefault((entry["function"], entry["hint"]), []).append(entry["name"])
    return tuple(Mistake(names[0], function, hint, tuple(names))
                 for (function, hint), names in grouped.items())


def _messages(cell: Mapping[str, Any]) -> str:
    """What a failed test cell says: ``ename: evalue`` of each error output."""
    return "\n".join(f"{out.get('ename', '')}: {out.get('evalue', '')}"
                     for out in cell.get("outputs", []) if out.get("output_type") == "error")


def _found(text: str, candidates: Iterable[Mistake]) -> list[Mistake]:
    hits = [m for m in candidates if m.hint and m.hint in text]
    return [m for m in hits
            if not any(m.hint != o.hint and m.hint in o.hint for o in hits)]


def detect(nb: Mapping[str, Any], notebook: str, groups: Mapping[tuple[str, str], str],
           assignment: str, catalog: Path = CATALOG) -> list[Mistake]:
    """The known mistakes shown by the failed test cells of a graded notebook (an nbformat
    notebook or its JSON), each once, in notebook order.

    ``groups`` maps (notebook, grade_id) to its function (:func:`dlgrader.report.
    function_groups`); a cell it does not know is its grade_id's own group."""
    by_function: dict[str, list[Mistake]] = {}
    for mistake in known(assignment, catalog):
        by_function.setdefault(mistake.function, []).append(mistake)
    found: list[Mistake] = []
    for cell in nb.get("cells", []):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("cell_type") != "code" or not grade_id:
            continue
        text = _messages(cell)
        if not text:
            continue
        function = groups.get((notebook, grade_id), grade_id)
        found += [m for m in _found(text, by_function.get(function, [])) if m not in found]
    return found


def detect_files(folder: Path, assignment: str, groups: Mapping[tuple[str, str], str],
                 catalog: Path = CATALOG) -> list[dict[str, str]]:
    """:func:`detect` over the graded notebooks of ``folder`` (an autograded submission), as
    records (function, id, hint)."""
    found: list[Mistake] = []
    for path in sorted(Path(folder).glob("*.ipynb")):
        nb = json.loads(path.read_text())
        found += [m for m in detect(nb, path.stem, groups, assignment, catalog)
                  if m not in found]
    return [m.record() for m in found]
