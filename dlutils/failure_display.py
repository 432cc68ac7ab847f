"""How IPython shows a failed check (:class:`dlutils.checks.CheckError`): the message first, then
the line of the cell that failed, and no frame of the kit. A check failure is not a crash; any
other error keeps IPython's normal traceback. Cosmetic, for the student reading the notebook:
grading never runs in the student's kernel.
"""

from __future__ import annotations

import linecache
import os
import sys
import traceback
from typing import Any

__all__ = ["check_failure", "usual_traceback"]

_KIT_DIR = os.path.dirname(os.path.abspath(__file__))
_RED, _GREEN, _RESET = "\x1b[1;31m", "\x1b[32m", "\x1b[0m"
_MAX_SOURCE = 100  # characters of the failing line shown


def _shell() -> Any:
    """The running IPython shell, or None (IPython is never imported here)."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    return get() if callable(get) else None


def usual_traceback(error: BaseException) -> list[str]:
    """IPython's own traceback of ``error`` (the fallback of the short display)."""
    try:
        return _shell().InteractiveTB.structured_traceback(
            type(error), error, error.__traceback__, tb_offset=1)
    except Exception:
        return [f"{type(error).__name__}: {error}"]


def _cell_name(shell: Any, filename: str, running: str | None) -> str | None:
    """``"this cell"`` or ``"Cell In[4]"`` for code of a notebook cell, None for a file."""
    try:
        named = shell.compile.format_code_name(filename)
    except Exception:
        return None
    if not named:
        return None
    return "this cell" if filename == running else " ".join(named)


def _source_line(filename: str, lineno: int) -> str:
    line = linecache.getline(filename, lineno).strip()
    if len(line) > _MAX_SOURCE:
        return line[:_MAX_SOURCE].rstrip() + " ..."
    opened = sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
    return line + " ..." if opened > 0 else line


def _failure_location(error: BaseException, shell: Any, color: bool) -> list[str]:
    """Where the check failed: the line of the cell being run, and the line of another cell
    (a helper defined there) when the check was called from it. Frames of this package and
    of IPython are left out."""
    frames = [(frame.f_code.co_filename, lineno)
              for frame, lineno in traceback.walk_tb(error.__traceback__)]
    # The traceback starts in IPython's run_code, which runs the cell: the next frame's file
    running = frames[1][0] if len(frames) > 1 else None
    cells = [(f, n, name) for f, n in frames if (name := _cell_name(shell, f, running))]
    if not cells:  # a script run with %run, a module of the student's: its last frame
        installed = os.path.dirname(os.path.dirname(  # site-packages (IPython's folder's)
            os.path.abspath(getattr(sys.modules.get("IPython"), "__file__", "") or "/")))
        files = [(f, n, f) for f, n in frames
                 if not os.path.abspath(f).startswith((_KIT_DIR + os.sep, installed + os.sep))]
        cells = files[-1:]
    picked = cells[:1] + cells[-1:] if len(cells) > 1 and cells[0][:2] != cells[-1][:2] \
        else cells[:1]
    green, reset = (_GREEN, _RESET) if color else ("", "")
    lines = []
    for i, (filename, lineno, name) in enumerate(picked):
        lead = "in" if i == 0 else "  which failed in"
        lines.append(f"{green}{lead} {name}, line {lineno}:{reset} "
                     f"{_source_line(filename, lineno)}".rstrip())
    return lines


def check_failure(error: AssertionError) -> list[str]:
    """The failed check as IPython shows it: ``Test failed: <message>``, then where."""
    shell = _shell()
    color = str(getattr(shell, "colors", "")).lower() != "nocolor"
    red, reset = (_RED, _RESET) if color else ("", "")
    message = str(error).splitlines() or ["(no message)"]
    lines = [f"{red}Test failed:{reset} {message[0]}", *message[1:]]
    if shell is not None:
        lines += _failure_location(error, shell, color)
    context = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    if context is not None and not isinstance(context, type(error)):
        about = (str(context).splitlines() or [""])[0][:_MAX_SOURCE]
        lines.append(f"(raised while handling {type(context).__name__}: {about})")
    return lines
