"""The grading pipeline: nbgrader's autograde and feedback, made safe, parallel and resumable.

For every submission ``submitted/<student>/<assignment>/`` (never modified) the pipeline

1. stages a copy in ``grading-input/`` (nbgrader's input here): an unreadable notebook becomes
   an error row, a renamed notebook is matched to the released one, duplicated cell ids are
   renumbered;
2. runs nbgrader's autograde with the :mod:`dlutils.safeguards` preprocessors, the kernel
   sandboxed by :mod:`dlutils.sandbox`, in a worker process (``jobs`` at a time);
3. writes feedback HTML without hidden test code;
4. records a state file ``grading-state/<assignment>/<student>.json`` (status, error, the
   submission's hash, tampering findings, zeroed cells, notes).

A submission whose state says "graded" for the same content is skipped, so a re-run is
idempotent and an interrupted run resumes where it stopped. A changed submission has its old
grades removed first: no stale score survives a resubmission.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import nbformat

from . import grading, safeguards, sandbox

__all__ = ["Options", "configure", "generate", "grade", "stage_submission", "state_path"]

STAGING = "grading-input"
STATE = "grading-state"


@dataclass(frozen=True)
class Options:
    """How to grade: workers, sandbox, limits and whether to redo finished work."""

    jobs: int = 1
    use_sandbox: bool = True
    force: bool = False
    cell_timeout: int = 60
    notebook_timeout: int = 600
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    feedback: bool = True


def configure(config: Any, course_root: Path, options: Options) -> Any:
    """Add the safeguards (and the sandbox) to an nbgrader config for ``course_root``."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader import preprocessors as pp

    config.CourseDirectory.submitted_directory = STAGING
    config.Autograde.sanitize_preprocessors = [
        pp.ClearOutput, pp.DeduplicateIds, safeguards.RestoreMissingCells,
        pp.OverwriteKernelspec, pp.OverwriteCells, pp.CheckCellMetadata]
    config.Autograde.autograde_preprocessors = [
        safeguards.SafeExecute, safeguards.StderrToStdout, safeguards.FlagTampering,
        ClearMetadataPreprocessor, pp.LimitOutput, pp.SaveAutoGrades,
        pp.AssignLatePenalties, pp.CheckCellMetadata]
    config.GenerateFeedback.preprocessors = [
        pp.GetGrades, safeguards.HideHiddenTests, safeguards.ShortTracebacks,
        CSSHTMLHeaderPreprocessor]
    config.RestoreMissingCells.release_root = str(course_root / "release")
    config.SafeExecute.timeout = options.cell_timeout
    config.SafeExecute.notebook_timeout = options.notebook_timeout
    config.SafeExecute.sandboxed = options.use_sandbox
    return config


def state_path(course_root: Path, assignment: str, student: str) -> Path:
    return course_root / STATE / assignment / f"{student}.json"


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _write_state(course_root: Path, state: dict) -> None:
    path = state_path(course_root, state["assignment"], state["student"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    tmp.replace(path)  # atomic: a killed run leaves either the old state or the new one


def stage_submission(course_root: Path, assignment: str, student: str) -> list[str]:
    """Copy a submission into the staging folder, repaired; return notes (raise on failure)."""
    src = course_root / "submitted" / student / assignment
    dest = course_root / STAGING / student / assignment
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, symlinks=False)
    expected = sorted(p.name for p in (course_root / "release" / assignment).glob("*.ipynb"))
    notes = []
    for path in sorted(dest.glob("*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as exc:  # any parse error: the submission cannot be graded as is
            raise ValueError(f"{path.name} is not a readable notebook: {exc}") from exc
        if _renumber_duplicate_ids(nb) | _keep_last_duplicate_grade_id(nb):
            nbformat.write(nb, path)
            notes.append(f"{path.name}: duplicated cells: the last copy of each is graded")
    present = sorted(p.name for p in dest.glob("*.ipynb"))
    missing = [name for name in expected if name not in present]
    extra = [name for name in present if name not in expected]
    if len(missing) == 1 and len(extra) == 1:
        (dest / extra[0]).rename(dest / missing[0])
        notes.append(f"notebook renamed by the student: graded {extra[0]} as {missing[0]}")
    elif missing:
        notes.append(f"missing notebooks: {missing}")
    return notes


def _keep_last_duplicate_grade_id(nb: nbformat.NotebookNode) -> bool:
    """A copied solution cell: the last copy keeps the nbgrader metadata (it defines what the
    tests see); earlier copies become plain cells (nbgrader's own fix leaves an empty
    metadata dict that then fails as "an old version" of the format)."""
    seen, changed = set(), False
    for cell in reversed(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            continue
        if grade_id in seen:
            del cell.metadata["nbgrader"]
            changed = True
        seen.add(grade_id)
    return changed


def _renumber_duplicate_ids(nb: nbformat.NotebookNode) -> bool:
    seen, changed = set(), False
    for index, cell in enumerate(nb.cells):
        cell_id = cell.get("id")
        if cell_id is not None and cell_id in seen:
            cell["id"] = f"{cell_id}-dup{index}"[:64]
            changed = True
        seen.add(cell.get("id"))
    return changed


def _grade_one(course_root: Path, assignment: str, student: str, options: Options,
               digest: str) -> dict:
    """Worker: stage, autograde and write feedback for one submission; never raises."""
    start = time.perf_counter()
    state = {"student": student, "assignment": assignment, "status": "error", "error": None,
             "submission_sha256": digest, "seconds": 0.0, "findings": [],
             "zeroed_cells": [], "kernel_died": False, "notes": []}
    safeguards.reset_events()
    with tempfile.TemporaryDirectory(prefix="nndl-worker-") as tmp:
        os.environ["JUPYTER_RUNTIME_DIR"] = tmp
        os.chmod(tmp, 0o700)
        if options.use_sandbox:
            kernels = sandbox.install_kernelspec(Path(tmp) / "share")
            os.environ["JUPYTER_PATH"] = str(kernels)
            os.environ.update(options.limits.to_env())
        try:
            state["notes"] += stage_submission(course_root, assignment, student)
            api = _worker_api(course_root, options)
            result = api.autograde(assignment, student, force=True, create=True)
            if not result["success"]:
                state["log"] = result["log"][-6000:]
                raise RuntimeError(_last_error(result["log"]))
            if options.feedback:
                api.generate_feedback(assignment, student, force=True)
            state["status"] = "graded"
        except Exception as exc:  # one broken submission must not stop the run
            state["error"] = f"{type(exc).__name__}: {exc}"
    for key in ("findings", "zeroed_cells", "kernel_died"):
        state[key] = safeguards.EVENTS[key]
    state["notes"] += safeguards.EVENTS["notes"]
    state["seconds"] = round(time.perf_counter() - start, 3)
    return state


@functools.cache
def _worker_api(course_root: Path, options: Options):
    """One configured NbGraderAPI per worker process (its set-up costs a fraction of a second)."""
    return grading._api(course_root, lambda c: configure(c, course_root, options))


def _last_error(log: str) -> str:
    """The informative end of nbgrader's log: its last error lines."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "[ERROR]" in line]
    return " | ".join((errors or lines or ["autograde failed without a log"])[-3:])[:1000]


def pending(course_root: Path, assignments: list[str], students: list[str] | None,
            force: bool) -> list[tuple[str, str, str]]:
    """(assignment, student, digest) of every submission that still needs grading; a changed
    submission's old grades are removed from the gradebook first (one session for all)."""
    from nbgrader.api import Gradebook, MissingEntry

    todo, stale = [], []
    for assignment in assignments:
        for folder in sorted((course_root / "submitted").glob(f"*/{assignment}")):
            student = folder.parent.name
            if students and student not in students:
                continue
            digest = _digest(folder)
            path = state_path(course_root, assignment, student)
            old = json.loads(path.read_text()) if path.exists() else {}
            same = old.get("submission_sha256") == digest
            if same and old.get("status") == "graded" and not force:
                continue
            if not same:
                stale.append((assignment, student))
            todo.append((assignment, student, digest))
    if stale:
        with Gradebook(grading._api(course_root).coursedir.db_url) as gb:
            for assignment, student in stale:
                try:
                    gb.remove_submission(assignment, student)
                except MissingEntry:
                    pass
    return todo


def generate(course_root: Path, assignments: list[str]) -> None:
    """nbgrader's generate_assignment: the gradebook learns each assignment's tests."""
    api = grading._api(course_root)
    for assignment in assignments:
        result = api.generate_assignment(assignment, force=True)
        if not result["success"]:
            raise RuntimeError(f"generate_assignment {assignment} failed:\n{result['log']}")


def grade(course_root: Path, assignments: list[str], students: list[str] | None = None,
          options: Options | None = None, progress: bool = True) -> list[dict]:
    """Grade every pending submission of ``assignments``; return the new state records."""
    options = options or Options()
    if options.use_sandbox:
        sandbox.check_available()
    generate(course_root, assignments)
    todo = pending(course_root, assignments, students, options.force)
    states = []
    bar = _progress(len(todo), progress)
    # forkserver: workers start from a clean process that has already imported the grader,
    # so starting one costs little and no state of this process leaks into them.
    context = get_context("forkserver")
    context.set_forkserver_preload(["dlutils.pipeline", "nbgrader.apps", "nbconvert"])
    with ProcessPoolExecutor(max_workers=max(1, options.jobs), mp_context=context) as pool:
        futures = [pool.submit(_grade_one, course_root, a, s, options, d)
                   for a, s, d in todo]
        for future in as_completed(futures):
            state = future.result()
            _write_state(course_root, state)
            states.append(state)
            bar.update(1)
    bar.close()
    return states


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="grading", unit="submission", disable=not enabled)
