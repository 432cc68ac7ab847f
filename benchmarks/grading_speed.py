"""Grading speed: plain serial ``nbgrader autograde`` against the pipeline at 1 and 2 workers.

    .venv/bin/python benchmarks/grading_speed.py [--copies N] [--assignment A]

All three grade N copies of the reference submission of one assignment, in the same run, on
fresh scratch courses. The baseline is nbgrader as shipped (one CLI process, serial, its default
preprocessors, test cells in the student's kernel, no sandbox): its scratch course gets
nbgrader's defaults back, since the kit's configuration switches nbgrader's own autograde off.
The pipeline runs with its safeguards, the sandbox and the trusted judge, feedback off so that
both do the same work (autograde only). The per-notebook overhead is the pipeline's time per
submission at one worker minus the time to execute the same notebook with nbclient alone, also
measured here.

The judge's cost: the pipeline records the wall time of every test cell in the judge (the
agent's request, the calls over the socket and the judge's own work: ``judge_seconds`` in the
state record); the same test cells executed in a plain kernel (nbclient's cell timings) are
what they would cost without it. The difference, per notebook, against the pipeline's time per
notebook at one worker, is the judge's share of grading time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dlgrader import grading, pipeline  # noqa: E402
from dlgrader.notebooks import execute  # noqa: E402

NBGRADER_DEFAULTS = """
# benchmark baseline: nbgrader's own autograde with its default preprocessors
from nbgrader.converters import Autograde as _A
c.Autograde.sanitize_preprocessors = _A.class_traits()["sanitize_preprocessors"].default()
c.Autograde.autograde_preprocessors = _A.class_traits()["autograde_preprocessors"].default()
"""


def course_with_copies(dest: Path, assignment: str, copies: int, plain: bool = False) -> Path:
    root = grading.make_scratch_course(dest, [assignment])
    if plain:
        with (root / "nbgrader_config.py").open("a") as fh:
            fh.write(NBGRADER_DEFAULTS)
    for i in range(copies):
        grading.submit(root, assignment, f"student{i:03d}", grading.REPO / "source" / assignment)
    return root


def time_plain_nbgrader(root: Path, assignment: str) -> float:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    start = time.perf_counter()
    subprocess.run(["nbgrader", "autograde", assignment, "--log-level=ERROR"], cwd=root,
                   env=env, check=True, capture_output=True)
    return time.perf_counter() - start


JUDGE_SECONDS: dict[int, float] = {}


def time_pipeline(root: Path, assignment: str, jobs: int) -> float:
    options = pipeline.Options(jobs=jobs, feedback=False)
    start = time.perf_counter()
    states = pipeline.grade(root, [assignment], options=options, progress=False)
    elapsed = time.perf_counter() - start
    bad = [s for s in states if s["status"] != "graded"]
    if bad:
        raise SystemExit(f"pipeline failed: {bad[0]}")
    JUDGE_SECONDS[jobs] = sum(s["judge_seconds"] for s in states) / len(states)
    return elapsed


def _seconds(cell) -> float:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def time_bare_execution(assignment: str, repeats: int = 2) -> tuple[float, float]:
    """(best time to execute the notebook, its test cells' time in that run)."""
    path = next((grading.REPO / "source" / assignment).glob("*.ipynb"))
    best, tests = float("inf"), 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        nb = execute(path, env={"NBGRADER_EXECUTION": "autograde"})
        seconds = time.perf_counter() - start
        if seconds < best:
            best = seconds
            tests = sum(_seconds(c) for c in nb.cells
                        if c.metadata.get("nbgrader", {}).get("grade"))
    return best, tests


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
            root = course_with_copies(Path(tmp) / label.replace(" ", "_"), args.assignment, n,
                                      plain=label.startswith("plain"))
            results[label] = run(root)
        bare, bare_tests = time_bare_execution(args.assignment)
    base = results["plain nbgrader (serial)"]
    print(f"{n} copies of the {args.assignment} reference, {os.cpu_count()} cores")
    print(f"{'':26s} {'seconds':>8s} {'subm./min':>10s} {'vs plain':>9s}")
    for label, seconds in results.items():
        print(f"{label:26s} {seconds:8.1f} {60 * n / seconds:10.1f} {base / seconds:8.2f}x")
    per_submission = results["pipeline, 1 worker"] / n
    print(f"executing the notebook alone (nbclient, best of 2): {bare:.2f} s")
    print(f"pipeline overhead per notebook beyond executing its cells: "
          f"{per_submission - bare:.2f} s")
    judge = JUDGE_SECONDS[1]
    print(f"test cells per notebook: {judge:.3f} s in the judge, {bare_tests:.3f} s in a plain "
          f"kernel; the judge's cost {judge - bare_tests:.3f} s = "
          f"{100 * (judge - bare_tests) / per_submission:.1f} % of grading time per notebook "
          f"({per_submission:.2f} s at one worker)")


if __name__ == "__main__":
    main()
