"""Grading speed: plain serial ``nbgrader autograde`` against the pipeline at 1 and 2 workers.

    .venv/bin/python benchmarks/grading_speed.py [--copies N] [--assignment A]

All three grade N copies of the reference submission of one assignment, in the same run, on
fresh scratch courses. The baseline is nbgrader as shipped (one CLI process, serial, default
configuration, no sandbox). The pipeline runs with its safeguards and the sandbox, feedback
off so that both do the same work (autograde only). The per-notebook overhead is the
pipeline's time per submission at one worker minus the time to execute the same notebook with
nbclient alone, also measured here.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dlutils import grading, pipeline  # noqa: E402
from dlutils.notebooks import execute  # noqa: E402


def course_with_copies(dest: Path, assignment: str, copies: int) -> Path:
    root = grading.make_scratch_course(dest, [assignment])
    for i in range(copies):
        grading.submit(root, assignment, f"student{i:03d}", grading.REPO / "source" / assignment)
    return root


def time_plain_nbgrader(root: Path, assignment: str) -> float:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    start = time.perf_counter()
    subprocess.run(["nbgrader", "autograde", assignment, "--log-level=ERROR"], cwd=root,
                   env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def time_pipeline(root: Path, assignment: str, jobs: int) -> float:
    options = pipeline.Options(jobs=jobs, feedback=False)
    start = time.perf_counter()
    states = pipeline.grade(root, [assignment], options=options, progress=False)
    elapsed = time.perf_counter() - start
    bad = [s for s in states if s["status"] != "graded"]
    if bad:
        raise SystemExit(f"pipeline failed: {bad[0]}")
    return elapsed


def time_bare_execution(assignment: str, repeats: int = 2) -> float:
    path = next((grading.REPO / "source" / assignment).glob("*.ipynb"))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        execute(path, env={"NBGRADER_EXECUTION": "autograde"})
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--assignment", default="01_numpy_basics")
    args = parser.parse_args()
    n = args.copies
    with tempfile.TemporaryDirectory(prefix="nndl-bench-") as tmp:
        results = {}
        for label, run in (("plain nbgrader (serial)", lambda r: time_plain_nbgrader(
                                r, args.assignment)),
                           ("pipeline, 1 worker", lambda r: time_pipeline(r, args.assignment, 1)),
                           ("pipeline, 2 workers", lambda r: time_pipeline(r, args.assignment,
                                                                           2))):
            root = course_with_copies(Path(tmp) / label.replace(" ", "_"), args.assignment, n)
            results[label] = run(root)
        bare = time_bare_execution(args.assignment)
    base = results["plain nbgrader (serial)"]
    print(f"{n} copies of the {args.assignment} reference, {os.cpu_count()} cores")
    print(f"{'':26s} {'seconds':>8s} {'subm./min':>10s} {'vs plain':>9s}")
    for label, seconds in results.items():
        print(f"{label:26s} {seconds:8.1f} {60 * n / seconds:10.1f} {base / seconds:8.2f}x")
    per_submission = results["pipeline, 1 worker"] / n
    print(f"executing the notebook alone (nbclient, best of 2): {bare:.2f} s")
    print(f"pipeline overhead per notebook beyond executing its cells: "
          f"{per_submission - bare:.2f} s")


if __name__ == "__main__":
    main()
