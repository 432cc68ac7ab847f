"""nbgrader preprocessors that close the holes nbgrader 0.9.6 leaves open.

Sanitising (before execution):
- :class:`RestoreMissingCells` puts back locked and test cells a student deleted (nbgrader
  would leave them "needing manual grade" forever), in their released position, and names
  the ones a student edited (nbgrader's OverwriteCells restores those silently): a note in
  the state record and a markdown note above the cell, in the autograded notebook and the
  feedback.

Autograding (around execution):
- :class:`SafeExecute` runs the student's cells in the kernel (sandboxed when configured) and
  every test cell in the trusted judge of this process (:mod:`dlgrader.judge`), which talks to
  the kernel in plain data only; it caps output per cell and per notebook, limits a notebook's
  wall time, and survives a kernel that dies: the cells already run keep their results, the
  rest fail with a clear message.
- :class:`StderrToStdout` keeps warnings visible but stops them from zeroing a correct test
  cell (nbgrader scores any stderr output in a test cell as a failure).
- :class:`FlagTampering` records student cells that look like tampering (see
  :mod:`dlgrader.cheats`) for the instructor's report; it changes no score.

Feedback (what the student reads):
- :class:`HideHiddenTests` removes hidden test code from test cells;
- :class:`ShortTracebacks` shows errors as "Name: message", never the failing source line.

Preprocessors report what they did to :data:`EVENTS`, read by the grading pipeline.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any

import nbformat
from jupyter_core.paths import jupyter_runtime_dir
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import compute_checksum, is_grade, is_locked, is_solution
from traitlets import Bool, Integer, Unicode

from . import cheats, judge, sandbox

__all__ = ["EVENTS", "FlagTampering", "GradeWithTheKit", "HideHiddenTests",
           "RestoreMissingCells", "SafeExecute", "ShortTracebacks", "StderrToStdout"]

# What happened to the notebook being graded, for the pipeline's state file.
EVENTS: dict[str, Any] = {}
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*$",
                    re.MULTILINE | re.DOTALL)
WARNING_LINE = re.compile(r"^\S.*?:\d+: (\w+(?:Warning|Error)): (.*)$")


AGENT_GRACE_SECONDS = 10  # for the kernel to finish the grader's request after the judge
# The kernel started ahead for this worker's next notebook (see SafeExecute.prestart).
_SPARE: sandbox.SpareKernel | None = None


def _discard_spare() -> None:
    if _SPARE is not None:
        _SPARE.discard()


# multiprocessing workers end with os._exit: their finalizers run, atexit handlers do not
atexit.register(_discard_spare)
Finalize(None, _discard_spare, exitpriority=10)


def reset_events() -> None:
    EVENTS.clear()
    EVENTS.update(findings=[], zeroed_cells=[], kernel_died=False, notes=[], timeouts=[],
                  judge_seconds=0.0)


reset_events()


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[f"{ename}: {evalue}"])


class GradeWithTheKit(NbGraderPreprocessor):
    """Stands in nbgrader_config.py for nbgrader's own autograde and feedback (the
    formgrader's buttons): they would run tests in the student's kernel and show hidden tests,
    so they stop with the command that grades safely. The pipeline replaces it."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources.get("nbgrader", {})
        raise RuntimeError(
            "nbgrader's own autograde and feedback are switched off in this course kit: they "
            "would run the tests in the student's kernel and put hidden tests into feedback. "
            f"Grade with: ./course grade {info.get('assignment', 'ASSIGNMENT')} --student "
            f"{info.get('student', 'STUDENT')} (sandbox, trusted judge, feedback and state "
            "records; it also restores the autograded copy or feedback that nbgrader removed "
            "before this message); then the formgrader's Release Feedback sends that feedback.")


class RestoreMissingCells(NbGraderPreprocessor):
    """Re-insert deleted locked/test cells from the released notebook, in their place, and
    name the locked/test cells the submission changed (nbgrader's OverwriteCells, which runs
    after this, restores those silently). Each restored cell gets a note in the state record
    and a markdown note just above it, which the autograded notebook and the student's
    feedback show."""

    release_root = Unicode("", help="the course's release/ folder").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources.get("nbgrader", {})
        template = Path(self.release_root) / info.get("assignment", "") / (
            info.get("notebook", "") + ".ipynb")
        if not self.release_root or not template.is_file():
            return nb, resources
        released = nbformat.read(template, as_version=4)
        self._note_edited(nb, released, _graded_sources(info))
        present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        position = {c.metadata.get("nbgrader", {}).get("grade_id"): i
                    for i, c in enumerate(nb.cells)}
        insert_at = 0
        for cell in released.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in present:
                insert_at = nb.cells.index(nb.cells[position[grade_id]]) + 1
                continue
            if _restorable(cell):
                nb.cells.insert(insert_at, _note_cell(
                    f"this {_kind(cell)} was missing from the submission: it was put "
                    "back as released" + (" and graded." if is_grade(cell) else ".")))
                nb.cells.insert(insert_at + 1, cell)
                position = {c.metadata.get("nbgrader", {}).get("grade_id"): i
                            for i, c in enumerate(nb.cells)}
                present.add(grade_id)
                insert_at += 2
                EVENTS["notes"].append(f"restored deleted cell {grade_id}")
        return nb, resources

    @staticmethod
    def _note_edited(nb: NotebookNode, released: NotebookNode,
                     graded: dict[str, tuple[str, str]]) -> None:
        """Note each locked/test cell whose source, type or points differ from the release
        (OverwriteCells will put back the gradebook's cell: the released one with its hidden
        tests). A cell exactly as the gradebook holds it (a source notebook submitted, as the
        self-check does) is not changed."""
        originals = {c.metadata.nbgrader["grade_id"]: c for c in released.cells
                     if _restorable(c)}
        cells = []
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            original = originals.get(grade_id)
            changed = None if original is None else _changed(
                cell, original, graded.get(grade_id))
            if changed:
                grade_id = original.metadata.nbgrader["grade_id"]
                kind = _kind(original)
                if changed == EARLIER_RELEASE:
                    EVENTS["notes"].append(
                        f"replaced the {kind} {grade_id} by the current release (the "
                        "submission held an earlier released version of it)")
                    text = (f"this {kind} was replaced by its current released version before "
                            "grading (the submission held an earlier one).")
                else:
                    EVENTS["notes"].append(
                        f"restored the {kind} {grade_id} (the submission had changed {changed})")
                    text = (f"the submission had changed this {kind}: it was restored as "
                            "released" + (" and graded as such" if is_grade(original) else "")
                            + " (the change was not used).")
                cells.append(_note_cell(text))
            cells.append(cell)
        nb.cells = cells


EARLIER_RELEASE = "an earlier release"


def _restorable(cell: NotebookNode) -> bool:
    """A released cell that nbgrader keeps as released: a locked or test cell, no solution."""
    return bool(cell.metadata.get("nbgrader", {}).get("grade_id")) and (
        is_grade(cell) or is_locked(cell)) and not is_solution(cell)


def _kind(cell: NotebookNode) -> str:
    return "test cell" if is_grade(cell) else f"locked {cell.cell_type} cell"


def _graded_sources(info: dict) -> dict[str, tuple[str, str]]:
    """grade_id -> (source, cell type) of the notebook's cells in the gradebook (what
    OverwriteCells restores); empty when the gradebook does not know the notebook."""
    from nbgrader.api import Gradebook

    if not info.get("db_url"):
        return {}
    try:
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            return {c.name: (c.source, c.cell_type) for c in notebook.source_cells}
    except Exception:  # no such notebook or assignment (yet): compare with the release only
        return {}


def _changed(cell: NotebookNode, original: NotebookNode,
             graded: tuple[str, str] | None = None) -> str | None:
    """What the submission changed in a released locked/test cell, in words; None when it is
    as released (or as the gradebook holds it); :data:`EARLIER_RELEASE` when it differs but
    still matches the checksum it was released with (the release was regenerated after it
    was handed out)."""
    meta = cell.metadata.get("nbgrader", {})
    edited = ((cell.source, cell.cell_type) != (original.source, original.cell_type)
              and (cell.source, cell.cell_type) != graded)
    if edited:
        try:
            intact = meta.get("checksum") == compute_checksum(cell)
        except Exception:  # metadata too broken to compute a checksum from
            intact = False
        if not intact:
            return "it"
    if is_grade(original):
        want, got = original.metadata.nbgrader.get("points"), meta.get("points")
        try:
            if float(got) != float(want):
                return f"its points from {float(want):g} to {float(got):g}"
        except (TypeError, ValueError):
            return "its points"
    return EARLIER_RELEASE if edited else None


def _note_cell(text: str) -> NotebookNode:
    """A markdown note from the grader (no nbgrader metadata: it is not graded)."""
    cell = nbformat.v4.new_markdown_cell(f"> **Note from the grader:** {text}")
    cell.metadata["tags"] = ["grader-note"]
    return cell


class SafeExecute(Execute):
    """nbgrader's Execute with output caps, a notebook time limit and dead-kernel survival."""

    max_cell_output_bytes = Integer(1_000_000).tag(config=True)
    max_notebook_output_bytes = Integer(5_000_000).tag(config=True)
    notebook_timeout = Integer(600, help="seconds for the whole notebook").tag(config=True)
    sandboxed = Bool(False, help="run the kernel in the bubblewrap sandbox").tag(config=True)
    # Output that arrived before an interrupt still has to drain (and be dropped): give IOPub
    # longer than nbclient's 4 s before a quiet channel counts as a dead kernel.
    iopub_timeout = Integer(30).tag(config=True)
    source_root = Unicode("", help="the course's source/ folder: the trusted judge reads the "
                          "imports and reference solutions of each notebook there").tag(config=True)
    call_timeout = Integer(10, help="seconds one call of a student function may take in a "
                           "test").tag(config=True)
    prestart = Bool(True, help="with the sandbox: start the next notebook's kernel while this "
                    "one runs").tag(config=True)

    def create_kernel_manager(self):
        # nbgrader's Execute forces its own kernel manager class and nbclient takes the kernel
        # name from the notebook: choose both here, where nothing overrides them.
        if not self.sandboxed:
            km = super().create_kernel_manager()
            self._judge_dir = Path(tempfile.mkdtemp(prefix="nndl-judge-"))
            self._listener = judge.listen(self._judge_dir)
            return km
        self.kernel_name = sandbox.KERNEL_NAME
        self.km = sandbox.SandboxKernelManager(kernel_name=self.kernel_name, config=self.config)
        self._listener = judge.listen(self.km._sandbox_dir)  # before any student code runs
        return self.km

    async def async_start_new_kernel(self, **kwargs):
        # The kernel works in a folder of its own: the submission's files without the
        # notebook, whose restored test cells hold the hidden tests.
        kwargs.setdefault("cwd", str(self._workdir))
        await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    def preprocess(self, nb, resources=None, km=None):
        self._dead = False
        self._output_bytes: dict[int, int] = {}
        self._truncated: set[int] = set()
        self._kept_bytes = 0
        self._alarm_set = False
        self._judge = None
        self._judge_dir = None
        self._listener = None
        folder = Path((resources or {}).get("metadata", {}).get("path") or ".")
        spare = None
        if km is None and self.sandboxed and self.prestart:
            km, spare = self._take_spare(folder)
        if spare is not None:
            self._workdir = spare.slot
        else:
            self._workdir = Path(tempfile.mkdtemp(prefix="nndl-work-", dir=jupyter_runtime_dir()))
            sandbox.copy_workfiles(folder, self._workdir)
        if self.notebook_timeout and hasattr(signal, "SIGALRM"):
            signal.signal(signal.SIGALRM, self._on_notebook_timeout)
            signal.alarm(self.notebook_timeout)
            self._alarm_set = True
        try:
            return super().preprocess(nb, resources, km)
        finally:
            if self._alarm_set:
                signal.alarm(0)
            if spare is not None and self.km is not None:  # a kernel handed over is ours
                self._cleanup_kernel()
            shutil.rmtree(self._workdir, ignore_errors=True)
            if self._judge is not None:
                EVENTS["timeouts"] += self._judge.timeouts
                self._judge.close()
            elif self._listener is not None:
                self._listener.close()
            if self._judge_dir is not None:
                shutil.rmtree(self._judge_dir, ignore_errors=True)

    def _take_spare(self, folder: Path):
        """(kernel manager, spare) of the kernel started ahead, or (None, None); either way
        a new spare starts for this worker's next notebook."""
        global _SPARE
        spare, _SPARE = _SPARE, None
        km = spare.take(folder) if spare is not None else None
        if km is None:
            spare = None
        else:
            self._listener = spare.prepared
        self.kernel_name = sandbox.KERNEL_NAME
        _SPARE = sandbox.SpareKernel(self.config, before_start=judge.listen)
        return km, spare

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
        if cell.cell_type == "code" and is_grade(cell):
            return self._judge_cell(cell, resources, index), resources
        return self._run_cell(cell, resources, index)

    def _make_judge(self, resources) -> judge.Judge:
        info = (resources or {}).get("nbgrader", {})
        notebook = Path(self.source_root) / info.get("assignment", "") / (
            info.get("notebook", "") + ".ipynb")
        if not self.source_root or not notebook.is_file():
            raise RuntimeError(f"the trusted judge needs the source notebook {notebook} "
                               "(SafeExecute.source_root)")
        return judge.Judge(judge.Reference.load(notebook), Path("."),
                           call_limit=self.call_timeout, on_unresponsive=self._end_kernel,
                           listener=self._listener)

    def _end_kernel(self) -> None:
        """The judge gave up on the kernel (it did not answer in time): end it, say so."""
        if not self._dead:
            EVENTS["kernel_died"] = True
            EVENTS["notes"].append("the kernel did not answer the grader in time and was ended")
        self._kill_kernel()

    def _judge_cell(self, cell, resources, index):
        """A test cell runs in the judge (this process); the kernel only answers its calls."""
        if self._judge is None:
            self._judge = self._make_judge(resources)
        start = time.perf_counter()
        stop = threading.Event()
        result: list[judge.CellOutcome] = []
        grade_id = cell.metadata["nbgrader"].get("grade_id", "")
        def work():
            result.append(self._judge.run_cell(cell.source, grade_id, stop))
            # the judge is done: a kernel still busy with the grader's request is ended
            if not stop.wait(AGENT_GRACE_SECONDS):
                self._end_kernel()

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        agent = nbformat.v4.new_code_cell(self._judge.agent_code())
        saved_timeout, self.timeout = self.timeout, self.notebook_timeout
        try:
            self._run_cell(agent, resources, index, store_history=False)
        finally:
            self.timeout = saved_timeout
            stop.set()
            worker.join()
            self.nb.cells[index] = cell
        cell.outputs = result[0].outputs() if result else [_error_output(
            "GraderError", "the grader could not run this test")]
        cell.execution_count = None
        EVENTS["judge_seconds"] += time.perf_counter() - start
        return cell

    def _run_cell(self, cell, resources, index, store_history=True):
        self._check_assign_resources(resources)
        try:
            return self.execute_cell(cell, index, store_history=store_history), self.resources
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
    """Report student cells that look like tampering (a signal for the instructor's report).

    Since test cells run in the trusted judge, nothing a student cell does in its own kernel
    can change a test's verdict: the findings cost no points, they point an instructor at
    suspicious code (with the cell and line).
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        findings = cheats.scan_notebook(nb)
        if findings:
            EVENTS["findings"] = [f.__dict__ for f in findings]
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
