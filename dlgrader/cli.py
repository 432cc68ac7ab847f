"""The instructor's commands: ``python -m dlgrader COMMAND`` (``./course COMMAND`` sets up first).

    release [A ...]                  regenerate release/ from source/
    selfcheck [A ...]                reference solutions full marks, blank releases zero
    collect folder SRC | zip A ZIP | git ROSTER [--deadline WHEN] | exchange [A ...]
                                     bring submissions into submitted/ (exchange: nbgrader's
                                     exchange on the course JupyterHub, dlgrader.exchange)
    return-feedback [A ...]          feedback/ to the exchange (Fetch Feedback on the hub)
    hub-setup [--instructor USER]    (root) the course JupyterHub's environment, groups and
                                     exchange (dlgrader.hub, hub/)
    grade [A ...] [--student S] [--jobs N | --scheduler ADDRESS] [--no-sandbox] [--force]
          [--exit-zero]              autograde (sandboxed) and write feedback; --scheduler
                                     grades on a Dask cluster (dlgrader.distributed); exit 1
                                     when a submission could not be graded
    export OUT | report OUT [--roster CSV] [--missing-as-zero] [--lms canvas|moodle|brightspace]
                                     grades as CSV/JSON (a roster student without work:
                                     "missing"; a column per graded function, and
                                     functions_<A>.csv); plots and a Markdown summary;
                                     --lms: also the file that LMS imports (dlgrader.lms_export)
    roster import FILE [--format canvas|moodle|brightspace] [--id-column COLUMN]
                                     merge an LMS class list into roster.csv: ids, names and
                                     the LMS identity --lms needs (dlgrader.lms_roster)
    similarity [A ...] --out DIR [--threshold T]
                                     pairs of students with similar solutions (copydetect,
                                     dlgrader.similarity); report runs it (--no-similarity)
    validate NOTEBOOK ...            the student's check, failing loudly (exit 1)
    grade-student A FOLDER [--out DIR] [--min-score P]
                                     grade one student's folder in a scratch course
    student-kit OUT [--zip]          build what students receive (no solution, no grader)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import grading, lms_export, lms_roster, pipeline, report, runlog
from .sandbox import Limits

__all__ = ["main"]


def _pipeline_options(args: argparse.Namespace) -> pipeline.Options:
    return pipeline.Options(jobs=args.jobs, use_sandbox=not args.no_sandbox, force=args.force,
                            cell_timeout=args.cell_timeout, call_timeout=args.call_timeout,
                            notebook_timeout=args.notebook_timeout,
                            limits=Limits(memory_mb=args.memory_mb))


def _add_grading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=int, default=1, help="parallel workers")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run student code WITHOUT the bubblewrap sandbox (unsafe)")
    parser.add_argument("--force", action="store_true", help="regrade unchanged submissions")
    parser.add_argument("--cell-timeout", type=int, default=60, help="seconds per cell")
    parser.add_argument("--call-timeout", type=int, default=10,
                        help="seconds one call of a student function may take in a test")
    parser.add_argument("--notebook-timeout", type=int, default=600,
                        help="seconds per notebook")
    parser.add_argument("--memory-mb", type=int, default=4096, help="kernel memory limit")


def cmd_grade(args: argparse.Namespace) -> int:
    """Grade, then print one table of this run's submissions and what needs attention.

    The terminal gets the progress bar (stderr) and the summary (stdout); warnings, nbgrader's
    log and the kernels' output go to ``grading-state/grade.log``. Exit 1 when a submission
    ended in "error" (0 with ``--exit-zero``)."""
    args.course = args.course.resolve()
    names = _assignments(args.assignments, args.course)
    start = time.perf_counter()
    if args.scheduler:
        from . import distributed

        if args.jobs != 1:
            raise SystemExit("--jobs and --scheduler exclude each other: with --scheduler, "
                             "the cluster's workers decide how many students run at once")

        states = distributed.grade(args.course, names, args.scheduler, args.student,
                                   _pipeline_options(args))
    else:
        states = pipeline.grade(args.course, names, args.student, _pipeline_options(args))
    states = sorted(states, key=lambda s: (s["assignment"], s["student"]))
    errors = sum(s["status"] == "error" for s in states)
    if not states:
        print("nothing to grade: every submission is graded and unchanged (--force regrades)")
        return 0
    print(grade_summary(states, _run_scores(args.course, states)))
    where = [f"feedback in feedback/, state records in {pipeline.STATE}/"]
    if not args.scheduler:
        where.append(f"warnings and kernel output in {pipeline.log_path(args.course)}")
    print(f"graded {len(states) - errors}, errors {errors} in "
          f"{time.perf_counter() - start:.0f} s; " + "; ".join(where))
    return 1 if errors and not args.exit_zero else 0


def _run_scores(course: Path, states: list[dict]) -> dict[tuple[str, str], tuple[float, float]]:
    """(score, max score) from the gradebook of each graded submission of the run."""
    from nbgrader.api import Gradebook, MissingEntry

    wanted = [(s["assignment"], s["student"]) for s in states if s["status"] == "graded"]
    got: dict[tuple[str, str], tuple[float, float]] = {}
    if wanted:
        with Gradebook(grading._api(course).coursedir.db_url) as gb:
            for assignment, student in wanted:
                try:
                    submission = gb.find_submission(assignment, student)
                except MissingEntry:
                    continue
                got[assignment, student] = (float(submission.score),
                                            float(submission.max_score))
    return got


def grade_summary(states: list[dict],
                  scores: dict[tuple[str, str], tuple[float, float]]) -> str:
    """The run's table (assignment, student, status, score/max, seconds) and a "needs
    attention" section: each submission with an error, a timeout, a dead kernel, suspicious
    code, or restored/removed cells and files, with the reasons in words."""
    header = ["assignment", "student", "status", "score/max", "seconds"]
    rows = []
    for state in states:
        got = scores.get((state["assignment"], state["student"]))
        rows.append([state["assignment"], state["student"], state["status"],
                     f"{got[0]:g} / {got[1]:g}" if got else "-",
                     f"{state.get('seconds') or 0:.1f}"])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    right = {3, 4}  # numbers align right

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths), *map(line, rows)]
    flagged = [(s, _attention(s)) for s in states]
    flagged = [(s, reasons) for s, reasons in flagged if reasons]
    out.append("")
    if not flagged:
        out.append("needs attention: nothing")
        return "\n".join(out)
    out.append(f"needs attention ({len(flagged)} of {len(states)}):")
    for state, reasons in flagged:
        out.append(f"  {state['assignment']} / {state['student']}")
        out += [f"    - {_short(reason)}" for reason in reasons]
    return "\n".join(out)


def _attention(state: dict) -> list[str]:
    """Why a submission needs the instructor's eyes, in words (empty: it does not)."""
    reasons = []
    if state["status"] == "error":
        reasons.append(f"could not be graded: {state.get('error') or 'no message'}")
    timeouts: dict[str, float] = {}
    for timeout in state.get("timeouts") or []:
        timeouts.setdefault(timeout.get("function", "?"), timeout.get("seconds", 0))
    for function, seconds in timeouts.items():
        reasons.append(f"{function} did not return within {seconds:g} s: its tests failed")
    if state.get("kernel_died"):
        reasons.append("the kernel died or was ended: the cells after that were not run")
    findings = state.get("findings") or []
    for finding in findings[:3]:
        reasons.append(f"suspicious code in cell {finding.get('cell_index')}, line "
                       f"{finding.get('line')}: {finding.get('reason')}")
    if len(findings) > 3:
        reasons.append(f"{len(findings) - 3} more suspicious lines (see its state record)")
    if state.get("zeroed_cells"):
        reasons.append(f"cells scored zero: {', '.join(state['zeroed_cells'])}")
    reasons += state.get("notes") or []
    return reasons


def _short(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def cmd_validate(args: argparse.Namespace) -> int:
    """A notebook's tests as the report card that JupyterLab's Validate shows (the student's
    ``./course check``, dlutils.notebook_check): per graded function (or companion exercise)
    passed, failed or not attempted yet with its points, then each failure's message and hint,
    in plain text. Exit 1 when a test fails or is not attempted yet, a locked cell was changed,
    a test cell is missing or a notebook cannot be read or run (nbgrader's validate exits 0)."""
    from dlutils import notebook_check

    bad = 0
    for name in args.notebooks:
        path = Path(name)
        if not path.is_file():
            print(f"{name}: no such notebook\n")
            bad += 1
            continue
        result = notebook_check.check_notebook(path)
        print(notebook_check.text_report(result))
        print(f"{name}: {'all checks passed' if result.ok else 'validation failed'}\n",
              flush=True)
        bad += not result.ok
    return 1 if bad else 0


def function_table(course_root: Path, assignment: str, student: str) -> list[dict]:
    """Per graded function: points scored and possible, for one graded submission."""
    groups = report.function_groups(course_root, assignment)
    table: dict[str, dict] = {}
    for cell in grading.scores(course_root, assignment, student):
        name = groups.get((cell.notebook, cell.grade_id), cell.grade_id)
        row = table.setdefault(name, {"function": name, "score": 0.0, "max_score": 0.0})
        row["score"] += cell.score
        row["max_score"] += cell.max_score
    return list(table.values())


def grade_student(assignment: str, folder: Path, out: Path, options: pipeline.Options,
                  min_score: float | None = None, source: Path = grading.REPO / "source"
                  ) -> int:
    """Grade one student's folder in a scratch course, print a per-function table and write
    ``out/result.json`` and ``out/feedback/``. Returns 0, 1 on grader failure, 2 below
    ``min_score`` percent."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nndl-student-") as tmp:
        root = grading.make_scratch_course(Path(tmp), [assignment], source)
        grading.submit(root, assignment, "student", folder)
        state = pipeline.grade(root, [assignment], options=options, progress=False)[0]
        result = {"assignment": assignment, "status": state["status"], "error": state["error"],
                  "notes": state["notes"], "findings": state["findings"], "functions": []}
        if state["status"] == "graded":
            result["functions"] = function_table(root, assignment, "student")
        # graded or not: a page per notebook (one that says why, when it could not be graded)
        feedback = root / "feedback" / "student" / assignment
        if feedback.is_dir():
            shutil.copytree(feedback, out / "feedback", dirs_exist_ok=True)
    score = sum(f["score"] for f in result["functions"])
    best = sum(f["max_score"] for f in result["functions"])
    result.update(score=score, max_score=best)
    (out / "result.json").write_text(json.dumps(result, indent=1))
    for row in result["functions"]:
        mark = "ok " if row["score"] == row["max_score"] else "   "
        print(f"{mark} {row['function']:32s} {row['score']:5g} / {row['max_score']:g}")
    print(f"total {score:g} / {best:g}" + (f" ({state['error']})" if state["error"] else ""))
    if state["status"] != "graded":
        return 1
    if min_score is not None and best and 100 * score / best < min_score:
        print(f"below the required {min_score:g} %")
        return 2
    return 0


def _assignments(names: list[str], course: Path = grading.REPO) -> list[str]:
    known = sorted(p.name for p in (course / "source").iterdir()
                   if p.is_dir() and not p.name.startswith("."))
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SystemExit(f"no such assignment in source/: {unknown} (known: {known})")
    return names or known


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dlgrader", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("release", "selfcheck"):
        sub.add_parser(name).add_argument("assignments", nargs="*")
    exchange = sub.add_parser("release-exchange", help="release release/ to nbgrader's "
                              "exchange (the formgrader then shows the assignments as released)")
    exchange.add_argument("assignments", nargs="*")
    exchange.add_argument("--course", type=Path, default=grading.REPO,
                          help="the course folder (default: this kit)")
    grade = sub.add_parser(
        "grade", help="autograde submitted/ and write feedback",
        description="Autograde submitted/ (sandboxed) and write feedback. The terminal shows a "
                    "progress bar, then a table of the run and what needs attention; "
                    "warnings, nbgrader's log and the kernels' output go to "
                    f"{pipeline.STATE}/{runlog.LOG}. Exit status 1 when a submission could "
                    "not be graded (status error), else 0.")
    grade.add_argument("assignments", nargs="*")
    grade.add_argument("--student", action="append", help="only this student (repeatable)")
    grade.add_argument("--course", type=Path, default=grading.REPO,
                       help="the course folder (default: this kit)")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on a Dask cluster (tcp://host:8786) instead of --jobs "
                            "local workers; needs a PostgreSQL gradebook (NNDL_DB_URL)")
    _add_grading_options(grade)
    grade.add_argument("--exit-zero", action="store_true",
                       help="exit 0 even when a submission could not be graded (without it, "
                            "such a run exits 1)")
    for name in ("export", "report"):
        command = sub.add_parser(name)
        command.add_argument("out", type=Path)
        command.add_argument("--course", type=Path, default=grading.REPO,
                             help="the course folder (default: this kit)")
        report.add_roster_options(command)
        command.add_argument("--lms", choices=lms_export.FORMATS,
                             help="also write the grade file this LMS imports as is "
                                  "(canvas_grades.csv, moodle_grades.csv or "
                                  "brightspace_grades.csv; students need their LMS identity "
                                  "in the roster: ./course roster import)")
    from . import similarity

    similarity.add_report_options(sub.choices["report"])
    similarity.add_command(sub, grading.REPO)
    lms_roster.add_arguments(sub.add_parser(
        "roster", help="the course roster: import an LMS class list (roster import FILE)"))
    collect = sub.add_parser("collect", help="collect submissions (see python -m "
                                             "dlgrader.collect --help, ./course collect git "
                                             "--help)")
    collect.add_argument("rest", nargs=argparse.REMAINDER)
    validate = sub.add_parser("validate", help="run a notebook's tests; exit 1 on failure")
    validate.add_argument("notebooks", nargs="+")
    student = sub.add_parser("grade-student", help="grade one student's folder")
    student.add_argument("assignment")
    student.add_argument("folder")
    student.add_argument("--out", default="grading-results")
    student.add_argument("--min-score", type=float, help="exit 2 below this percentage")
    _add_grading_options(student)
    kit = sub.add_parser("student-kit", help="build the student kit (dlgrader.studentkit)")
    kit.add_argument("out", type=Path)
    kit.add_argument("--zip", action="store_true", help="also write OUT.zip")
    for name, text in (("return-feedback", "feedback/ to nbgrader's exchange (see python -m "
                        "dlgrader return-feedback --help)"),
                       ("hub-setup", "(root) the course JupyterHub (dlgrader.hub)")):
        sub.add_parser(name, help=text, add_help=False).add_argument(
            "rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["return-feedback"], ["hub-setup"]):  # the course JupyterHub: own options
        from . import exchange, hub

        return (exchange.main(argv[0], argv[1:]) if argv[0] == "return-feedback"
                else hub.main(argv[1:]))
    args = build_parser().parse_args(argv)
    if args.command == "release":
        grading.release(_assignments(args.assignments))
        return 0
    if args.command == "release-exchange":
        try:
            names = grading.release_to_exchange(args.course.resolve(), args.assignments or None)
        except RuntimeError as failed:
            print(f"error: {failed}", file=sys.stderr)
            return 1
        print(f"released to the exchange: {', '.join(names)}" if names
              else "the exchange already holds release/")
        return 0
    if args.command == "selfcheck":
        return 0 if pipeline.selfcheck(_assignments(args.assignments)) else 1
    if args.command == "grade":
        from .late import LatePolicyError
        from .roster import RosterError

        try:
            return cmd_grade(args)
        except (RosterError, LatePolicyError) as bad:
            print(f"error: {bad}", file=sys.stderr)
            return 1
    if args.command in ("export", "report"):
        try:
            extra = ({"similarity": not args.no_similarity,
                      "similarity_threshold": args.similarity_threshold}
                     if args.command == "report" else {})
            made = getattr(report, args.command)(args.course.resolve(), args.out,
                                                 args.missing_as_zero, args.roster, args.lms,
                                                 **extra)
        except report.roster.RosterError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"wrote {args.out}" if isinstance(made, dict) else f"wrote {made}")
        if args.lms:
            document = made if isinstance(made, dict) else \
                json.loads((args.out / "grades.json").read_text())
            print("\n".join(lms_export.summary(document)))
        return 0
    if args.command == "roster":
        return lms_roster.run(args)
    if args.command == "similarity":
        from . import similarity

        return similarity.run_command(args)
    if args.command == "collect":
        if args.rest[:1] == ["exchange"]:
            from . import exchange

            return exchange.main("collect", args.rest[1:])
        if args.rest[:1] == ["git"]:
            from . import collect_git

            return collect_git.main(args.rest[1:])
        from . import collect

        return collect.main(args.rest)
    if args.command == "validate":
        return cmd_validate(args)
    if args.command == "student-kit":
        from . import studentkit

        try:
            made = studentkit.build(args.out, make_zip=args.zip)
        except (studentkit.Leak, FileExistsError) as refused:
            print(f"error: {refused}", file=sys.stderr)
            return 1
        for path in made:
            print(f"wrote {path}")
        return 0
    return grade_student(args.assignment, Path(args.folder).resolve(),
                         Path(args.out).resolve(), _pipeline_options(args), args.min_score)


if __name__ == "__main__":
    sys.exit(main())
