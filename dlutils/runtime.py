"""Where a notebook runs: in JupyterLab for a person, or under nbgrader.

This is the one mechanism that keeps grading fast: nbgrader sets ``NBGRADER_EXECUTION``
(``autograde`` or ``validate``) in the kernel's environment, and the long demonstration runs
of a notebook ask :func:`demo_iterations` how far to go. In JupyterLab they run in full; under
grading they are shortened, because hidden tests check the functions on small fresh problems
and never the demonstration runs. :func:`progress` shows a tqdm bar to a person and stays
silent under grading (tqdm writes to stderr, and nbgrader fails a test cell on stderr).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["demo_iterations", "progress", "under_grading"]

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
