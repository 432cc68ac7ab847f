"""The class's mistakes by name: where an assignment's points were lost, and why.

From the export's graded rows (each with its cells' scores and the catalog mistakes its
grading recognised, :mod:`dlgrader.mistakes`): the graded functions ranked by the points the
class lost on them, and for each function the recognised mistakes ranked by how many students
made them ("propagate: 31 % made 'Did you forget to divide by m?'"), plus how many lost points
there with no mistake the catalog knows. :func:`mistakes_figure` draws the most common mistakes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from dlgrader import figures

__all__ = ["FunctionLoss", "losses", "mistakes_figure"]


@dataclass
class FunctionLoss:
    """One graded function over the class's graded submissions."""

    function: str
    lost: float = 0.0  # points lost by all students together
    possible: float = 0.0  # points possible for one student
    students: int = 0  # graded students who lost points on it
    mistakes: list[tuple[dict, int]] = field(default_factory=list)  # (mistake, students)
    unexplained: int = 0  # students who lost points with no recognised mistake


def losses(graded: list[dict], groups: Mapping[tuple[str, str], str]) -> list[FunctionLoss]:
    """The functions on which the graded rows lost points, most points lost first (ties in
    notebook order), each with its mistakes, most frequent first (ties in the order first seen)."""
    order = list(dict.fromkeys(groups.values()))
    table: dict[str, FunctionLoss] = {}
    counts: dict[str, Counter] = {}
    seen: dict[str, dict] = {}
    for row in graded:
        lost_here: dict[str, float] = {}
        for cell in row["cells"]:
            function = groups.get((cell["notebook"], cell["grade_id"]), cell["grade_id"])
            table.setdefault(function, FunctionLoss(function))
            lost_here[function] = lost_here.get(function, 0.0) + max(
                0.0, cell["max_score"] - cell["score"])
        made: dict[str, list[str]] = {}
        for mistake in row.get("mistakes") or []:
            made.setdefault(mistake["function"], []).append(mistake["id"])
            seen.setdefault(mistake["id"], mistake)
        for function, lost in lost_here.items():
            entry = table[function]
            entry.lost += lost
            if lost > 0:
                entry.students += 1
                ids = made.get(function, [])
                counts.setdefault(function, Counter()).update(set(ids))
                entry.unexplained += not ids
    first_seen = list(seen)
    for function, entry in table.items():
        entry.possible = _possible(graded, groups, function)
        ranked = counts.get(function, Counter())
        entry.mistakes = [(seen[i], n) for i, n in sorted(
            ranked.items(), key=lambda item: (-item[1], first_seen.index(item[0])))]
    rank = {name: i for i, name in enumerate(order)}
    lossy = [e for e in table.values() if e.lost > 0]
    return sorted(lossy, key=lambda e: (-e.lost, rank.get(e.function, len(rank))))


def _possible(graded: list[dict], groups: Mapping[tuple[str, str], str], function: str) -> float:
    """The points one student can earn on ``function`` (from the first graded row)."""
    for row in graded:
        cells = [c for c in row["cells"]
                 if groups.get((c["notebook"], c["grade_id"]), c["grade_id"]) == function]
        if cells:
            return sum(c["max_score"] for c in cells)
    return 0.0


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def mistakes_figure(assignment: str, table: list[FunctionLoss], n: int, top: int = 12):
    """Horizontal bars: the ``top`` most common recognised mistakes of the assignment, in % of
    its ``n`` graded students, most common on top (a matplotlib Figure)."""
    import matplotlib

    bars = sorted(((count, f"{entry.function}: {_short(mistake['hint'])}")
                   for entry in table for mistake, count in entry.mistakes),
                  key=lambda bar: -bar[0])[:top]
    with matplotlib.rc_context(figures.STYLE):
        longest = max((len(label) for _, label in bars), default=20)
        fig = figures.figure(max(8.0, 4.0 + 0.075 * longest), 1.9 + 0.42 * max(len(bars), 2))
        ax = fig.add_subplot()
        values = [100 * count / n if n else 0.0 for count, _ in bars]
        positions = list(range(len(bars)))
        ax.barh(positions, values, color="tab:red", height=0.65)
        ax.set_yticks(positions, [label for _, label in bars])
        ax.set_ylim(max(len(bars), 1) - 0.5, -0.5)
        for y, value, (count, _) in zip(positions, values, bars, strict=True):
            ax.text(value + 1, y, f"{value:.0f}% ({count}/{n})", va="center", fontsize=9)
        if not bars:
            ax.text(50, 0, "no classic mistake recognised", ha="center", va="center")
        ax.set_xlim(0, 100)
        ax.set_xticks(range(0, 101, 20))
        ax.set_xlabel("graded students who made the mistake (%)")
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
        title = f"{assignment}\nthe class's most common mistakes (n = {n})"
        figures.fit_title(fig, fig.suptitle(title))
    return fig
