"""nbgrader preprocessors that close the holes nbgrader 0.9.6 leaves open.

Sanitising (before execution):
- :class:`RestoreMissingCells` puts back locked and test cells a student deleted (nbgrader
  would leave them "needing manual grade" forever), in their released position.

Autograding (around execution):
- :class:`SafeExecute` runs the kernel (sandboxed when configured), caps output per cell and
  per notebook, limits a notebook's wall time, and survives a kernel that dies: the cells
  already run keep their results, the rest fail with a clear message.
- :class:`StderrToStdout` keeps warnings visible but stops them from zeroing a correct test
  cell (nbgrader scores any stderr output in a test cell as a failure).
- :class:`FlagTampering` scores zero every test cell that runs after a student cell that
  redefines what tests rely on (see :mod:`dlutils.cheats`).

Feedback (what the student reads):
- :class:`HideHiddenTests` removes hidden test code from test cells;
- :class:`ShortTracebacks` shows errors as "Name: message", never the failing source line.

Preprocessors report what they did to :data:`EVENTS`, read by the grading pipeline.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_locked, is_solution
from traitlets import Bool, Integer, Unicode

from . import cheats, sandbox

__all__ = ["EVENTS", "FlagTampering", "HideHiddenTests", "RestoreMissingCells", "SafeExecute",
           "ShortTracebacks", "StderrToStdout"]

# What happened to the notebook being graded, for the pipeline's state file.
EVENTS: dict[str, Any] = {}
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*$",
                    re.MULTILINE | re.DOTALL)
WARNING_LINE = re.compile(r"^\S.*?:\d+: (\w+(?:Warning|Error)): (.*)$")


def reset_events() -> None:
    EVENTS.clear()
    EVENTS.update(findings=[], zeroed_cells=[], kernel_died=False, notes=[])


reset_events()


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[f"{ename}: {evalue}"])


class RestoreMissingCells(NbGraderPreprocessor):
    """Re-insert deleted locked/test cells from the released notebook, in their place."""

    release_root = Unicode("", help="the course's release/ folder").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources.get("nbgrader", {})
        template = Path(self.release_root) / info.get("assignment", "") / (
            info.get("notebook", "") + ".ipynb")
        if not self.release_root or not template.is_file():
            return nb, resources
        released = nbformat.read(template, as_version=4)
        present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        position = {c.metadata.get("nbgrader", {}).get("grade_id"): i
                    for i, c in enumerate(nb.cells)}
        insert_at = 0
        for cell in released.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in present:
                insert_at = nb.cells.index(nb.cells[position[grade_id]]) + 1
                continue
            if grade_id and (is_grade(cell) or is_locked(cell)) and not is_solution(cell):
                nb.cells.insert(insert_at, cell)
                position = {c.metadata.get("nbgrader", {}).get("grade_id"): i
                            for i, c in enumerate(nb.cells)}
                present.add(grade_id)
                insert_at += 1
                EVENTS["notes"].append(f"restored deleted cell {grade_id}")
        return nb, resources


class SafeExecute(Execute):
    """nbgrader's Execute with output caps, a notebook time limit and dead-kernel survival."""

    max_cell_output_bytes = Integer(1_000_000).tag(config=True)
    max_notebook_output_bytes = Integer(5_000_000).tag(config=True)
    notebook_timeout = Integer(600, help="seconds for the whole notebook").tag(config=True)
    sandboxed = Bool(False, help="run the kernel in the bubblewrap sandbox").tag(config=True)
    # Output that arrived before an interrupt still has to drain (and be dropped): give IOPub
    # longer than nbclient's 4 s before a quiet channel counts as a dead kernel.
    iopub_timeout = Integer(30).tag(config=True)

    def create_kernel_manager(self):
        # nbgrader's Execute forces its own kernel manager class and nbclient takes the kernel
        # name from the notebook: choose both here, where nothing overrides them.
        if not self.sandboxed:
            return super().create_kernel_manager()
        self.kernel_name = sandbox.KERNEL_NAME
        self.km = sandbox.SandboxKernelManager(kernel_name=self.kernel_name, config=self.config)
        return self.km

    def preprocess(self, nb, resources=None, km=None):
        self._dead = False
        self._output_bytes: dict[int, int] = {}
        self._truncated: set[int] = set()
        self._kept_bytes = 0
        self._alarm_set = False
        if self.notebook_timeout and hasattr(signal, "SIGALRM"):
            signal.signal(signal.SIGALRM, self._on_notebook_timeout)
            signal.alarm(self.notebook_timeout)
            self._alarm_set = True
        try:
            return super().preprocess(nb, resources, km)
        finally:
            if self._alarm_set:
                signal.alarm(0)

    def _on_notebook_timeout(self, signum, frame) -> None:
        EVENTS["notes"].append(f"notebook exceeded {self.notebook_timeout} s: kernel stopped")
        self._kill_kernel()

    def _kill_kernel(self) -> None:
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def preprocess_cell(self, cell, resources, index):
        if self._dead:
            if cell.cell_type == "code":
                cell.outputs = [_error_output(
                    "KernelDied", "not run: the kernel died in an earlier cell")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError) as exc:
            self._kill_kernel()  # a kernel that cannot be interrupted is ended
            self._dead = True
            EVENTS["kernel_died"] = True
            EVENTS["notes"].append(f"kernel died in cell {index} ({type(exc).__name__}: "
                                   f"{str(exc)[:200]})")
            cell.outputs.append(_error_output(
                "KernelDied", "the kernel died while running this cell (memory, time or "
                "a crash); later cells were not run"))
            return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        size = _content_size(msg.get("content", {}))
        in_cell = self._output_bytes.get(cell_index, 0) + size
        self._output_bytes[cell_index] = in_cell
        if in_cell > self.max_cell_output_bytes:
            if cell_index not in self._truncated:
                self._truncated.add(cell_index)
                EVENTS["notes"].append(f"output of cell {cell_index} truncated; cell stopped")
                outs.append(_notice("this cell printed more than the grader keeps, so it was "
                                    "stopped"))
                # Stop the flood at its source: the cell is interrupted (KeyboardInterrupt),
                # the kernel lives on for the next cells.
                asyncio.ensure_future(self.km.interrupt_kernel())
            return None
        if self._kept_bytes + size > self.max_notebook_output_bytes:
            if cell_index not in self._truncated:
                self._truncated.add(cell_index)
                EVENTS["notes"].append(f"output of cell {cell_index} dropped: notebook limit")
                outs.append(_notice("the notebook printed more than the grader keeps"))
            return None
        self._kept_bytes += size
        return super().output(outs, msg, display_id, cell_index)


def _notice(text: str) -> NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=f"\n[output truncated: {text}]\n")


def _content_size(content: dict) -> int:
    """Characters an output message carries (text, data, traceback), without copying it."""
    size = len(content.get("text", ""))
    for value in content.get("data", {}).values():
        size += len(value) if isinstance(value, str) else len(json.dumps(value))
    return size + sum(len(line) for line in content.get("traceback", []))


class StderrToStdout(NbGraderPreprocessor):
    """Turn stderr streams into stdout, warnings reduced to "Category: message"."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stderr":
                output.name = "stdout"
                output.text = _short_warnings(output.text)
        return cell, resources


def _short_warnings(text: str) -> str:
    lines, skip_echo = [], False
    for line in text.splitlines(keepends=True):
        match = WARNING_LINE.match(line.rstrip("\n"))
        if match:
            lines.append(f"{match.group(1)}: {match.group(2)}\n")
            skip_echo = True  # the next indented line echoes the source: never show it
        elif skip_echo and line.startswith((" ", "\t")):
            skip_echo = False
        else:
            skip_echo = False
            lines.append(line)
    return "".join(lines)


class FlagTampering(NbGraderPreprocessor):
    """Zero every test cell run after a student cell that tampers with what tests rely on."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        findings = cheats.scan_notebook(nb)
        if not findings:
            return nb, resources
        EVENTS["findings"] = [f.__dict__ for f in findings]
        first = min(f.cell_index for f in findings)
        reason = "; ".join(sorted({f.reason for f in findings}))
        for index, cell in enumerate(nb.cells):
            if index > first and is_grade(cell) and cell.cell_type == "code":
                cell.outputs = [_error_output(
                    "TamperingDetected", f"this test scored 0: an earlier cell of yours "
                    f"changes what the tests rely on ({reason})")]
                EVENTS["zeroed_cells"].append(cell.metadata["nbgrader"]["grade_id"])
        return nb, resources


class HideHiddenTests(NbGraderPreprocessor):
    """Replace hidden test code in test cells with a one-line note."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            cell.source = HIDDEN.sub("# (hidden tests ran here; their code is not shown)",
                                     cell.source)
        return cell, resources


class ShortTracebacks(NbGraderPreprocessor):
    """Errors as "Name: message" only: a traceback would print the failing (hidden) line."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
            elif output.output_type == "stream":
                output.text = _short_warnings(output.text)
        return cell, resources
