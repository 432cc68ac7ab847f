"""The instructor's commands: ``python -m dlgrader COMMAND`` (``./course COMMAND`` sets up first).

    release [A ...]                  regenerate release/ from source/
    selfcheck [A ...]                reference solutions full marks, blank releases zero
    collect folder SRC | zip A ZIP | git ROSTER [--deadline WHEN]
                                     bring submissions into submitted/
    grade [A ...] [--student S] [--jobs N | --scheduler ADDRESS] [--no-sandbox] [--force]
                                     autograde (sandboxed) and write feedback; --scheduler
                                     grades on a Dask cluster (dlgrader.distributed)
    export OUT | report OUT          grades as CSV/JSON; plots and a Markdown summary
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
from pathlib import Path

from . import grading, pipeline, report
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
    args.course = args.course.resolve()
    names = _assignments(args.assignments, args.course)
    if args.scheduler:
        from . import distributed

        if args.jobs != 1:
            raise SystemExit("--jobs and --scheduler exclude each other: with --scheduler, "
                             "the cluster's workers decide how many students run at once")

        states = distributed.grade(args.course, names, args.scheduler, args.student,
                                   _pipeline_options(args))
    else:
        states = pipeline.grade(args.course, names, args.student, _pipeline_options(args))
    for state in sorted(states, key=lambda s: (s["assignment"], s["student"])):
        print(f"{state['assignment']:28s} {state['student']:24s} {state['status']:7s} "
              f"{state['error'] or ''}")
    print(f"graded {sum(s['status'] == 'graded' for s in states)}, "
          f"errors {sum(s['status'] == 'error' for s in states)}; "
          f"feedback in feedback/, state in {pipeline.STATE}/")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """nbgrader's Validator, but a failing or changed test is exit status 1."""
    from nbgrader.validator import Validator

    validator = Validator(config=grading._api(grading.REPO).config)
    bad = 0
    for name in args.notebooks:
        result = validator.validate(str(Path(name).resolve()))
        problems = {k: v for k, v in result.items() if v}
        if not problems:
            print(f"{name}: all tests passed")
            continue
        bad += 1
        for kind, cells in problems.items():
            print(f"{name}: {len(cells)} cell(s) {kind}")
            for cell in cells:
                head = cell["source"].splitlines()[0] if cell["source"] else ""
                error = cell.get("raw_error", "").strip().splitlines()[-1:] or [""]
                print(f"  - {head[:90]}\n    {error[0][:300]}")
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
    grade = sub.add_parser("grade", help="autograde submitted/ and write feedback")
    grade.add_argument("assignments", nargs="*")
    grade.add_argument("--student", action="append", help="only this student (repeatable)")
    grade.add_argument("--course", type=Path, default=grading.REPO,
                       help="the course folder (default: this kit)")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on a Dask cluster (tcp://host:8786) instead of --jobs "
                            "local workers; needs a PostgreSQL gradebook (NNDL_DB_URL)")
    _add_grading_options(grade)
    for name in ("export", "report"):
        command = sub.add_parser(name)
        command.add_argument("out", type=Path)
        command.add_argument("--course", type=Path, default=grading.REPO,
                             help="the course folder (default: this kit)")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "release":
        grading.release(_assignments(args.assignments))
        return 0
    if args.command == "selfcheck":
        return 0 if pipeline.selfcheck(_assignments(args.assignments)) else 1
    if args.command == "grade":
        return cmd_grade(args)
    if args.command in ("export", "report"):
        made = getattr(report, args.command)(args.course.resolve(), args.out)
        print(f"wrote {args.out}" if isinstance(made, dict) else f"wrote {made}")
        return 0
    if args.command == "collect":
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
