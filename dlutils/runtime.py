"""Where a notebook runs: in JupyterLab for a person, or under nbgrader.

This is the one mechanism that keeps grading fast: nbgrader sets ``NBGRADER_EXECUTION``
(``autograde`` or ``validate``) in the kernel's environment, and the long demonstration runs
of a notebook ask :func:`demo_iterations` how far to go. In JupyterLab they run in full; under
grading they are shortened, because hidden tests check the functions on small fresh problems
and never the demonstration runs. :func:`progress` shows a tqdm bar to a person and stays
silent under grading (tqdm writes to stderr, and nbgrader fails a test cell on stderr).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["cost_progress", "demo_iterations", "progress", "under_grading"]

T = TypeVar("T")
GRADING_ITERATIONS = 10


def under_grading() -> bool:
    """True when nbgrader (autograde or validate) executes this kernel."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def demo_iterations(n: int, grading: int = GRADING_ITERATIONS) -> int:
    """``n`` for a person, ``min(n, grading)`` under nbgrader."""
    if n < 0 or grading < 1:
        raise ValueError(f"need n >= 0 and grading >= 1, got n={n}, grading={grading}")
    return min(n, grading) if under_grading() else n


def progress(iterable: Iterable[T], total: int | None = None, desc: str | None = None,
             ) -> Iterator[T] | Iterable[T]:
    """A tqdm progress bar around ``iterable`` for a person; the bare iterable under grading."""
    if under_grading():
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False)


COST_LINE = re.compile(r"Cost after iteration (\d+)")


class _CostWatcher:
    """A stdout that passes text through and moves a bar on "Cost after iteration i" lines."""

    def __init__(self, stream, bar) -> None:
        self._stream, self._bar = stream, bar

    def write(self, text: str) -> int:
        for match in COST_LINE.finditer(text):
            self._bar.n = min(int(match.group(1)) + 1, self._bar.total or 0)
            self._bar.refresh()
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def cost_progress(total: int, desc: str | None = None) -> Iterator[None]:
    """A progress bar for a training function that prints the course's cost lines.

    The function itself is unchanged: its printed "Cost after iteration i: ..." lines move the
    bar (and are still printed). Silent under grading.
    """
    if under_grading():
        yield
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, leave=False)
    saved = sys.stdout
    sys.stdout = _CostWatcher(saved, bar)
    try:
        yield
    finally:
        sys.stdout = saved
        bar.close()
