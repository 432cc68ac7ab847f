"""Grading on a Dask cluster, for classes larger than one machine.

``./course grade --scheduler tcp://HOST:8786`` grades exactly what ``--jobs N`` grades, with the
same safeguards, sandbox and state records, but the work runs on Dask workers (``./course
worker tcp://HOST:8786`` on each machine). One task grades one whole student: every pending
submission of that student, one after the other. All workers write one shared PostgreSQL
gradebook (``NNDL_DB_URL``); SQLite cannot be shared between machines and is refused.

The instructor's machine (the client) keeps everything that is not the gradebook: it decides
what is pending (removing stale grades first), ships each task the course files it needs
(the config, ``source/`` and ``release/`` of the student's assignments) and the submission
files, and writes the returned ``autograded/``, ``feedback/`` and ``grading-state/`` records.
A worker needs only the kit installed (``./course setup``) and bubblewrap; it grades in a
scratch copy of the course under its temp folder.

Inside a worker, tasks run in a grading child process (``python -m dlgrader.distributed``,
long-lived, one task at a time): nbgrader's notebook timeout needs the main thread's signals,
and the grading process's environment and kernels stay out of the worker. The child ends the
moment its worker is gone (it watches the worker's pidfd), and the sandboxed kernel dies with the
child (bubblewrap ``--die-with-parent``): a killed worker leaves no grader writing behind, and
Dask runs its lost task again on another worker. Run workers with one thread each (``./course
worker`` does). A task whose workers keep dying (Dask's ``allowed-failures``) becomes an error
record, never a lost student.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

from . import grading, pipeline, sandbox

__all__ = ["grade", "grade_student"]

Files = dict[str, bytes]


def _read_tree(folder: Path, prefix: str) -> Files:
    return {f"{prefix}/{p.relative_to(folder)}": p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _write_tree(root: Path, files: Files) -> None:
    for name, data in files.items():
        path = (root / name).resolve()
        if not path.is_relative_to(root.resolve()):
            raise ValueError(f"refusing to write outside {root}: {name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def course_bundle(course_root: Path, assignments: list[str], db_url: str) -> Files:
    """What a worker needs to grade ``assignments``: config (pointing at ``db_url``), source
    and release folders."""
    config = (course_root / "nbgrader_config.py").read_text()
    config += f"\nc.CourseDirectory.db_url = {db_url!r}\n"
    files: Files = {"nbgrader_config.py": config.encode()}
    for name in assignments:
        for top in ("source", "release"):
            files.update(_read_tree(course_root / top / name, f"{top}/{name}"))
    return files


# --- worker side -------------------------------------------------------------------------

def _die_with_worker(worker_pid: int) -> None:
    """In the grading child: end this process the moment its Dask worker is gone (a watcher
    thread waits on the worker's pidfd); the sandboxed kernel follows (bubblewrap
    ``--die-with-parent``)."""
    import select
    import threading

    try:
        pidfd = os.pidfd_open(worker_pid)
    except ProcessLookupError:
        os._exit(1)

    def watch() -> None:
        select.select([pidfd], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="die-with-worker", daemon=True).start()


def _course_root(bundle: Files, scratch: Path) -> Path:
    """A scratch course for ``bundle`` in the worker's own folder (Dask removes it with the
    worker, and stale ones of dead workers when the next one starts); reused by its tasks."""
    digest = hashlib.sha256()
    for name in sorted(bundle):
        digest.update(name.encode() + b"\0" + hashlib.sha256(bundle[name]).digest())
    root = scratch / f"nndl-course-{digest.hexdigest()[:16]}"
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        _write_tree(root, bundle)
        (root / ".complete").touch()
    return root


def _grade_in_child(bundle: Files, student: str, submissions: list[tuple[str, str, Files]],
                    options: pipeline.Options, host: str, scratch: Path) -> list[dict]:
    """Grading child: grade one student's submissions in a scratch course; return state
    records, each with the autograded and feedback files it produced."""
    root = _course_root(bundle, scratch)
    results = []
    for assignment, digest, files in submissions:
        folders = [root / top / student / assignment
                   for top in ("submitted", "autograded", "feedback", pipeline.STAGING)]
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        _write_tree(folders[0], files)
        try:
            if options.use_sandbox:
                sandbox.check_available()
            state = pipeline._grade_one(root, assignment, student, options, digest)
        except Exception as exc:  # no sandbox on this worker
            state = _error_state(assignment, student, digest, exc)
        state["worker"] = host
        state["files"] = {}
        for top, folder in (("autograded", folders[1]), ("feedback", folders[2])):
            if folder.is_dir():
                state["files"].update(_read_tree(folder, f"{top}/{student}/{assignment}"))
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        pipeline.state_path(root, assignment, student).unlink(missing_ok=True)
        results.append(state)
    return results


class _Grader:
    """This worker's grading child: a long-lived ``python -m dlgrader.distributed`` process
    that imports nbgrader once and grades one task at a time, sent over a pipe.

    A child process, not a thread: nbgrader's notebook timeout needs the main thread's signals,
    and the child's environment changes and kernels stay out of the worker. A subprocess, not
    multiprocessing: a worker under a nanny is a daemonic process, which may not have
    multiprocessing children. A child that dies is replaced at the next task."""

    _lock = threading.Lock()
    _current: _Grader | None = None

    def __init__(self, log: Path) -> None:
        request_r, self._request = os.pipe()
        self._reply, reply_w = os.pipe()
        self._log = log
        with log.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dlgrader.distributed", str(os.getpid()), str(request_r),
                 str(reply_w)], pass_fds=(request_r, reply_w), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err)
        os.close(request_r)
        os.close(reply_w)

    def run(self, task: Path, result: Path) -> None:
        reply = b""
        try:
            os.write(self._request, f"{task}\t{result}\n".encode())
        except BrokenPipeError:  # the child is gone
            pass
        else:
            while not reply.endswith(b"\n"):
                chunk = os.read(self._reply, 4096)
                if not chunk:
                    break
                reply += chunk
        if reply.strip() != b"ok":
            tail = self._log.read_bytes()[-2000:].decode(errors="replace")
            raise RuntimeError(f"the grading child failed ({reply.strip()[:500]!r}): {tail}")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        os.close(self._request)
        os.close(self._reply)

    @classmethod
    def submit(cls, scratch: Path, task: Path, result: Path) -> None:
        with cls._lock:
            if cls._current is None or cls._current.proc.poll() is not None:
                cls._current = cls(scratch / "nndl-grader.log")
            try:
                cls._current.run(task, result)
            except BaseException:
                cls._current.close()
                cls._current = None
                raise


def grade_student(bundle: Files, student: str, submissions: list[tuple[str, str, Files]],
                  options: pipeline.Options) -> list[dict]:
    """The Dask task: grade one student in this worker's grading child."""
    from distributed import get_worker

    worker = get_worker()
    host = f"{worker.name} on {socket.gethostname()} ({worker.address})"
    scratch = Path(worker.local_directory)
    with tempfile.TemporaryDirectory(prefix="nndl-task-", dir=scratch) as tmp:
        task, result = Path(tmp) / "task.pickle", Path(tmp) / "result.pickle"
        task.write_bytes(pickle.dumps((bundle, student, submissions, options, host, scratch)))
        _Grader.submit(scratch, task, result)
        return pickle.loads(result.read_bytes())


def _serve(worker_pid: int, requests: int, replies: int) -> int:
    """The grading child's loop: one line "TASK<tab>RESULT" in, one line "ok" (or the error)
    out, until the worker closes the pipe or dies."""
    _die_with_worker(worker_pid)
    with os.fdopen(requests, "rb") as inbox, os.fdopen(replies, "wb", buffering=0) as outbox:
        for line in inbox:
            task, result = (Path(p) for p in line.decode().rstrip("\n").split("\t"))
            try:
                job = pickle.loads(task.read_bytes())
                result.write_bytes(pickle.dumps(_grade_in_child(*job)))
                outbox.write(b"ok\n")
            except Exception as exc:  # reported to the task, which raises it
                outbox.write(f"{type(exc).__name__}: {exc}".replace("\n", " ").encode() + b"\n")
    return 0


# --- client side -------------------------------------------------------------------------

def _error_state(assignment: str, student: str, digest: str, exc: BaseException) -> dict:
    return {"student": student, "assignment": assignment, "status": "error",
            "error": f"{type(exc).__name__}: {exc}"[:1000], "submission_sha256": digest,
            "seconds": 0.0, "findings": [], "zeroed_cells": [], "kernel_died": False,
            "notes": []}


def _store(course_root: Path, state: dict) -> dict:
    """Write a returned record's files and its state file into the course."""
    files = state.pop("files", {})
    for top in ("autograded", "feedback"):
        shutil.rmtree(course_root / top / state["student"] / state["assignment"],
                      ignore_errors=True)
    _write_tree(course_root, files)
    pipeline._write_state(course_root, state)
    return state


def grade(course_root: Path, assignments: list[str], scheduler: str,
          students: list[str] | None = None, options: pipeline.Options | None = None,
          progress: bool = True, connect_timeout: float = 30.0) -> list[dict]:
    """Grade every pending submission of ``assignments`` on the Dask cluster at ``scheduler``;
    return the new state records (one per submission, graded or error)."""
    from distributed import Client, as_completed

    # A grading child serves one student at a time and must end with its worker: no kernel
    # is started ahead there.
    options = dataclasses.replace(options or pipeline.Options(), prestart=False)
    db_url = grading._api(course_root).coursedir.db_url
    if not db_url.startswith("postgresql"):
        raise ValueError(f"--scheduler needs a gradebook every machine can reach: set "
                         f"NNDL_DB_URL=postgresql://... (this course uses {db_url})")
    pipeline.generate(course_root, assignments)
    by_student: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for assignment, student, digest in pipeline.pending(course_root, assignments, students,
                                                        options.force, options.feedback):
        by_student[student].append((assignment, digest))
    run = uuid.uuid4().hex[:8]
    states: list[dict] = []
    bar = pipeline._progress(sum(len(v) for v in by_student.values()), progress)
    with Client(scheduler, timeout=connect_timeout) as client:
        futures = {}
        for student, items in by_student.items():
            bundle = course_bundle(course_root, sorted({a for a, _ in items}), db_url)
            submissions = [(a, d, _read_tree(course_root / "submitted" / student / a, "."))
                           for a, d in items]
            future = client.submit(grade_student, bundle, student, submissions, options,
                                   key=f"nndl-grade-{student}-{run}", pure=False)
            futures[future] = (student, items)
        for future in as_completed(futures):
            student, items = futures[future]
            try:
                records = future.result()
            except Exception as exc:  # e.g. KilledWorker after repeated worker deaths
                records = [_error_state(a, student, d, exc) for a, d in items]
            for state in records:
                states.append(_store(course_root, state))
                bar.update(1)
    bar.close()
    return states


def wait_for_workers(scheduler: str, count: int, timeout: float = 60.0) -> None:
    """Block until ``count`` workers are connected to ``scheduler``."""
    from distributed import Client

    deadline = time.monotonic() + timeout
    with Client(scheduler, timeout=timeout) as client:
        client.wait_for_workers(count, timeout=max(1.0, deadline - time.monotonic()))


if __name__ == "__main__":
    sys.exit(_serve(*(int(arg) for arg in sys.argv[1:4])))
