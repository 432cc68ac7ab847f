"""The grading pipeline: nbgrader's autograde and feedback, made safe, parallel and resumable.

For every submission ``submitted/<student>/<assignment>/`` (never modified) the pipeline

1. stages a copy in ``grading-input/`` (nbgrader's input here): an unreadable notebook becomes
   an error row, a renamed notebook is matched to the released one, duplicated cell ids are
   renumbered;
2. runs nbgrader's autograde with the :mod:`dlgrader.safeguards` preprocessors, the kernel
   sandboxed by :mod:`dlgrader.sandbox`, in a worker process (``jobs`` at a time);
3. writes feedback HTML without hidden test code;
4. records a state file ``grading-state/<assignment>/<student>.json`` (status, error, the
   submission's hash, tampering findings, zeroed cells, notes).

A submission whose state says "graded" for the same content is skipped, so a re-run is
idempotent and an interrupted run resumes where it stopped. A changed submission has its old
grades removed first: no stale score survives a resubmission.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any

import nbformat

from . import feedback, grading, late, roster, runlog, safeguards, sandbox

__all__ = ["Options", "autograde", "configure", "generate", "grade", "log_path", "selfcheck",
           "stage_submission", "state_path"]

STAGING = "grading-input"
STATE = "grading-state"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    """How to grade: workers, sandbox, limits and whether to redo finished work."""

    jobs: int = 1
    use_sandbox: bool = True
    force: bool = False
    cell_timeout: int = 60
    call_timeout: int = 10
    notebook_timeout: int = 600
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    feedback: bool = True
    prestart: bool = True  # start each worker's next kernel while it grades (sandbox only)


def configure(config: Any, course_root: Path, options: Options) -> Any:
    """Add the safeguards (and the sandbox) to an nbgrader config for ``course_root``."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader import preprocessors as pp

    config.CourseDirectory.submitted_directory = STAGING
    config.Autograde.sanitize_preprocessors = [
        pp.ClearOutput, pp.DeduplicateIds, safeguards.RestoreMissingCells,
        pp.OverwriteKernelspec, pp.OverwriteCells, pp.CheckCellMetadata]
    config.Autograde.autograde_preprocessors = [
        safeguards.SafeExecute, safeguards.StderrToStdout, safeguards.FlagTampering,
        ClearMetadataPreprocessor, pp.LimitOutput, pp.SaveAutoGrades,
        pp.AssignLatePenalties, pp.CheckCellMetadata]
    config.AssignLatePenalties.plugin_class = late.LatePenalty  # c.LatePolicy's penalty
    feedback.configure(config, course_root)  # GenerateFeedback's preprocessors and template
    config.RestoreMissingCells.release_root = str(course_root / "release")
    config.SafeExecute.timeout = options.cell_timeout
    config.SafeExecute.notebook_timeout = options.notebook_timeout
    config.SafeExecute.sandboxed = options.use_sandbox
    config.SafeExecute.source_root = str(course_root / "source")
    config.SafeExecute.call_timeout = options.call_timeout
    config.SafeExecute.prestart = options.prestart
    return config


def state_path(course_root: Path, assignment: str, student: str) -> Path:
    return course_root / STATE / assignment / f"{student}.json"


def _digest(folder: Path) -> str:
    """The submission's content: its files, and its links as links (never followed)."""
    digest = hashlib.sha256()
    for top, dirs, files in sorted(os.walk(folder)):
        dirs.sort()
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
            path = Path(top) / name
            content = (b"link:" + os.readlink(path).encode() if path.is_symlink()
                       else path.read_bytes())
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + content)
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
    # Links are copied as links, never followed (a link to ../../gradebook.db would copy the
    # gradebook where the student's code and feedback reach it), then removed.
    if src.is_symlink():
        raise ValueError("the submission folder is a link: links are not followed")
    shutil.copytree(src, dest, symlinks=True)
    notes = []
    links = [Path(top) / name for top, dirs, files in os.walk(dest) for name in dirs + files
             if os.path.islink(os.path.join(top, name))]
    for path in sorted(links):
        notes.append(f"removed the link {path.relative_to(dest)} -> {os.readlink(path)}: "
                     "links in a submission are not followed")
        path.unlink()
    expected = sorted(p.name for p in (course_root / "release" / assignment).glob("*.ipynb"))
    for path in sorted(dest.glob("*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as exc:  # any parse error: the submission cannot be graded as is
            raise ValueError(f"{path.name} is not a readable notebook: {exc}") from exc
        if _renumber_duplicate_ids(nb) | _keep_last_duplicate_grade_id(nb):
            nbformat.write(nb, path)
            notes.append(f"{path.name}: duplicated cells: the last copy of each is graded")
    notes += _no_shadowing(dest, course_root / "release" / assignment)
    present = sorted(p.name for p in dest.glob("*.ipynb"))
    missing = [name for name in expected if name not in present]
    extra = [name for name in present if name not in expected]
    if len(missing) == 1 and len(extra) == 1:
        (dest / extra[0]).rename(dest / missing[0])
        notes.append(f"notebook renamed by the student: graded {extra[0]} as {missing[0]}")
    elif missing:
        notes.append(f"missing notebooks: {missing}")
    return notes


CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".pyw", ".pth", ".so")


def _no_shadowing(dest: Path, released: Path) -> list[str]:
    """Python code shipped with a submission never reaches the kernel: the released helper
    files are put back as released, and any other module, package, compiled extension or
    ``.pth`` file is removed (a ``numpy.py`` or ``dlutils/`` beside the notebook would
    otherwise replace the kit's modules for the student's code)."""
    notes = []
    for path in sorted(dest.rglob("*"), reverse=True):
        if path.is_symlink() or (path.is_file() and path.suffix in CODE_SUFFIXES):
            relative = path.relative_to(dest)
            original = released / relative
            if original.is_file() and not original.is_symlink():
                if path.is_symlink() or path.read_bytes() != original.read_bytes():
                    path.unlink()
                    shutil.copy2(original, path)
                    notes.append(f"restored the released {relative} (the submission changed it)")
                continue
            path.unlink()
            notes.append(f"removed {relative}: code shipped with a submission is not run")
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for original in released.rglob("*"):
        target = dest / original.relative_to(released)
        if original.is_file() and original.suffix in CODE_SUFFIXES and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(original, target)
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
    log.info("grading %s/%s", assignment, student)
    state = {"student": student, "assignment": assignment, "status": "error", "error": None,
             "submission_sha256": digest, "seconds": 0.0, "findings": [],
             "zeroed_cells": [], "kernel_died": False, "timeouts": [], "notes": [],
             "mistakes": []}
    state.update(late.time_fields(course_root / "submitted" / student / assignment))
    safeguards.reset_events()
    # One runtime folder per worker process (not per submission): the kernel started ahead for
    # the next notebook lives there while this one is graded.
    with contextlib.nullcontext(_worker_runtime()) as tmp:
        os.environ["JUPYTER_RUNTIME_DIR"] = tmp
        if options.use_sandbox:
            kernels = sandbox.install_kernelspec(Path(tmp) / "share")
            os.environ["JUPYTER_PATH"] = str(kernels)
            os.environ.update(options.limits.to_env())
        try:
            state["notes"] += stage_submission(course_root, assignment, student)
            api = _worker_api(course_root, options)
            db_url = api.coursedir.db_url
            late.apply_extension(db_url, late.policy_of(api.config), assignment, student)
            result = api.autograde(assignment, student, force=True, create=True)
            if not result["success"]:
                state["log"] = result["log"][-6000:]
                raise RuntimeError(_last_error(result["log"]))
            state.update(late.record(db_url, api.config, course_root, assignment, student))
            state["mistakes"] = _mistakes(course_root, assignment, student)
            if options.feedback:
                written = api.generate_feedback(assignment, student, force=True)
                if not written["success"]:
                    state["log"] = written["log"][-6000:]
                    raise RuntimeError("the feedback could not be written: "
                                       + _last_error(written["log"]))
            state["status"] = "graded"
        except Exception as exc:  # one broken submission must not stop the run
            state["error"] = f"{type(exc).__name__}: {exc}"
            if options.feedback:  # a page that says why, in words, and what to do
                state["notes"] += feedback.write_ungraded_pages(course_root, assignment, student)
    for key in ("findings", "zeroed_cells", "kernel_died", "timeouts"):
        state[key] = safeguards.EVENTS[key]
    state["judge_seconds"] = round(safeguards.EVENTS["judge_seconds"], 3)
    state["notes"] += safeguards.EVENTS["notes"]
    state["seconds"] = round(time.perf_counter() - start, 3)
    log.info("%s/%s: %s in %.1f s%s", assignment, student, state["status"], state["seconds"],
             f" ({state['error']})" if state["error"] else "")
    return state


def _mistakes(course_root: Path, assignment: str, student: str) -> list[dict]:
    """The catalog's mistakes that the graded notebooks show (:mod:`dlgrader.mistakes`)."""
    from . import mistakes, report

    return mistakes.detect_files(course_root / "autograded" / student / assignment, assignment,
                                 report.function_groups(course_root, assignment))


def _start_worker_log(path: str) -> None:
    """Worker initializer: its warnings, logging and output (its kernels') go to the log."""
    runlog.start_worker(Path(path), Path(_worker_runtime()) / "output.log")


@functools.cache
def _worker_runtime() -> str:
    folder = tempfile.mkdtemp(prefix="nndl-worker-")
    os.chmod(folder, 0o700)
    # multiprocessing workers end with os._exit: their finalizers run, atexit handlers do not
    Finalize(None, shutil.rmtree, (folder, True), exitpriority=1)
    atexit.register(shutil.rmtree, folder, True)
    return folder


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
            force: bool, feedback: bool = True) -> list[tuple[str, str, str]]:
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
            # nbgrader's own autograde or feedback (a refused formgrader click) removes the
            # autograded copy or the feedback before refusing: grade again to put them back
            kept = (course_root / "autograded" / student / assignment).is_dir() and (
                not feedback or (course_root / "feedback" / student / assignment).is_dir())
            if same and old.get("status") == "graded" and kept and not force:
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
    """nbgrader's generate_assignment: the gradebook learns each assignment's tests, and the
    course roster's students with their names (the formgrader lists them by name)."""
    api = grading._api(course_root)
    policy = late.load(course_root, api.config)  # a bad c.LatePolicy stops before grading
    for assignment in assignments:
        result = api.generate_assignment(assignment, force=True)
        if not result["success"]:
            raise RuntimeError(f"generate_assignment {assignment} failed:\n{result['log']}")
    roster.sync_gradebook(course_root)
    late.write_due_dates(api.coursedir.db_url, policy, assignments)  # the formgrader shows them


def grade(course_root: Path, assignments: list[str], students: list[str] | None = None,
          options: Options | None = None, progress: bool = True) -> list[dict]:
    """Grade every pending submission of ``assignments``; return the new state records."""
    options = options or Options()
    if options.use_sandbox:
        sandbox.check_available()
    generate(course_root, assignments)
    todo = pending(course_root, assignments, students, options.force, options.feedback)
    # A kernel started ahead pays off for a worker that grades more than one notebook, while
    # a core is free to start it (with a worker on every core it only competes with them).
    free_core = options.jobs < (os.cpu_count() or 1)
    options = dataclasses.replace(
        options, prestart=options.prestart and free_core and len(todo) > options.jobs)
    states = []
    if not todo:
        return states
    logfile = runlog.start(course_root / STATE)
    bar = _progress(len(todo), progress)
    # forkserver: workers start from a clean process that has already imported the grader,
    # so starting one costs little and no state of this process leaks into them.
    context = get_context("forkserver")
    context.set_forkserver_preload(["dlgrader.pipeline", "nbgrader.apps", "nbconvert"])
    with runlog.here(logfile), ProcessPoolExecutor(
            max_workers=max(1, options.jobs), mp_context=context,
            initializer=_start_worker_log, initargs=(str(logfile),)) as pool:
        futures = [pool.submit(_grade_logged, course_root, a, s, options, d)
                   for a, s, d in todo]
        for future in as_completed(futures):
            state = future.result()
            _write_state(course_root, state)
            states.append(state)
            bar.update(1)
    bar.close()
    return states


def _grade_logged(course_root: Path, assignment: str, student: str, options: Options,
                  digest: str) -> dict:
    """:func:`_grade_one` in a worker set up by :func:`runlog.start_worker`; the output written
    meanwhile (the kernels' included) then moves to the run's log."""
    state = _grade_one(course_root, assignment, student, options, digest)
    runlog.move_output(f"{assignment}/{student}")
    return state


def log_path(course_root: Path) -> Path:
    """The log of the latest grading run (the one before it: ``grade.log.1``)."""
    return course_root / STATE / runlog.LOG


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="grading", unit="submission", disable=not enabled)


def autograde(course_root: Path, assignment: str, student: str,
              options: Options | None = None) -> dict:
    """Grade one submission now (again if graded before); return its state record."""
    options = options or Options(force=True)
    states = grade(course_root, [assignment], [student], options, progress=False)
    if not states or states[0]["status"] != "graded":
        raise RuntimeError(f"grading {assignment}/{student} failed: "
                           f"{states[0]['error'] if states else 'no such submission'}")
    return states[0]


def selfcheck(assignments: list[str], keep: Path | None = None) -> bool:
    """Grade the reference solutions and the blank release of each assignment in a scratch
    course through the pipeline; print each cell; True when references earn full marks and
    blank releases zero."""
    root = Path(tempfile.mkdtemp(prefix="nndl-selfcheck-")) if keep is None else keep
    grading.make_scratch_course(root, assignments)
    for name in assignments:
        grading.submit(root, name, "reference", grading.REPO / "source" / name)
        grading.submit(root, name, "blank", root / "release" / name)
    states = grade(root, assignments, options=Options(jobs=2, force=True), progress=False)
    ok = all(s["status"] == "graded" for s in states)
    for state in states:
        if state["status"] != "graded":
            print(f"BAD {state['assignment']:28s} {state['student']:9s} {state['error']}")
    for name in assignments:
        for student in ("reference", "blank"):
            for s in grading.scores(root, name, student):
                want = s.max_score if student == "reference" else 0.0
                good = s.score == want and not s.needs_manual_grade
                ok &= good
                print(f"{'ok ' if good else 'BAD'} {name:28s} {student:9s} {s.grade_id:48s} "
                      f"{s.score:g}/{s.max_score:g}")
    if keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return ok
