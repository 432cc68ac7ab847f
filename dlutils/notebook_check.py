"""A notebook's public tests, run as a student runs them: ``./course check [NOTEBOOK ...]``.

Each notebook runs top to bottom in a fresh kernel (nbclient; the long demonstration runs go
short, as under grading). Then every test cell is grouped under the function it tests, and the
result reads like a report card: per function passed, failed or not attempted yet, then each
failure's message (what was checked, expected, got, the hint). Exit status 1 when any test fails
or is not attempted, 2 when a notebook cannot be read.

A lecture companion (no test cells; its exercises check themselves with
:func:`dlutils.companion.self_check`) gets the same kind of report per exercise: correct, wrong
(with the check's message and hint) or not attempted yet.

Before running, the notebook is compared with what the course released (nbgrader's checks, as
its Validate does them): a locked or test cell whose source changed (grading uses the released
one), a cell whose type changed, and, when the kit holds the released copy (``release/`` or the
student kit's ``assignments/``), a test cell that was deleted.

These are the public tests only, for the student's benefit: they run in the student's own
kernel, so they can be fooled, and the grade comes from hidden tests that the instructor runs
elsewhere. ``--summary FILE`` appends the same report as Markdown (GitHub Actions' job summary).
The same report answers JupyterLab's Validate button (:mod:`dlutils.validate_server`) and
``./course validate``.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Exercise", "FunctionResult", "NotebookReport", "check_notebook", "main",
           "markdown_report", "released_copy", "summarize", "text_report"]

REPO = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.M)
CELL_LINE = re.compile(r"(Cell In\s*\[\d*\],\s*line \d+|Input In \[\d*\].*line \d+)")
NAME_ERROR = re.compile(r"name '(\w+)' is not defined")
SELF_CHECK = re.compile(r"\bself_check\(\s*(\"|')(.+?)\1")
PASSED, FAILED, TODO = "passed", "failed", "not attempted yet"
# A companion exercise's verdict (dlutils.companion.STATUS) or that its check never ran.
CORRECT, WRONG, NOT_RUN = "correct", "wrong", "did not run"
VERDICT_MIME = "application/vnd.nndl.self-check+json"  # dlutils.companion.VERDICT_MIME


@dataclass
class FunctionResult:
    """The public tests of one graded function (or of one test cell without a function)."""

    name: str
    points: float = 0.0
    tests: int = 0
    failures: list[str] = field(default_factory=list)
    not_attempted: bool = False
    # what each failure's test checks (its docstring's first line), parallel to ``failures``
    checks: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.not_attempted:
            return TODO
        return FAILED if self.failures else PASSED


@dataclass
class Exercise:
    """One self-checking exercise of a lecture companion."""

    name: str
    status: str  # CORRECT, WRONG, TODO or NOT_RUN
    message: str = ""


@dataclass
class NotebookReport:
    """What ``check_notebook`` found in one notebook."""

    path: Path
    functions: list[FunctionResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    exercises: list[Exercise] = field(default_factory=list)
    # cells that differ from the released notebook (nbgrader's checks): one sentence each
    changed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (not self.problems and not self.changed
                and all(f.status == PASSED for f in self.functions)
                and all(e.status == CORRECT for e in self.exercises))


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


def _first_line(source: str, limit: int = 100) -> str:
    """A cell's first non-empty line without quotes (a test's docstring), shortened."""
    line = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    line = line.strip("\"'").strip()
    return line if len(line) <= limit else line[:limit - 3].rstrip() + "..."


def _function_of(grade_id: str, names: list[str]) -> str:
    """The graded function a test cell belongs to: the longest function name its grade id
    starts with (``sigmoid_derivative_test`` -> ``sigmoid_derivative``)."""
    matches = [n for n in names if grade_id == n or grade_id.startswith(n + "_")]
    return max(matches, key=len) if matches else grade_id


def _graded_names(nb) -> list[str]:
    """The graded functions: those its solution cells define."""
    return [name for cell in nb.cells
            if cell.cell_type == "code" and _nbgrader(cell).get("solution")
            for name in DEF.findall(cell.source)]


def _exercise_names(nb) -> list[str]:
    """The exercises a companion checks, in order: the names its cells pass to self_check."""
    names: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            names += [m.group(2) for m in SELF_CHECK.finditer(cell.source)
                      if m.group(2) not in names]
    return names


def _verdicts(nb) -> tuple[dict[str, Exercise], set[int]]:
    """The verdicts self_check published while the notebook ran (by exercise name, the last
    one of a name wins), and the indices (from 1) of the cells that published them."""
    found: dict[str, Exercise] = {}
    cells = set()
    for index, cell in enumerate(nb.cells, 1):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
            verdict = data.get(VERDICT_MIME)
            if isinstance(verdict, dict) and verdict.get("name"):
                status = verdict.get("status")
                found[str(verdict["name"])] = Exercise(
                    str(verdict["name"]), status if status in (CORRECT, WRONG, TODO) else WRONG,
                    ANSI.sub("", str(verdict.get("message") or "")).strip())
                cells.add(index)
    return found, cells


def _exercises(nb, expected: list[str]) -> tuple[list[Exercise], set[int]]:
    """Every exercise: its verdict, or why it has none (its check cell raised, or never ran).
    Returns the exercises and the cells whose errors they already explain."""
    found, explained = _verdicts(nb)
    names = expected + [n for n in _exercise_names(nb) if n not in expected]
    names += [n for n in found if n not in names]
    exercises = []
    for name in names:
        if name in found:
            exercises.append(found[name])
            continue
        calls = [(i, c) for i, c in enumerate(nb.cells, 1) if c.cell_type == "code"
                 and any(m.group(2) == name for m in SELF_CHECK.finditer(c.source))]
        if not calls:
            exercises.append(Exercise(name, NOT_RUN, "its check cell is not in your notebook "
                                      "(deleted?): copy it back from the released notebook"))
            continue
        index, cell = calls[-1]
        error = _error(cell)
        if error is not None:
            explained.add(index)
            exercises.append(Exercise(name, WRONG, f"checking it raised {_message(error)}"))
        else:
            exercises.append(Exercise(name, NOT_RUN, f"its check (cell {index}) did not run"))
    return exercises, explained


def summarize(nb, path: Path, original=None) -> NotebookReport:
    """Group an executed notebook's test cells by function and read its exercises' verdicts
    (no execution here). ``original``: the released notebook, to find deleted test cells and
    exercises."""
    report = NotebookReport(path)
    names = _graded_names(nb)
    if original is not None:
        names += [n for n in _graded_names(original) if n not in names]
    results: dict[str, FunctionResult] = {}
    # a test cell's copies (same grade id) count once, as its last copy (as grading does)
    tests = {_nbgrader(cell).get("grade_id") or f"cell {index}": (index, cell)
             for index, cell in enumerate(nb.cells, 1) if cell.cell_type == "code"
             and _nbgrader(cell).get("grade") and not _nbgrader(cell).get("solution")}
    present = set(tests)
    for index, cell in sorted(tests.values(), key=lambda item: item[0]):
        meta = _nbgrader(cell)
        error = _error(cell)
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
            result.checks.append(_first_line(cell.source))
    for cell in original.cells if original is not None else []:
        meta = _nbgrader(cell)
        if (cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")
                and meta.get("grade_id") not in present):
            name = _function_of(meta.get("grade_id", ""), names)
            result = results.setdefault(name, FunctionResult(name))
            result.tests += 1
            result.points += float(meta.get("points") or 0)
            result.failures.append(f"this test is not in your notebook (deleted?), so it did not "
                                   f"run; grading puts it back and runs it (test id "
                                   f"{meta.get('grade_id')})")
            result.checks.append(_first_line(cell.source))
    report.functions = list(results.values())
    report.exercises, explained = _exercises(
        nb, _exercise_names(original) if original is not None else [])
    undefined: set[str] = set()  # what cells that raised would have defined
    for index, cell in enumerate(nb.cells, 1):
        meta, error = _nbgrader(cell), _error(cell)
        if cell.cell_type != "code" or error is None:
            continue
        missing = NAME_ERROR.match(error.get("evalue", "")) if error.get("ename") == "NameError" \
            else None
        knock_on = missing is not None and missing.group(1) in undefined
        undefined |= _defined_names(cell.source)
        if (index not in explained and not knock_on
                and not (meta.get("grade") and not meta.get("solution"))
                and error.get("ename") != "NotImplementedError"):
            report.problems.append(f"cell {index} raised {_message(error)}")
    return report


def _defined_names(source: str) -> set[str]:
    """Names a cell binds at its top level (assignments, definitions, imports, loops)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # IPython magics, or not Python
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        else:
            names |= {n.id for n in ast.walk(node)
                      if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


def _describe_cell(index: int, cell) -> str:
    meta = _nbgrader(cell)
    kind = "test" if meta.get("grade") and not meta.get("solution") else \
        f"locked {meta.get('cell_type') or cell.cell_type}"
    first = _first_line(cell.source, 70)
    return f"{kind} cell {index}" + (f" (\"{first}\")" if first else "")


def compare_with_release(nb) -> list[str]:
    """nbgrader's checks of a notebook before it runs, one sentence per cell: a cell whose type
    changed, and a locked or test cell whose source changed (its checksum, as nbgrader's
    Validate computes it; skipped when nbgrader is not installed)."""
    try:
        from nbgrader import utils
    except ImportError:
        return []
    found = []
    for index, cell in enumerate(nb.cells, 1):
        meta = _nbgrader(cell)
        if not meta:
            continue
        was = meta.get("cell_type")
        if was and was != cell.cell_type and (utils.is_grade(cell) or utils.is_solution(cell)
                                              or utils.is_locked(cell)):
            found.append(f"{_describe_cell(index, cell)} was a {was} cell and is now a "
                         f"{cell.cell_type} cell: change it back, grading expects {was}.")
        elif utils.is_locked(cell) and "checksum" in meta:
            try:
                same = utils.compute_checksum(cell) == meta["checksum"]
            except Exception:  # metadata too damaged to checksum: nbgrader would fail too
                same = False
            if not same:
                found.append(f"{_describe_cell(index, cell)} was changed: grading uses the "
                             "released version, so your change does not count. Undo it (or "
                             "copy the cell from the released notebook).")
    return found


def released_copy(path: Path) -> Path | None:
    """The notebook as the course released it, when this kit holds it: ``release/`` (the
    instructor's kit) or ``assignments/`` (the student kit) for an assignment of the workspace,
    ``notebooks/`` for a lecture companion (``workspace/companions/``). None for the released
    file itself or a notebook the kit does not know."""
    path = path.resolve()
    folder = path.parent.name
    candidates = ([REPO / "notebooks" / path.name] if folder == "companions" else
                  [REPO / base / folder / path.name for base in ("release", "assignments")])
    return next((c for c in candidates if c.is_file() and c.resolve() != path), None)


def kernel_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a checking kernel: this process's, marked as nbgrader marks a
    validation (short demonstration runs, self-check verdicts published as data). This
    process's own environment is left as it is (a Jupyter server's later kernels inherit it)."""
    env = dict(os.environ)
    env["NBGRADER_EXECUTION"] = env.get("NBGRADER_EXECUTION") or "validate"
    env["NBGRADER_VALIDATING"] = "1"
    env.update(extra or {})
    return env


def check_notebook(path: Path, timeout: int = 600, original: Path | None | bool = True,
                   env: dict[str, str] | None = None) -> NotebookReport:
    """Run ``path`` in a fresh kernel (in its own folder) and summarize its public tests or
    its exercises. ``original``: the released notebook to compare with (True: find it with
    :func:`released_copy`; None or False: none). ``env``: more variables for the kernel."""
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
    if original is True:
        original = released_copy(path)
    try:
        released = nbformat.read(original, as_version=4) if original else None
    except Exception:  # a damaged released copy: compare with nothing
        released = None
    changed = compare_with_release(nb)
    # IPC sockets: a kernel on this machine needs no TCP port (and warns about none).
    manager = KernelManager(kernel_name="python3", transport="ipc",
                            ip=str(Path(tempfile.mkdtemp(prefix="nndl-check-")) / "kernel"))
    client = NotebookClient(nb, km=manager, timeout=timeout, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    problem = None
    try:
        client.execute(env=kernel_environment(env))
    except DeadKernelError:
        problem = "the kernel died (out of memory, or the code ended Python)"
    except TimeoutError:
        problem = f"a cell ran longer than {timeout} s (an endless loop?)"
    finally:
        # The client does not own a kernel manager it was given: end the kernel here (a
        # Jupyter server that validates would otherwise keep one kernel per validation).
        try:
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)
        except Exception:  # already gone
            pass
        shutil.rmtree(Path(manager.ip).parent, ignore_errors=True)
    report = summarize(nb, path, released)
    report.changed = changed
    if problem:
        report.problems.append(problem)
    return report


EXERCISE_MARKS = {CORRECT: "ok  ", WRONG: "FAIL", TODO: "todo", NOT_RUN: "FAIL"}
FUNCTION_MARKS = {PASSED: "ok  ", FAILED: "FAIL", TODO: "todo"}


def _points(points: float) -> str:
    return f"{points:g} point{'s' * (points != 1)}" if points else ""


def _function_detail(f: FunctionResult) -> str:
    return {PASSED: f"{f.tests} test{'s' * (f.tests != 1)} passed",
            FAILED: f"{len(f.failures)} of {f.tests} test{'s' * (f.tests != 1)} failed",
            TODO: TODO}[f.status]


def headline(report: NotebookReport) -> str:
    """One sentence: what passes, what fails, what is not attempted yet."""
    parts = []
    if report.functions or not report.exercises:
        counts = {s: sum(f.status == s for f in report.functions) for s in (PASSED, FAILED, TODO)}
        tail = [f"{counts[FAILED]} failing"] if counts[FAILED] else []
        tail += [f"{counts[TODO]} {TODO}"] if counts[TODO] else []
        parts.append(f"{counts[PASSED]} of {len(report.functions)} functions pass their public "
                     "tests" + ("; " + ", ".join(tail) if tail else ""))
    if report.exercises:
        counts = {s: sum(e.status == s for e in report.exercises)
                  for s in (CORRECT, WRONG, TODO, NOT_RUN)}
        tail = [f"{counts[WRONG]} wrong"] if counts[WRONG] else []
        tail += [f"{counts[TODO]} {TODO}"] if counts[TODO] else []
        tail += [f"{counts[NOT_RUN]} {NOT_RUN}"] if counts[NOT_RUN] else []
        parts.append(f"{counts[CORRECT]} of {len(report.exercises)} exercises correct"
                     + ("; " + ", ".join(tail) if tail else ""))
    if report.changed:
        parts.append(f"{len(report.changed)} locked cell{'s' * (len(report.changed) != 1)} "
                     "changed")
    if report.problems:
        parts.append(f"{len(report.problems)} other problem{'s' * (len(report.problems) != 1)}")
    return ". ".join(parts) + "."


def summary_rows(report: NotebookReport) -> list[tuple[str, str, str, str]]:
    """The report card: (status, name, detail, points) per graded function, then per exercise."""
    rows = [(f.status, f.name, _function_detail(f), _points(f.points)) for f in report.functions]
    rows += [(e.status, e.name, e.status, "") for e in report.exercises]
    return rows


def failure_items(report: NotebookReport) -> list[tuple[str, str]]:
    """(title, message) of every failure, in the order of the report card: a failed test
    (the function and what the test checks), a wrong exercise, a changed cell, a problem."""
    items = []
    for f in report.functions:
        for i, message in enumerate(f.failures):
            check = (f.checks[i] if i < len(f.checks) else "").rstrip(".")
            items.append((f.name + (f" (test: {check})" if check else ""), message))
    items += [(e.name, e.message or e.status) for e in report.exercises
              if e.status in (WRONG, NOT_RUN)]
    items += [("changed cell", text) for text in report.changed]
    items += [("problem", text) for text in report.problems]
    return items


FOOTER = {"functions": "The grade comes from hidden tests your instructor runs.",
          "exercises": "The exercises are not graded: they are for you."}


def text_report(report: NotebookReport) -> str:
    """The report as plain text (no colour codes): the headline, the report card (a row per
    function or exercise), then each failure's message, then what else needs doing."""
    lines = [f"{report.path}: {headline(report)}", ""]
    rows = summary_rows(report)
    width = max((len(name) for _, name, _, _ in rows), default=10)
    detail_width = max((len(detail) for _, _, detail, _ in rows), default=10)
    marks = {**FUNCTION_MARKS, **EXERCISE_MARKS}
    for status, name, detail, points in rows:
        lines.append(f"  {marks[status]}  {name:{width}s}  {detail:{detail_width}s}  "
                     f"{points}".rstrip())
    items = failure_items(report)
    if items:
        lines.append("")
    for title, message in items:
        lines.append(f"{title}:")
        lines += [f"    {ln}" for ln in message.splitlines()]
    lines.append("")
    lines.append(FOOTER["functions"] if report.functions or not report.exercises
                 else FOOTER["exercises"])
    return "\n".join(lines)


def markdown_report(report: NotebookReport) -> str:
    icon = {PASSED: "✅", FAILED: "❌", TODO: "⬜", CORRECT: "✅", WRONG: "❌", NOT_RUN: "❌"}
    lines = [f"### {report.path.name}", "", headline(report)]
    if report.functions:
        lines += ["", "| | function | public tests | points |", "|---|---|---|---|"]
        lines += [f"| {icon[f.status]} | `{f.name}` | {f.status} | {f.points:g} |"
                  for f in report.functions]
    if report.exercises:
        lines += ["", "| | exercise | verdict |", "|---|---|---|"]
        lines += [f"| {icon[e.status]} | {e.name} | {e.status} |" for e in report.exercises]
    for title, message in failure_items(report):
        first, *rest = message.splitlines() or [""]
        lines += ["", f"**{title}**: {first}"] + ([f"```\n{chr(10).join(rest)}\n```"]
                                                  if rest else [])
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
