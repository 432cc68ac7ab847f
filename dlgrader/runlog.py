"""The log of a grading run (``grading-state/grade.log``): warnings, nbgrader's log and the
kernels' output go there, not to the terminal, which shows only the progress bar and the
summary."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from pathlib import Path

__all__ = ["LOG", "here", "move_output", "start", "start_worker"]

LOG = "grade.log"
LOG_FORMAT = "%(asctime)s %(processName)s %(levelname)s %(name)s: %(message)s"
OUTPUT_KEPT = 32_000  # bytes of a submission's worker and kernel output logged, from each end
_LOG: Path | None = None  # in a grading worker: the run's log (see start_worker)
_OUTPUT: Path | None = None  # in a grading worker: where its and its kernels' output goes


def start(folder: Path) -> Path:
    """A fresh log for this run in ``folder``; the previous run's is kept as ``grade.log.1``."""
    path = folder / LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size:
        path.replace(path.with_name(LOG + ".1"))
    path.write_text(f"grading run of {time.strftime('%Y-%m-%d %H:%M:%S %z')}: warnings, "
                    "nbgrader's log and the kernels' output\n")
    return path


def start_worker(path: Path, output: Path) -> None:
    """In a grading worker: Python warnings and logging records (nbgrader's and traitlets'
    included) go to the run's log ``path``; whatever is written to its stdout and stderr, and
    by the kernels it starts (jupyter_client lets a kernel inherit them), goes to ``output``,
    which :func:`move_output` moves into the log after each submission."""
    global _LOG, _OUTPUT
    _LOG, _OUTPUT = path, output
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(_OUTPUT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    handler = logging.FileHandler(_LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(_worth_logging)
    logging.basicConfig(handlers=[handler], level=logging.WARNING, force=True)
    logging.getLogger("dlgrader").setLevel(logging.INFO)
    logging.captureWarnings(True)


def _worth_logging(record: logging.LogRecord) -> bool:
    """Warnings and errors, and the grader's own progress (not nbgrader's chatter)."""
    return record.levelno >= logging.WARNING or record.name.startswith("dlgrader")


@contextlib.contextmanager
def here(path: Path):
    """While grading, this process's warnings and logging records go to the log too (its
    terminal shows only the progress bar); restored afterwards."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)

    def to_log(message, category, filename, lineno, file=None, line=None):
        handler.stream.write(warnings.formatwarning(message, category, filename, lineno, line))
        handler.flush()

    try:
        with warnings.catch_warnings():
            warnings.showwarning = to_log
            yield
    finally:
        root.removeHandler(handler)
        handler.close()


def move_output(what: str) -> None:
    """The output written to this worker's stdout and stderr (its kernels' included) since
    the last call moves to the log, indented under a header naming ``what``, the middle of a
    long one cut; the output file starts empty again, so it never nears the kernels'
    file-size limit."""
    if _LOG is None or _OUTPUT is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    with contextlib.suppress(OSError):
        with open(_OUTPUT, "r+b") as fh:
            size = os.fstat(fh.fileno()).st_size
            data = fh.read(OUTPUT_KEPT)
            if size > 2 * OUTPUT_KEPT:
                fh.seek(size - OUTPUT_KEPT)
                data += (f"\n[... {size - 2 * OUTPUT_KEPT} bytes cut ...]\n".encode()
                         + fh.read(OUTPUT_KEPT))
            elif size > OUTPUT_KEPT:
                data += fh.read(OUTPUT_KEPT)
            fh.truncate(0)
        text = data.decode(errors="replace").rstrip()
        if text.strip():
            block = "".join(f"  | {line}\n" for line in text.splitlines())
            with open(_LOG, "a", encoding="utf-8") as log_file:
                log_file.write(f"output of the worker and its kernels while grading "
                               f"{what}:\n{block}")
