"""Self-checking exercises for the ungraded lecture companions in ``notebooks/``.

An exercise cell (cell tag ``exercise``) leaves ``...`` where the reader writes an answer; the
cell after it calls :func:`self_check`, which says "not attempted yet", "correct" or what is
wrong, and never raises, so "Run All" always reaches the end of the notebook. A markdown cell
tagged ``solution`` after the check holds one answer in a ```python block inside ``<details>``;
the test suite runs every companion both as shipped and with those answers filled in.

While a notebook is being validated (``NBGRADER_VALIDATING`` set in the kernel, as nbgrader's
Validate and ``./course check`` set it), each verdict is also published as display data of type
:data:`VERDICT_MIME` (``{"name", "status", "message"}``), which JupyterLab renders as nothing:
what the reader sees is the printed verdict alone, and the validator reads the verdicts from it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["NOT_ATTEMPTED", "PASSED", "FAILED", "VERDICT_MIME", "self_check", "unanswered"]

NOT_ATTEMPTED = "○"
PASSED = "✓"
FAILED = "✗"
# The machine-readable verdict published under validation; its "status" is one of these.
VERDICT_MIME = "application/vnd.nndl.self-check+json"
STATUS = {NOT_ATTEMPTED: "not attempted yet", PASSED: "correct", FAILED: "wrong"}


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
        _verdict(name, NOT_ATTEMPTED, "not attempted yet - replace each ... above and run again.")
        return
    try:
        check(answer)
    except AssertionError as error:
        _verdict(name, FAILED, "not yet.", str(error))
        return
    except Exception as error:  # the answer itself failed (wrong shape, wrong type, ...)
        _verdict(name, FAILED, f"checking it raised {type(error).__name__}: {error}")
        return
    _verdict(name, PASSED, "correct.")


def _verdict(name: str, mark: str, head: str, detail: str = "") -> None:
    """Print the verdict; under validation also publish it as data (see the module's doc)."""
    print(f"{mark} {name}: {head}" + (f"\n{detail}" if detail else ""))
    if not os.environ.get("NBGRADER_VALIDATING"):
        return
    ipython = sys.modules.get("IPython")  # only inside a kernel (never imported here)
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    message = detail if detail else ("" if mark != FAILED else head)
    try:
        from IPython.display import display

        display({VERDICT_MIME: {"name": name, "status": STATUS[mark], "message": message}},
                raw=True)
    except Exception:  # a self-check never raises; the printed verdict stands
        pass
