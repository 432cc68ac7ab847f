"""Every source notebook runs top to bottom as a person runs it (full demonstration runs),
twice, with identical text outputs (cells tagged ``nondeterministic`` aside)."""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest

from dlgrader.notebooks import REPO, execute, text_outputs

NOTEBOOKS = sorted((REPO / "source").glob("*/*.ipynb"))
ARTIFACTS = REPO / "test-artifacts" / "executed"


def timed_run(path: Path) -> tuple[nbformat.NotebookNode, float]:
    start = time.perf_counter()
    # One BLAS thread per kernel: the two runs share the machine's two cores.
    nb = execute(path, env={"NBGRADER_EXECUTION": "", "OPENBLAS_NUM_THREADS": "1",
                            "OMP_NUM_THREADS": "1"})
    return nb, time.perf_counter() - start


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.parent.name for p in NOTEBOOKS])
def test_notebook_runs_twice_identically(path):
    """Two independent runs (in parallel, one kernel each) print exactly the same numbers."""
    with ProcessPoolExecutor(max_workers=2) as pool:
        (first, t1), (second, t2) = pool.map(timed_run, [path, path])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    nbformat.write(first, ARTIFACTS / path.name)
    print(f"{path.parent.name}: {t1:.1f} s and {t2:.1f} s")
    one, two = text_outputs(first), text_outputs(second)
    assert one, "the notebook printed nothing"
    assert one == two
