"""Copied work: how alike the students' solutions of the same graded function are.

For each assignment and each graded function (a solution cell ``<function>_solution`` of the
source notebook), each student's cell is read from ``submitted/`` by its grade_id, with the
grading pipeline's repairs: the last copy of a duplicated cell counts, a renamed notebook is
matched to the released one; an unreadable notebook or a missing cell is skipped with a note.
Only what the student wrote is compared: the cell less the lines of the release's template
(def line, docstring, comments, ``# YOUR CODE HERE``, the code around the stub), and the
template's fingerprints are copydetect's boilerplate too. `copydetect
<https://pypi.org/project/copydetect/>`_ (MIT; the Winnowing method of MOSS) turns the rest
into tokens (every name becomes ``V``, every string ``S``; spaces and comments go), takes
every k-gram of ``noise`` tokens as a fingerprint (window 1: the guarantee threshold equals
the noise threshold, so the result does not depend on Python's string hash seed) and compares
every pair of students, offline. A "token" is copydetect's unit: one character of that
filtered code, a name counting as one.

Short and shared code must not flood the list:

* a function whose reference solution (the source cell less the template) has fewer than
  ``min_tokens`` tokens is not compared: everyone writes the same line for ``sigmoid``;
* a fingerprint found in the solutions of more than ``common_share`` of the students who
  attempted a function is boilerplate too, once at least ``min_class`` students attempted it
  (below that a share says little: three copies in a class of five are 60 %); a solution the
  whole class copied from one place therefore looks like "how everyone writes it";
* a solution with no fingerprint left (blank, the release itself, only template or common
  code) counts as not attempted and pairs with nobody.

Scores: per pair and function, shared tokens over compared tokens of both solutions,
``(overlap_a + overlap_b) / (tokens_a + tokens_b)`` (1 = the same code up to names, comments
and spacing); per pair, the same sums over the functions both attempted (a token-weighted mean
of the function scores). Pairs are ranked by that score; those at or above ``threshold`` get a
side-by-side page (:mod:`dlgrader.similarity_page`). A high score is a reason to read the two
solutions, not a verdict. Output (:func:`write`): ``pairs.csv``, one page per pair above the
threshold, ``notes.txt``; :func:`markdown` is the report's section "Similar solutions".
"""

from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import io
import itertools
import re
import statistics
import textwrap
from pathlib import Path

import nbformat

__all__ = ["Settings", "analyse", "compare", "functions", "markdown", "own_code",
           "report_section", "student_solutions", "write"]

#: A notebook larger than this is not read (a submission is hostile input).
MAX_NOTEBOOK_BYTES = 20_000_000
#: A solution cell longer than this is cut (a note says so).
MAX_CELL_CHARS = 100_000
#: The report's section lists at most this many pairs and notes (all are in the files).
SHOWN = 100


@dataclasses.dataclass(frozen=True)
class Settings:
    """The knobs (see the module docstring)."""

    noise: int = 12            # tokens of the shortest match counted (copydetect's k)
    min_tokens: int = 40       # shorter reference solutions: the function is not compared
    common_share: float = 0.5  # a fingerprint in more of the class is boilerplate ...
    min_class: int = 10        # ... once this many students attempted the function
    threshold: float = 0.7     # pairs at or above it get a page and a line in the report


@dataclasses.dataclass(frozen=True)
class Function:
    """A graded function of an assignment: its solution cell in the release and the source."""

    key: str             # grade_id, or "notebook:grade_id" when the assignment has several
    name: str            # for people: the function's name
    notebook: str        # the released notebook's file name
    grade_id: str
    template: str        # the released cell (what every student starts from)
    reference: str | None  # the source cell (None without source/)


@dataclasses.dataclass
class Pair:
    """Two students of one assignment: per compared function (overlap_a, overlap_b, tokens_a,
    tokens_b), and the aggregated score."""

    assignment: str
    a: str
    b: str
    functions: dict[str, tuple[float, float, float, float]]
    page: str | None = None  # relative path of the side-by-side page, when written

    @property
    def tokens(self) -> float:
        return sum(ta + tb for _, _, ta, tb in self.functions.values())

    @property
    def score(self) -> float:
        shared = sum(oa + ob for oa, ob, _, _ in self.functions.values())
        return shared / self.tokens if self.tokens else 0.0

    def function_score(self, name: str) -> float:
        oa, ob, ta, tb = self.functions[name]
        return (oa + ob) / (ta + tb)


@dataclasses.dataclass
class Result:
    """Everything one run found; ``prints`` keeps the fingerprints for the pages."""

    settings: Settings
    pairs: list[Pair] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    compared: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    short: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    prints: dict[str, dict[str, dict]] = dataclasses.field(default_factory=dict, repr=False)

    def above(self) -> list[Pair]:
        """The pairs at or above the threshold, best first."""
        return [p for p in self.pairs if p.score >= self.settings.threshold]


# ----------------------------------------------------------------------------- reading


def _notebooks(folder: Path) -> dict[str, nbformat.NotebookNode]:
    """The course's own notebooks of a folder (source/ or release/), by file name."""
    return {p.name: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}


def _solution_cells(nb: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> source of the code cells with nbgrader metadata; the last copy of a
    duplicated grade_id wins (as the grading pipeline grades it)."""
    cells = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader") if isinstance(cell, dict) else None
        if not isinstance(meta, dict) or cell.get("cell_type") != "code":
            continue
        grade_id, source = meta.get("grade_id"), cell.get("source", "")
        if isinstance(grade_id, str):
            cells[grade_id] = "".join(source) if isinstance(source, list) else str(source)
    return cells


def functions(course_root: Path, assignment: str) -> list[Function]:
    """The graded functions of an assignment, in notebook order: the solution cells of the
    source notebooks (else of the released ones), each with its released cell as template."""
    release = _notebooks(Path(course_root) / "release" / assignment)
    source = _notebooks(Path(course_root) / "source" / assignment)
    found = []
    for name, nb in (source or release).items():
        template = _solution_cells(release.get(name, {}))
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id", "")
            if meta.get("solution") and grade_id.endswith("_solution") and grade_id in template:
                found.append(Function(grade_id, grade_id.removesuffix("_solution"), name,
                                      grade_id, template[grade_id],
                                      _solution_cells(source[name]).get(grade_id)
                                      if name in source else None))
    if len({f.notebook for f in found}) > 1:
        found = [dataclasses.replace(f, key=f"{Path(f.notebook).stem}:{f.grade_id}",
                                     name=f"{Path(f.notebook).stem}: {f.name}") for f in found]
    return found


def _read_student_notebook(path: Path) -> nbformat.NotebookNode:
    """A student's notebook; ValueError saying why it cannot be read."""
    if path.is_symlink():
        raise ValueError("it is a link (links in a submission are not followed)")
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"it has {size} bytes, more than the {MAX_NOTEBOOK_BYTES} read")
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8", errors="replace"), as_version=4)
    except Exception as exc:  # any parse error: this notebook is skipped, the run goes on
        raise ValueError(f"it is not a readable notebook ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})") from exc
    if not isinstance(nb.get("cells"), list):
        raise ValueError("it has no list of cells")
    return nb


def _match_notebooks(expected: list[str], present: list[str]) -> tuple[dict[str, str], list[str]]:
    """Released notebook name -> the student's file name, and notes: the same name, or the one
    extra notebook for the one missing (a rename, as the grading pipeline matches it)."""
    missing = [n for n in expected if n not in present]
    extra = [n for n in present if n not in expected]
    matched = {n: n for n in expected if n in present}
    notes = []
    if len(missing) == 1 and len(extra) == 1:
        matched[missing[0]] = extra[0]
        notes.append(f"notebook renamed: read {extra[0]} as {missing[0]}")
    else:
        notes += [f"no notebook {n}: its functions are not compared" for n in missing]
    return matched, notes


def student_solutions(course_root: Path, assignment: str, funcs: list[Function]
                      ) -> tuple[dict[str, dict[str, str]], list[str]]:
    """student -> function key -> the source of their solution cell, from ``submitted/``; and
    notes ("assignment / student: ...") on what was skipped and why."""
    solutions: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    expected = sorted({f.notebook for f in funcs})
    for folder in sorted((Path(course_root) / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        if student.startswith(".") or not folder.is_dir():
            continue

        def note(text: str, student: str = student) -> None:
            notes.append(f"{assignment} / {student}: {text}")

        if folder.is_symlink() or folder.parent.is_symlink():
            note("the submission folder is a link: not read")
            continue
        present = sorted(p.name for p in folder.glob("*.ipynb"))
        matched, matching = _match_notebooks(expected, present)
        for text in matching:
            note(text)
        mine = solutions.setdefault(student, {})
        for notebook, filename in matched.items():
            try:
                cells = _solution_cells(_read_student_notebook(folder / filename))
            except (OSError, ValueError) as bad:
                note(f"{filename} skipped: {bad}")
                continue
            for f in (f for f in funcs if f.notebook == notebook):
                if f.grade_id not in cells:
                    note(f"no cell {f.grade_id} in {filename}: {f.name} not compared")
                    continue
                code = cells[f.grade_id]
                if len(code) > MAX_CELL_CHARS:
                    note(f"cell {f.grade_id} cut to its first {MAX_CELL_CHARS} characters")
                    code = code[:MAX_CELL_CHARS]
                mine[f.key] = code
    return solutions, notes


# ----------------------------------------------------------------------------- comparing


def own_code(cell: str, template: str) -> str:
    """What a student wrote in a cell: its non-blank lines that are not lines of the
    released template (compared without surrounding spaces), dedented."""
    given = {line.strip() for line in template.splitlines()}
    kept = [line.rstrip() for line in cell.splitlines()
            if line.strip() and line.strip() not in given]
    return textwrap.dedent("\n".join(kept))


def _fingerprint(code: str, noise: int, boilerplate: list[int] | None = None):
    """copydetect's fingerprint of Python ``code``: every k-gram (window 1), boilerplate
    hashes removed."""
    import copydetect

    return copydetect.CodeFingerprint("solution.py", noise, 1, boilerplate=boilerplate,
                                      language="python", fp=io.StringIO(code))


def _function_prints(f: Function, own: dict[str, str], settings: Settings
                     ) -> tuple[dict[str, object], float]:
    """The fingerprints of the students who attempted ``f`` (template and class-common code
    removed), and the size of the reference solution in tokens."""
    template = sorted(_fingerprint(f.template, settings.noise).hashes)
    if f.reference is not None:
        size = float(_fingerprint(own_code(f.reference, f.template), settings.noise,
                                  template).token_coverage)
        if size < settings.min_tokens:
            return {}, size
    prints = {s: _fingerprint(code, settings.noise, template) for s, code in own.items()}
    prints = {s: fp for s, fp in prints.items() if fp.token_coverage > 0}
    if f.reference is None:  # no source notebook: how long the class's solutions are
        size = float(statistics.median([fp.token_coverage for fp in prints.values()] or [0]))
    if len(prints) >= settings.min_class:
        counts = collections.Counter(h for fp in prints.values() for h in fp.hashes)
        common = {h for h, n in counts.items() if n > settings.common_share * len(prints)}
        if common:
            boilerplate = sorted(set(template) | common)
            prints = {s: _fingerprint(own[s], settings.noise, boilerplate) for s in prints}
            prints = {s: fp for s, fp in prints.items() if fp.token_coverage > 0}
    return prints, size


def compare(assignment: str, funcs: list[Function], solutions: dict[str, dict[str, str]],
            settings: Settings = Settings()) -> Result:
    """Compare every pair of students on every long enough function of one assignment."""
    import copydetect

    result = Result(settings)
    result.compared[assignment], result.short[assignment] = [], []
    per_pair: dict[tuple[str, str], dict[str, tuple[float, float, float, float]]] = {}
    kept: dict[str, dict] = {}
    for f in funcs:
        own = {s: own_code(cells[f.key], f.template)
               for s, cells in solutions.items() if f.key in cells}
        prints, size = _function_prints(f, own, settings)
        if size < settings.min_tokens:
            result.short[assignment].append(f.name)
            continue
        result.compared[assignment].append(f.name)
        kept[f.name] = prints
        for a, b in itertools.combinations(sorted(prints), 2):
            fa, fb = prints[a], prints[b]
            overlap = (0.0, 0.0)
            if fa.hashes & fb.hashes:
                overlap_a, (_, share_b), _ = copydetect.compare_files(fa, fb)
                overlap = (float(overlap_a), float(share_b) * float(fb.token_coverage))
            per_pair.setdefault((a, b), {})[f.name] = (*overlap, float(fa.token_coverage),
                                                      float(fb.token_coverage))
    result.pairs = sorted((Pair(assignment, a, b, scores) for (a, b), scores in per_pair.items()),
                          key=lambda p: (-p.score, -p.tokens, p.a, p.b))
    result.prints[assignment] = kept
    return result


def analyse(course_root: Path, assignments: list[str] | None = None,
            settings: Settings = Settings()) -> Result:
    """Compare the submissions of each assignment (default: every assignment of
    ``submitted/`` with a released notebook); one assignment that fails is a note."""
    course_root = Path(course_root)
    if assignments is None:
        assignments = sorted({p.name for p in (course_root / "submitted").glob("*/*")
                              if p.is_dir() and not p.name.startswith(".")})
    result = Result(settings)
    for assignment in assignments:
        if not any((course_root / "release" / assignment).glob("*.ipynb")):
            result.notes.append(f"{assignment}: no released notebook in release/{assignment}: "
                                "not compared (the template is needed)")
            continue
        try:
            funcs = functions(course_root, assignment)
            solutions, notes = student_solutions(course_root, assignment, funcs)
            one = compare(assignment, funcs, solutions, settings)
        except Exception as error:  # one broken assignment must not cost the others
            result.notes.append(f"{assignment}: could not be compared: "
                                f"{type(error).__name__}: {error}")
            continue
        result.notes += notes
        result.pairs += one.pairs
        result.compared.update(one.compared)
        result.short.update(one.short)
        result.prints.update(one.prints)
    return result


# ----------------------------------------------------------------------------- output


def _safe(name: str) -> str:
    """A student id as a file name: letters, digits, '.', '_' and '-' only."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".")[:60] or "_"


def write(result: Result, out_dir: Path) -> Path:
    """``pairs.csv`` (every compared pair, best first in each assignment), a side-by-side page
    ``<assignment>/<a>__<b>.html`` for each pair at or above the threshold (earlier pages of
    those assignments are removed) and ``notes.txt``; returns ``out_dir``."""
    from . import similarity_page

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for assignment in result.compared:
        for old in (out_dir / assignment).glob("*.html"):
            old.unlink()
    used: set[str] = set()
    for pair in result.above():
        stem = f"{pair.assignment}/{_safe(pair.a)}__{_safe(pair.b)}"
        page, n = f"{stem}.html", 1
        while page in used:
            n += 1
            page = f"{stem}-{n}.html"
        used.add(page)
        pair.page = page
        path = out_dir / page
        path.parent.mkdir(parents=True, exist_ok=True)
        prints = result.prints.get(pair.assignment, {})
        path.write_text(similarity_page.render(pair, prints, result.settings), encoding="utf-8")
    with (out_dir / "pairs.csv").open("w", newline="", encoding="utf-8") as fh:
        table = csv.writer(fh)
        table.writerow(["assignment", "student_a", "student_b", "score", "functions", "tokens",
                        "function_scores", "page"])
        for pair in sorted(result.pairs, key=lambda p: (p.assignment, -p.score, -p.tokens,
                                                        p.a, p.b)):
            table.writerow([pair.assignment, pair.a, pair.b, f"{pair.score:.3f}",
                            len(pair.functions), f"{pair.tokens:.0f}",
                            "; ".join(f"{name}={pair.function_score(name):.3f}"
                                      for name in pair.functions), pair.page or ""])
    (out_dir / "notes.txt").write_text("".join(f"{n}\n" for n in result.notes) or
                                       "nothing was skipped\n", encoding="utf-8")
    return out_dir


def _md(text: object) -> str:
    """Text safe in Markdown: the characters of HTML, links, code, emphasis and tables
    backslash-escaped (CommonMark), whitespace collapsed."""
    return re.sub(r"([\\`*\[\]()<>!|&~])", r"\\\1", " ".join(str(text).split()))


def markdown(result: Result, link_base: str = "similarity") -> list[str]:
    """The report's section "Similar solutions" (pages linked under ``link_base``)."""
    from urllib.parse import quote

    s = result.settings
    above = result.above()
    lines = ["## Similar solutions", "",
             "Every pair of students' solutions of the same graded function, compared with "
             f"copydetect: matches of at least {s.noise} tokens (a name is one token), the "
             "release's template and code found in more than "
             f"{s.common_share:.0%} of a class (of {s.min_class} or more) left out; functions "
             f"whose reference solution has fewer than {s.min_tokens} tokens are not compared. "
             "Score: shared tokens over compared tokens, over the functions both students "
             "attempted (1 = the same code up to names, comments and spacing). A high score "
             "is a reason to read both solutions, not a verdict. "
             f"Every pair: `{link_base}/pairs.csv`.", ""]
    if above:
        rows = [f"| {_md(p.assignment)} | {_md(p.a)} and {_md(p.b)} | {p.score:.2f} | "
                + _md(", ".join(f"{name} {p.function_score(name):.2f}" for name in p.functions))
                + (f" | [side by side]({quote(f'{link_base}/{p.page}')}) |" if p.page else " | |")
                for p in above[:SHOWN]]
        lines += [f"{len(above)} pair(s) at or above the threshold {s.threshold:.2f}:", "",
                  "| assignment | students | score | per function | page |",
                  "|---|---|---|---|---|", *rows, ""]
        if len(above) > SHOWN:
            lines += [f"The first {SHOWN} are listed; all of them are in pairs.csv.", ""]
    else:
        lines += [f"No pair of students is at or above the threshold {s.threshold:.2f} "
                  f"({len(result.pairs)} pair(s) compared).", ""]
    for assignment, names in result.compared.items():
        short = result.short.get(assignment) or []
        lines.append(f"- {_md(assignment)}: compared {_md(', '.join(names) or 'nothing')}"
                     + (f"; too short to tell apart: {_md(', '.join(short))}" if short else ""))
    if result.notes:
        lines += ["", f"Not compared ({len(result.notes)}; all in "
                  f"`{link_base}/notes.txt`):", ""]
        lines += [f"- {_md(note)}" for note in result.notes[:SHOWN]]
    return lines + [""]


def report_section(course_root: Path, out_dir: Path, threshold: float | None = None,
                   assignments: list[str] | None = None) -> str:
    """Compare, write ``out_dir`` (see :func:`write`) and return the Markdown section whose
    links are relative to ``out_dir``'s parent (the report's folder)."""
    settings = Settings() if threshold is None else Settings(threshold=threshold)
    result = analyse(course_root, assignments, settings)
    write(result, out_dir)
    return "\n".join(markdown(result, Path(out_dir).name))


# ----------------------------------------------------------------------------- commands


def _threshold(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a score between 0 and 1, not {text}")
    return value


def add_command(sub: argparse._SubParsersAction, default_course: Path) -> None:
    """The ``similarity`` subcommand of ``python -m dlgrader``."""
    command = sub.add_parser(
        "similarity", help="pairs of students with similar solutions (copydetect)",
        description="Compare every pair of students' solutions of each graded function "
                    "(submitted/ only, nothing is run) and write DIR/pairs.csv, a side-by-side "
                    "page per pair at or above the threshold, DIR/notes.txt and "
                    "DIR/similarity.md.")
    command.add_argument("assignments", nargs="*",
                         help="default: every assignment of submitted/")
    command.add_argument("--out", type=Path, required=True, metavar="DIR")
    command.add_argument("--threshold", type=_threshold, default=Settings.threshold, metavar="T",
                         help=f"score from 0 to 1 (default {Settings.threshold})")
    command.add_argument("--course", type=Path, default=default_course,
                         help="the course folder (default: this kit)")


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """--no-similarity and --similarity-threshold, for the report command."""
    parser.add_argument("--no-similarity", action="store_true",
                        help="leave out the section on similar solutions")
    parser.add_argument("--similarity-threshold", type=_threshold, default=None, metavar="T",
                        help=f"pairs listed from this score on (default {Settings.threshold})")


def run_command(args: argparse.Namespace) -> int:
    """``similarity [A ...] --out DIR``: write the files, print the pairs above the threshold."""
    course = args.course.resolve()
    known = {p.name for p in (course / "release").iterdir() if p.is_dir()} \
        if (course / "release").is_dir() else set()
    unknown = sorted(set(args.assignments) - known)
    if unknown:
        print(f"error: no such assignment in {course / 'release'}: {', '.join(unknown)} "
              f"(known: {', '.join(sorted(known)) or 'none'})")
        return 1
    result = analyse(course, args.assignments or None, Settings(threshold=args.threshold))
    write(result, args.out)
    text = "\n".join(markdown(result, "."))
    (args.out / "similarity.md").write_text(text, encoding="utf-8")
    above = result.above()
    print(f"{len(result.pairs)} pair(s) compared; {len(above)} at or above {args.threshold:.2f}"
          + (":" if above else ""))
    for pair in above:
        print(f"  {pair.score:.2f}  {pair.assignment}  {pair.a} and {pair.b}  "
              f"{args.out / pair.page}")
    if result.notes:
        print(f"{len(result.notes)} note(s) on what was not compared: {args.out / 'notes.txt'}")
    print(f"wrote {args.out / 'pairs.csv'} and {args.out / 'similarity.md'}")
    return 0
