"""Grading on Dask distributed: a scheduler and two worker processes on loopback, a real
PostgreSQL gradebook, and one worker killed while it grades."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from pg import _free_port, create_database, postgres_server
from test_grading import TINY, wrong_copy

from dlgrader import distributed, grading, pipeline

ASSIGNMENTS = ["98_tiny", "99_tiny"]
KINDS = ("ref", "wrong", "blank")
STUDENTS = {f"s{i:02d}": KINDS[i % 3] for i in range(8)}
EXPECTED = {"ref": 3, "wrong": 1, "blank": 0}
DASK = str(Path(sys.executable).parent / "dask")


@contextmanager
def cluster(workers: int, nanny: bool = False):
    """A Dask scheduler and ``workers`` single-threaded workers on 127.0.0.1; yields
    (address, {name: Popen}). Without nannies a killed worker stays dead; with them, the
    workers run as ``./course worker`` runs them (daemonic processes under a nanny)."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = {"scheduler": subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)}
    try:
        for i in range(workers):
            procs[f"w{i}"] = subprocess.Popen(
                [DASK, "worker", address, "--name", f"w{i}", "--nthreads", "1",
                 "--nanny" if nanny else "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        distributed.wait_for_workers(address, workers, timeout=120)
        yield address, procs
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()


def kill_a_busy_worker(address: str, procs: dict, root: Path, done: threading.Event) -> dict:
    """Once a first student is graded (the workers' graders are warm), SIGKILL a worker that
    has been grading its next student for a second."""
    from distributed import Client

    seen: dict[str, float] = {}
    with Client(address, timeout=30) as client:
        names = {a: w["name"] for a, w in client.scheduler_info()["workers"].items()}
        while not done.is_set():
            if not any((root / pipeline.STATE).rglob("*.json")):
                time.sleep(0.1)
                continue
            busy = {names[a]: keys for a, keys in client.call_stack().items() if keys}
            now = time.monotonic()
            for name, keys in busy.items():
                since = seen.setdefault(f"{name}{sorted(keys)}", now)
                if now - since > 1.0:
                    left_behind = descendants(procs[name].pid)
                    procs[name].send_signal(signal.SIGKILL)
                    procs[name].wait()
                    student = next(iter(keys)).split("-")[2]
                    return {"killed": name, "student": student, "children": left_behind}
            time.sleep(0.1)
    return {}


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return {p for p in pids if Path(f"/proc/{p}").exists()
            and "zombie" not in Path(f"/proc/{p}/status").read_text().lower()}


@pytest.fixture(scope="module")
def server():
    with postgres_server() as url:
        yield url


@pytest.fixture
def database(server, request):
    """A fresh database per test on the module's server."""
    return create_database(server, f"nndl_{request.node.name[5:40]}")


@pytest.fixture
def course(tmp_path, database):
    """Two tiny assignments, eight students with a reference, wrong or blank copy of each."""
    source = tmp_path / "source"
    for name in ASSIGNMENTS:
        shutil.copytree(TINY / "99_tiny", source / name)
    root = grading.make_scratch_course(tmp_path / "course", ASSIGNMENTS, source,
                                       db_url=database)
    wrong = wrong_copy(TINY / "99_tiny", tmp_path / "wrong")
    for name in ASSIGNMENTS:
        for student, kind in STUDENTS.items():
            folder = {"ref": TINY / "99_tiny", "wrong": wrong,
                      "blank": root / "release" / name}[kind]
            grading.submit(root, name, student, folder)
    return root


def gradebook_rows(root: Path) -> list[tuple[str, str]]:
    from nbgrader.api import Gradebook, SubmittedAssignment

    with Gradebook(grading._api(root).coursedir.db_url) as gb:
        return sorted((s.assignment.name, s.student.id)
                      for s in gb.db.query(SubmittedAssignment).all())


@pytest.mark.slow
def test_two_workers_one_killed_every_submission_graded_once(course):
    """Kill one of two workers while it grades: its student is graded again on the other,
    every submission ends with exactly one state and one gradebook entry, scores exact."""
    options = pipeline.Options(cell_timeout=20)
    with cluster(2) as (address, procs):
        done, killed = threading.Event(), {}
        killer = threading.Thread(
            target=lambda: killed.update(kill_a_busy_worker(address, procs, course, done)))
        killer.start()
        try:
            states = distributed.grade(course, ASSIGNMENTS, address, options=options,
                                       progress=False)
        finally:
            done.set()
            killer.join()
    assert killed, "no worker was ever seen grading, so none was killed"
    print(f"killed {killed}; graded by {sorted({s['worker'] for s in states})}")
    assert killed["children"], "the killed worker had no grading child"
    deadline = time.monotonic() + 15
    while alive(killed["children"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(killed["children"]), "the killed worker's grader lives on"
    again = [s for s in states if s["student"] == killed["student"]]
    assert again and all(not s["worker"].startswith(f"{killed['killed']} ") for s in again), \
        "the killed worker's student was not graded again on the other worker"
    want = sorted((a, s) for a in ASSIGNMENTS for s in STUDENTS)
    assert sorted((s["assignment"], s["student"]) for s in states) == want
    assert all(s["status"] == "graded" for s in states), [s["error"] for s in states]
    assert gradebook_rows(course) == want
    for name in ASSIGNMENTS:
        for student, kind in STUDENTS.items():
            got = sum(c.score for c in grading.scores(course, name, student))
            assert got == EXPECTED[kind], (name, student, kind, got)
            assert (course / "feedback" / student / name / "tiny.html").is_file()
            assert pipeline.state_path(course, name, student).is_file()


@pytest.mark.slow
def test_rerun_grades_nothing_twice(course):
    """Workers under a nanny (as ``./course worker`` starts them) grade; a second run over
    the same submissions finds nothing pending: no task is sent."""
    options = pipeline.Options(cell_timeout=20)
    with cluster(1, nanny=True) as (address, _):
        first = distributed.grade(course, ASSIGNMENTS[:1], address, students=["s00", "s01"],
                                  options=options, progress=False)
        again = distributed.grade(course, ASSIGNMENTS[:1], address, students=["s00", "s01"],
                                  options=options, progress=False)
    assert [s["status"] for s in first] == ["graded", "graded"]
    assert again == []


def test_sqlite_gradebook_is_refused(tmp_path):
    """Workers on other machines cannot share a SQLite file: a clear error, nothing graded."""
    root = grading.make_scratch_course(tmp_path / "course", ["99_tiny"], TINY)
    with pytest.raises(ValueError, match="NNDL_DB_URL=postgresql"):
        distributed.grade(root, ["99_tiny"], "tcp://127.0.0.1:1", progress=False)


def test_bundle_carries_config_source_and_release(tmp_path):
    root = grading.make_scratch_course(tmp_path / "course", ["99_tiny"], TINY)
    bundle = distributed.course_bundle(root, ["99_tiny"], "postgresql://h/db")
    assert "c.CourseDirectory.db_url = 'postgresql://h/db'" in bundle["nbgrader_config.py"].decode()
    assert "source/99_tiny/tiny.ipynb" in bundle and "release/99_tiny/tiny.ipynb" in bundle


def test_written_files_stay_inside_the_course(tmp_path):
    with pytest.raises(ValueError, match="outside"):
        distributed._write_tree(tmp_path, {"../escape.txt": b"x"})
    assert not (tmp_path.parent / "escape.txt").exists()


def test_grading_child_reports_errors_and_is_replaced_when_dead(tmp_path):
    """A task the child cannot grade raises in the worker with the child's reason; a child
    that died is replaced by the next task; the child ends when its worker's pid is gone."""
    import pickle

    task, result = tmp_path / "task.pickle", tmp_path / "result.pickle"
    task.write_bytes(pickle.dumps(("not", "a", "job")))
    with pytest.raises(RuntimeError, match="TypeError"):
        distributed._Grader.submit(tmp_path, task, result)
    assert distributed._Grader._current is None  # a failed child is not reused
    grader = distributed._Grader(tmp_path / "grader.log")
    grader.proc.kill()
    grader.proc.wait()
    with pytest.raises(RuntimeError, match="grading child failed"):
        grader.run(task, result)
    grader.close()

    # The child watches the pid it is given: a process that exits takes the child with it.
    sleeper = subprocess.Popen(["sleep", "30"])
    request_r, request_w = os.pipe()
    reply_r, reply_w = os.pipe()
    child = subprocess.Popen([sys.executable, "-m", "dlgrader.distributed", str(sleeper.pid),
                              str(request_r), str(reply_w)], pass_fds=(request_r, reply_w))
    os.close(request_r)
    os.close(reply_w)
    time.sleep(3)  # the child is up and waiting for work
    assert child.poll() is None
    sleeper.kill()
    sleeper.wait()
    assert child.wait(timeout=15) == 1
    os.close(request_w)
    os.close(reply_r)
