"""Notebook housekeeping: strip outputs for git, execute, and read text outputs back.

``python -m dlgrader.notebooks strip`` clears outputs of every committed notebook (source/,
release/, notebooks/) and keeps ``metadata.nbgrader``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat

__all__ = ["execute", "strip", "text_outputs"]

REPO = Path(__file__).resolve().parent.parent
COMMITTED = ("source", "release", "notebooks")
NONDETERMINISTIC = "nondeterministic"
WIDGET = "application/vnd.jupyter.widget-view+json"


def strip(nb: nbformat.NotebookNode) -> bool:
    """Clear outputs, execution counts and run metadata in place; True if anything changed."""
    changed = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.get("outputs") or cell.get("execution_count") is not None:
            cell.outputs = []
            cell.execution_count = None
            changed = True
        for key in ("execution", "collapsed", "scrolled"):
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
    return changed


def execute(path: Path, timeout: int = 600, env: dict[str, str] | None = None
            ) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in its own folder and return the executed copy."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    if env is None:
        client.execute()
    else:
        client.execute(env={**os.environ, **env})
    return nb


def text_outputs(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell index, text) of every cell's printed text and text/plain results, skipping cells
    tagged ``nondeterministic`` and progress-bar widgets; what two runs of a deterministic
    notebook must agree on. A cell's stream chunks are joined: where a slow cell's output is
    cut into messages depends on timing, not on what it printed."""
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or NONDETERMINISTIC in cell.metadata.get("tags", []):
            continue
        streams = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                streams.append(output.text)
            elif "data" in output and WIDGET in output.data:
                continue  # a progress bar: its text names a fresh widget model every run
            elif "data" in output and "text/plain" in output.data:
                out.append((i, output.data["text/plain"]))
            elif output.output_type == "error":
                out.append((i, f"{output.ename}: {output.evalue}"))
        if streams:
            out.append((i, "".join(streams)))
    return out


def committed_notebooks(root: Path = REPO) -> list[Path]:
    """Every .ipynb under source/, release/ and notebooks/ (checkpoints excluded)."""
    return sorted(p for top in COMMITTED for p in (root / top).rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["strip"]:
        print("usage: python -m dlgrader.notebooks strip", file=sys.stderr)
        return 2
    for path in committed_notebooks():
        nb = nbformat.read(path, as_version=4)
        if strip(nb):
            nbformat.write(nb, path)
            print(f"stripped {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
