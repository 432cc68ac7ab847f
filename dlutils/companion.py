"""Self-checking exercises for the ungraded lecture companions in ``notebooks/``.

An exercise cell (cell tag ``exercise``) leaves ``...`` where the reader writes an answer; the
cell after it calls :func:`self_check`, which says "not attempted yet", "correct" or what is
wrong, and never raises, so "Run All" always reaches the end of the notebook. A markdown cell
tagged ``solution`` after the check holds one answer in a ```python block inside ``<details>``;
the test suite runs every companion both as shipped and with those answers filled in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["NOT_ATTEMPTED", "PASSED", "FAILED", "self_check", "unanswered"]

NOT_ATTEMPTED = "○"
PASSED = "✓"
FAILED = "✗"


def unanswered(answer: Any) -> bool:
    """True when ``answer`` is ``...`` or a list/tuple/dict still holding a ``...``."""
    if answer is Ellipsis:
        return True
    if isinstance(answer, Mapping):
        return any(unanswered(v) for v in answer.values())
    if isinstance(answer, (list, tuple)):
        return any(unanswered(v) for v in answer)
    return False


def self_check(name: str, answer: Any, check: Callable[[Any], None]) -> None:
    """Run ``check(answer)`` and print the verdict (nothing is returned, so a check cell
    shows only the verdict).

    ``check`` raises (an ``AssertionError`` from :mod:`dlutils.checks`, or any error the answer
    causes) when the answer is wrong; its message is printed, never raised.
    """
    if unanswered(answer):
        print(f"{NOT_ATTEMPTED} {name}: not attempted yet - replace each ... above and run again.")
        return
    try:
        check(answer)
    except AssertionError as error:
        print(f"{FAILED} {name}: not yet.\n{error}")
        return
    except Exception as error:  # the answer itself failed (wrong shape, wrong type, ...)
        print(f"{FAILED} {name}: checking it raised {type(error).__name__}: {error}")
        return
    print(f"{PASSED} {name}: correct.")
