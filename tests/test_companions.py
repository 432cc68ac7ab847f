"""The lecture companions in notebooks/ run top to bottom in under a minute, as shipped
(every exercise "not attempted yet") and with the answers of their solution cells filled in
(every exercise "correct"), twice with identical text outputs."""

from __future__ import annotations

import re
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest

from dlgrader.notebooks import REPO, execute, text_outputs
from dlutils.companion import FAILED, NOT_ATTEMPTED, PASSED

COMPANIONS = sorted((REPO / "notebooks").glob("*.ipynb"))
ARTIFACTS = REPO / "test-artifacts" / "companions"
LIMIT_S = 60.0
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
ONE_THREAD = {"NBGRADER_EXECUTION": "", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def tagged(nb: nbformat.NotebookNode, tag: str) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if tag in c.metadata.get("tags", [])]


def solved(path: Path) -> nbformat.NotebookNode:
    """The companion with each exercise cell replaced by the code of its solution cell."""
    nb = nbformat.read(path, as_version=4)
    exercises, solutions = tagged(nb, "exercise"), tagged(nb, "solution")
    assert len(exercises) == len(solutions), "every exercise cell needs one solution cell"
    for ex, sol in zip(exercises, solutions, strict=True):
        assert ex < sol, f"solution cell {sol} comes before its exercise {ex}"
        blocks = CODE_BLOCK.findall(nb.cells[sol].source)
        assert len(blocks) == 1, f"solution cell {sol} needs exactly one ```python block"
        nb.cells[ex].source = blocks[0].rstrip("\n")
    return nb


def timed_run(path: Path) -> tuple[nbformat.NotebookNode, float]:
    start = time.perf_counter()
    nb = execute(path, env=ONE_THREAD)
    return nb, time.perf_counter() - start


def verdicts(nb: nbformat.NotebookNode) -> dict[str, int]:
    text = "\n".join(t for _, t in text_outputs(nb))
    return {mark: len(re.findall(rf"^{mark} ", text, re.M))
            for mark in (PASSED, FAILED, NOT_ATTEMPTED)}


def errors(nb: nbformat.NotebookNode) -> list[str]:
    return [f"cell {i}: {o.ename}: {o.evalue}" for i, c in enumerate(nb.cells)
            if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]


def test_there_is_a_companion_per_week():
    """Course 1 week by week, then course 2's weeks 1-2: the order a file browser shows."""
    names = [p.name for p in COMPANIONS]
    assert [name.split("_")[0] for name in names[:4]] == ["week1", "week2", "week3", "week4"]
    assert names[4:] == ["weeks1_2_course2_improving_deep_networks.ipynb"]


@pytest.mark.slow
@pytest.mark.parametrize("path", COMPANIONS, ids=[p.stem for p in COMPANIONS])
def test_companion_as_shipped(path):
    """Run All on the shipped notebook reaches the end; every exercise is "not attempted yet"."""
    nb, seconds = timed_run(path)
    assert not errors(nb), errors(nb)
    found = verdicts(nb)
    exercises = len(tagged(nb, "exercise"))
    assert exercises >= 2, "a companion needs at least two exercises"
    assert found[PASSED] == found[FAILED] == 0, found
    assert found[NOT_ATTEMPTED] >= exercises, found
    assert seconds < LIMIT_S, f"{path.name} took {seconds:.1f} s"


@pytest.mark.slow
@pytest.mark.parametrize("path", COMPANIONS, ids=[p.stem for p in COMPANIONS])
def test_companion_solved_twice_identically(path, tmp_path):
    """With the solutions filled in, every check says "correct", in two identical runs."""
    target = tmp_path / path.name
    nbformat.write(solved(path), target)
    with ProcessPoolExecutor(max_workers=2) as pool:
        (first, t1), (second, t2) = pool.map(timed_run, [target, target])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    nbformat.write(first, ARTIFACTS / path.name)
    print(f"{path.stem}: {t1:.1f} s and {t2:.1f} s")
    assert not errors(first), errors(first)
    found = verdicts(first)
    assert found[FAILED] == found[NOT_ATTEMPTED] == 0, found
    assert found[PASSED] >= len(tagged(first, "exercise")), found
    assert text_outputs(first) == text_outputs(second)
    assert max(t1, t2) < LIMIT_S, f"{path.name} took {t1:.1f} s and {t2:.1f} s"
