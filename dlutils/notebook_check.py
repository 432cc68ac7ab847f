"""A notebook's public tests, run as a student runs them: ``./course check [NOTEBOOK ...]``.

Each notebook runs top to bottom in a fresh kernel (nbclient; the long demonstration runs go
short, as under grading). Then every test cell is grouped under the function it tests, and the
result reads like a report card: per function passed, failed or not attempted yet, then each
failure's message (what was checked, expected, got, the hint). Exit status 1 when any test fails
or is not attempted, 2 when a notebook cannot be read.

These are the public tests only, for the student's benefit: they run in the student's own
kernel, so they can be fooled, and the grade comes from hidden tests that the instructor runs
elsewhere. ``--summary FILE`` appends the same report as Markdown (GitHub Actions' job summary).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FunctionResult", "NotebookReport", "check_notebook", "main"]

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.M)
CELL_LINE = re.compile(r"(Cell In\s*\[\d*\],\s*line \d+|Input In \[\d*\].*line \d+)")
PASSED, FAILED, TODO = "passed", "failed", "not attempted yet"


@dataclass
class FunctionResult:
    """The public tests of one graded function (or of one test cell without a function)."""

    name: str
    points: float = 0.0
    tests: int = 0
    failures: list[str] = field(default_factory=list)
    not_attempted: bool = False

    @property
    def status(self) -> str:
        if self.not_attempted:
            return TODO
        return FAILED if self.failures else PASSED


@dataclass
class NotebookReport:
    """What ``check_notebook`` found in one notebook."""

    path: Path
    functions: list[FunctionResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(f.status == PASSED for f in self.functions)


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _error(cell) -> dict | None:
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def _message(error: dict) -> str:
    """A failure in words: a check's own message; for another error its type, message and the
    line of the cell where it happened (the student's code or the test), nothing of the kit."""
    name, value = error.get("ename", "Error"), ANSI.sub("", error.get("evalue", "")).strip()
    if name == "AssertionError" or name.endswith("CheckError"):
        return value or "a check failed (no message)"
    where = ""
    for frame in reversed(error.get("traceback", [])):
        plain = ANSI.sub("", frame)
        found = CELL_LINE.search(plain)
        if found:
            code = [ln.strip() for ln in plain.splitlines()
                    if ln.lstrip().startswith("---->") or ln.lstrip().startswith("->")]
            code_line = re.sub(r"^-+>\s*\d*\s*", "", code[-1]) if code else ""
            where = f" ({found.group(1)}{': ' + code_line if code_line else ''})"
            break
    return f"{name}: {value}{where}" if value else f"{name}{where}"


def _function_of(grade_id: str, names: list[str]) -> str:
    """The graded function a test cell belongs to: the longest function name its grade id
    starts with (``sigmoid_derivative_test`` -> ``sigmoid_derivative``)."""
    matches = [n for n in names if grade_id == n or grade_id.startswith(n + "_")]
    return max(matches, key=len) if matches else grade_id


def summarize(nb, path: Path) -> NotebookReport:
    """Group an executed notebook's test cells by function (no execution here)."""
    report = NotebookReport(path)
    names = []
    for cell in nb.cells:
        if cell.cell_type == "code" and _nbgrader(cell).get("solution"):
            names += DEF.findall(cell.source)
    results: dict[str, FunctionResult] = {}
    for index, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code":
            continue
        meta, error = _nbgrader(cell), _error(cell)
        if meta.get("grade") and not meta.get("solution"):
            name = _function_of(meta.get("grade_id", f"cell {index}"), names)
            result = results.setdefault(name, FunctionResult(name))
            result.tests += 1
            result.points += float(meta.get("points") or 0)
            if error is None:
                continue
            if error.get("ename") == "NotImplementedError":
                result.not_attempted = True
            else:
                result.failures.append(_message(error))
        elif error is not None and error.get("ename") not in ("NotImplementedError",):
            report.problems.append(f"cell {index} raised {_message(error)}")
    report.functions = list(results.values())
    return report


def check_notebook(path: Path, timeout: int = 600) -> NotebookReport:
    """Run ``path`` in a fresh kernel (in its own folder) and summarize its public tests."""
    import nbformat
    from jupyter_client import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # any unreadable file: say so, in words
        report = NotebookReport(path)
        report.problems.append(f"cannot read the notebook ({type(exc).__name__}: {exc})")
        return report
    os.environ.setdefault("NBGRADER_EXECUTION", "validate")
    # IPC sockets: a kernel on this machine needs no TCP port (and warns about none).
    manager = KernelManager(kernel_name="python3", transport="ipc",
                            ip=str(Path(tempfile.mkdtemp(prefix="nndl-check-")) / "kernel"))
    client = NotebookClient(nb, km=manager, timeout=timeout, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    problem = None
    try:
        client.execute()
    except DeadKernelError:
        problem = "the kernel died (out of memory, or the code ended Python)"
    except TimeoutError:
        problem = f"a cell ran longer than {timeout} s (an endless loop?)"
    finally:
        shutil.rmtree(Path(manager.ip).parent, ignore_errors=True)
    report = summarize(nb, path)
    if problem:
        report.problems.append(problem)
    return report


def text_report(report: NotebookReport) -> str:
    lines = [f"{report.path}: public tests"]
    marks = {PASSED: "ok  ", FAILED: "FAIL", TODO: "todo"}
    width = max((len(f.name) for f in report.functions), default=10)
    for f in report.functions:
        detail = {PASSED: f"{f.tests} test{'s' * (f.tests != 1)} passed",
                  FAILED: f"{len(f.failures)} of {f.tests} failed",
                  TODO: TODO}[f.status]
        points = f"  ({f.points:g} point{'s' * (f.points != 1)})" if f.points else ""
        lines.append(f"  {marks[f.status]}  {f.name:{width}s}  {detail}{points}")
    failing = [f for f in report.functions if f.failures]
    if failing:
        lines.append("")
        for f in failing:
            for message in f.failures:
                lines.append(f"{f.name}:")
                lines += [f"    {ln}" for ln in message.splitlines()]
    for problem in report.problems:
        lines.append(f"problem: {problem}")
    counts = {s: sum(f.status == s for f in report.functions) for s in (PASSED, FAILED, TODO)}
    tail = [f"{counts[FAILED]} failing (messages above)"] if counts[FAILED] else []
    tail += [f"{counts[TODO]} {TODO}"] if counts[TODO] else []
    lines.append(f"{counts[PASSED]} of {len(report.functions)} functions pass their public "
                 f"tests" + ("; " + ", ".join(tail) if tail else "") + ". The grade comes from "
                 "hidden tests your instructor runs.")
    return "\n".join(lines)


def markdown_report(report: NotebookReport) -> str:
    icon = {PASSED: "✅", FAILED: "❌", TODO: "⬜"}
    lines = [f"### {report.path.name}", "", "| | function | public tests | points |",
             "|---|---|---|---|"]
    for f in report.functions:
        lines.append(f"| {icon[f.status]} | `{f.name}` | {f.status} | {f.points:g} |")
    for f in report.functions:
        for message in f.failures:
            first, *rest = message.splitlines() or [""]
            lines += ["", f"**{f.name}**: {first}"] + ([f"```\n{chr(10).join(rest)}\n```"]
                                                      if rest else [])
    lines += [f"\n**problem:** {p}" for p in report.problems]
    return "\n".join(lines) + "\n\n"


def _default_notebooks(workspace: Path) -> list[Path]:
    """Every assignment notebook of the workspace (the companions check themselves)."""
    return sorted(p for p in workspace.glob("*/*.ipynb")
                  if p.parent.name != "companions" and ".ipynb_checkpoints" not in p.parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./course check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to check (default: every assignment in --workspace)")
    parser.add_argument("--workspace", type=Path, default=Path("workspace"))
    parser.add_argument("--summary", type=Path, default=os.environ.get("GITHUB_STEP_SUMMARY")
                        or None, help="append a Markdown report here (default: "
                                      "$GITHUB_STEP_SUMMARY when set)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or _default_notebooks(args.workspace)
    if not notebooks:
        print(f"no notebooks to check in {args.workspace}/ (run ./course lab first, or name "
              f"a notebook)")
        return 0
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    status = 0
    for path in notebooks:
        report = check_notebook(path, args.timeout)
        print(text_report(report) + "\n", flush=True)
        if args.summary:
            with open(args.summary, "a", encoding="utf-8") as out:
                out.write(markdown_report(report))
        if not report.ok:
            status = max(status, 2 if any(p.startswith("cannot read") for p in report.problems)
                         else 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
