"""Throughput of grading on Dask workers against the local pipeline, in one run.

    .venv/bin/python benchmarks/distributed_grading.py [--students N] [--workers W]

N students each submit the reference solution of every assignment. The same submissions are
graded three times, in fresh scratch courses: by the local pipeline (``--jobs W``) with a SQLite
gradebook (the baseline) and with a PostgreSQL one, and by ``W`` Dask worker processes on this
machine (``dask worker --nthreads 1`` under a nanny, as ``./course worker`` starts them) through
``dlgrader.distributed``, against PostgreSQL on loopback (Debian's server, started here as in the
tests). Prints students per hour, in all and per worker.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from pg import _free_port, create_database, postgres_server  # noqa: E402

from dlgrader import distributed, grading, pipeline  # noqa: E402


def course(dest: Path, students: int, db_url: str | None) -> tuple[Path, list[str]]:
    names = grading.source_assignments()
    root = grading.make_scratch_course(dest, names, db_url=db_url)
    for i in range(students):
        for name in names:
            grading.submit(root, name, f"student{i:03d}", REPO / "source" / name)
    return root, names


def checked(states: list[dict], expected: int) -> None:
    bad = [s for s in states if s["status"] != "graded"]
    if bad or len(states) != expected:
        raise SystemExit(f"grading failed: {len(states)} states, first error {bad[:1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    n, w = args.students, args.workers
    dask = str(Path(sys.executable).parent / "dask")
    with tempfile.TemporaryDirectory(prefix="nndl-dist-bench-") as tmp:
        root, names = course(Path(tmp) / "local", n, None)
        start = time.perf_counter()
        checked(pipeline.grade(root, names, options=pipeline.Options(jobs=w), progress=False),
                n * len(names))
        local = time.perf_counter() - start

        with postgres_server() as server:
            root, names = course(Path(tmp) / "local-pg", n, create_database(server, "local"))
            start = time.perf_counter()
            checked(pipeline.grade(root, names, options=pipeline.Options(jobs=w),
                                   progress=False), n * len(names))
            local_pg = time.perf_counter() - start

            root, names = course(Path(tmp) / "dask", n, create_database(server, "bench"))
            port = _free_port()
            address = f"tcp://127.0.0.1:{port}"
            quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
            procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port",
                                       str(port), "--no-dashboard"], **quiet)]
            try:
                procs += [subprocess.Popen([dask, "worker", address, "--nthreads", "1",
                                            "--no-dashboard", "--host", "127.0.0.1"], **quiet)
                          for _ in range(w)]
                distributed.wait_for_workers(address, w, timeout=120)
                start = time.perf_counter()
                states = distributed.grade(root, names, address, progress=False)
                remote = time.perf_counter() - start
                checked(states, n * len(names))
            finally:
                for proc in procs:
                    proc.kill()
                    proc.wait()
    print(f"{n} students x {len(names)} assignments (reference submissions), {w} workers, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"{'':36s} {'seconds':>8s} {'students/hour':>14s} {'per worker':>11s}")
    for label, seconds in ((f"pipeline --jobs {w} (SQLite)", local),
                           (f"pipeline --jobs {w} (PostgreSQL)", local_pg),
                           (f"Dask, {w} workers (PostgreSQL)", remote)):
        rate = 3600 * n / seconds
        print(f"{label:36s} {seconds:8.1f} {rate:14.0f} {rate / w:11.0f}")


if __name__ == "__main__":
    main()
