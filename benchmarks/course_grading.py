"""Grading one student's whole course: every assignment of source/, as ``./course grade`` does it.

    .venv/bin/python benchmarks/course_grading.py [--jobs 1] [--skip-baseline]

One student submits the reference solution of every assignment; the pipeline grades them
(sandboxed, safeguards on, feedback written) in a scratch course, and the per-assignment times
come from its state records. The baseline, measured in the same run, is what grading would cost
without ``dlutils.runtime.demo_iterations``: each notebook executed at full length (as a
student runs it in JupyterLab) with nbclient, no grading around it.

A Dask worker grades whole students, so the total below is also the expected time per student
per worker process (one worker process per core).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dlgrader import grading, pipeline  # noqa: E402
from dlgrader.notebooks import execute  # noqa: E402


def grade_course(dest: Path, assignments: list[str], jobs: int) -> tuple[list[dict], float]:
    root = grading.make_scratch_course(dest, assignments)
    for name in assignments:
        grading.submit(root, name, "student", grading.REPO / "source" / name)
    start = time.perf_counter()
    states = pipeline.grade(root, assignments, options=pipeline.Options(jobs=jobs),
                            progress=False)
    elapsed = time.perf_counter() - start
    bad = [s for s in states if s["status"] != "graded"]
    if bad:
        raise SystemExit(f"grading failed: {bad[0]['error']}")
    for name in assignments:
        cells = grading.scores(root, name, "student")
        if sum(c.score for c in cells) != sum(c.max_score for c in cells):
            raise SystemExit(f"{name}: the reference did not earn full marks")
    return states, elapsed


def full_length_seconds(assignment: str) -> float:
    path = next((grading.REPO / "source" / assignment).glob("*.ipynb"))
    start = time.perf_counter()
    execute(path, env={"NBGRADER_EXECUTION": ""})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="pipeline workers")
    parser.add_argument("--skip-baseline", action="store_true",
                        help="do not execute the notebooks at full length")
    args = parser.parse_args()
    assignments = grading.source_assignments()
    with tempfile.TemporaryDirectory(prefix="nndl-course-bench-") as tmp:
        states, total = grade_course(Path(tmp) / "course", assignments, args.jobs)
    seconds = {s["assignment"]: s["seconds"] for s in states}
    full = {} if args.skip_baseline else {a: full_length_seconds(a) for a in assignments}
    print(f"one student, {len(assignments)} assignments, pipeline with {args.jobs} worker(s), "
          f"sandboxed, feedback on; {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"{'assignment':28s} {'graded (s)':>10s} {'full-length run (s)':>20s}")
    for name in assignments:
        base = f"{full[name]:20.1f}" if full else f"{'-':>20s}"
        print(f"{name:28s} {seconds[name]:10.1f} {base}")
    print(f"{'sum of the five':28s} {sum(seconds.values()):10.1f} "
          + (f"{sum(full.values()):20.1f}" if full else ""))
    print(f"wall time of the grading run (incl. generate_assignment and start-up): {total:.1f} s")


if __name__ == "__main__":
    main()
