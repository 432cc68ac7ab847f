"""The instructor's side of nbgrader's exchange on a shared machine (the course JupyterHub).

- ``./course collect exchange [A ...]``: nbgrader's collect (each student's latest submission
  from ``inbound/`` into ``submitted/<student>/<assignment>/``, newer ones replacing older),
  with one rule added by :class:`OwnedCollect`: a submission counts only when its folder, and
  everything in it, belongs to the student it names and holds only plain files and folders.
  nbgrader's own collect only warns when ``bob`` drops a folder named ``alice+...`` into the
  exchange (and then collects it as Alice's work), and it follows symbolic links, so a link to a
  file only the instructor can read (``source/``) would be copied in as the submission.
- ``./course return-feedback [A ...]``: nbgrader's release_feedback of the pages that
  ``./course grade`` wrote in ``feedback/``, student by student, for the submissions that came
  through the exchange (their ``submission_secret.txt``, kept beside the pages, names the
  student's copy in the exchange) and whose pages are those of the submission collected last.
  Students get them with the Assignment List's *Fetch Feedback*.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect
from traitlets import List
from traitlets.config import Config

from . import grading

__all__ = ["CollectReport", "OwnedCollect", "ReturnReport", "collect", "return_feedback",
           "problem_with"]

SECRET = "submission_secret.txt"
TIMESTAMP = "timestamp.txt"


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def problem_with(folder: str, student: str) -> str | None:
    """Why the submission folder ``folder`` cannot be ``student``'s work (None: it can)."""
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a folder"
    if _owner(info.st_uid) != student:
        return f"it belongs to {_owner(info.st_uid)}, not to {student}"
    for here, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(here, name)
            entry = os.lstat(path)
            rel = os.path.relpath(path, folder)
            if not (stat.S_ISREG(entry.st_mode) or stat.S_ISDIR(entry.st_mode)):
                return f"{rel} is not a plain file or folder (a link?)"
            if _owner(entry.st_uid) != student:
                return f"{rel} belongs to {_owner(entry.st_uid)}, not to {student}"
    return None


class OwnedCollect(ExchangeCollect):
    """nbgrader's collect of the submissions that really are the named student's."""

    refused = List(help="(folder name, reason) of each submission not collected")

    def init_src(self):
        super().init_src()  # checks the exchange, reads the due date
        student = self.coursedir.student_id or "*"
        pattern = os.path.join(self.inbound_path, f"{student}+{self.coursedir.assignment_id}+*")
        by_student: dict[str, list[dict]] = {}
        for path in sorted(glob.glob(pattern)):
            record = self._path_to_record(path)
            reason = problem_with(path, record["username"])
            if reason:
                self.refused.append((record["filename"], reason))
                self.log.warning("Not collected: %s: %s", record["filename"], reason)
                continue
            by_student.setdefault(record["username"], []).append(record)
        chosen = []
        for records in by_student.values():
            records = self._sort_by_timestamp(records)  # latest first
            if self.duedate is not None and self.before_duedate:
                records = [r for r in records if r["timestamp"] <= self.duedate] or records
            chosen.append(records[0])
        self.src_records = chosen


@dataclass
class CollectReport:
    """What one assignment's collect did."""

    assignment: str
    collected: list[str] = field(default_factory=list)  # new in submitted/
    updated: list[str] = field(default_factory=list)  # a newer submission replaced the old
    unchanged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def _timestamps(course: Path, assignment: str) -> dict[str, str]:
    found = {}
    for path in (course / "submitted").glob(f"*/{assignment}/{TIMESTAMP}"):
        found[path.parent.parent.name] = path.read_text().strip()
    return found


def _api(course: Path):
    def owned(config: Config) -> Config:
        # nbgrader's file exchange; another exchange (ngshare) knows who submitted by itself
        if "collect" not in config.ExchangeFactory and "exchange" not in config.ExchangeFactory:
            config.ExchangeFactory.collect = OwnedCollect
        return config

    api = grading._api(course, owned)
    if not api.exchange_is_functional:
        raise RuntimeError(f"nbgrader's exchange is not usable for {course} (course id "
                           f"{api.course_id!r}, exchange {api.exchange_root!r})")
    return api


def _inbound_assignments(api) -> list[str]:
    inbound = Path(api.exchange_root) / api.course_id / "inbound"
    try:
        names = {p.name.split("+")[1] for p in inbound.iterdir() if p.name.count("+") >= 2}
    except OSError:
        return []
    return sorted(names)


def collect(course: Path, assignments: list[str] | None = None) -> list[CollectReport]:
    """Collect ``assignments`` (default: every assignment with a submission in the exchange)."""
    course = Path(course).resolve()
    api = _api(course)
    reports = []
    for name in assignments or _inbound_assignments(api):
        before = _timestamps(course, name)
        app = api.exchange.Collect(coursedir=api.coursedir, authenticator=api.authenticator,
                                   parent=api)
        api.coursedir.assignment_id = name
        app.update = True
        try:
            app.start()
        except Exception as failed:  # nbgrader's ExchangeError and its own checks
            raise RuntimeError(f"collecting {name} failed: {failed}") from failed
        after = _timestamps(course, name)
        report = CollectReport(name, refused=list(getattr(app, "refused", [])))
        for student, stamp in sorted(after.items()):
            if student not in before:
                report.collected.append(student)
            elif before[student] != stamp:
                report.updated.append(student)
            else:
                report.unchanged.append(student)
        reports.append(report)
    return reports


@dataclass
class ReturnReport:
    """What one assignment's return of feedback did."""

    assignment: str
    returned: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (student, why)


def _why_not(course: Path, folder: Path) -> str | None:
    """Why the feedback in ``folder`` (feedback/<student>/<assignment>) cannot be returned."""
    student, assignment = folder.parent.name, folder.name
    if not any(folder.glob("*.html")):
        return "no feedback page (grade first: ./course grade)"
    if not (folder / SECRET).is_file() or not (folder / TIMESTAMP).is_file():
        return ("not submitted through the exchange (no submission_secret.txt): hand the "
                "pages out another way")
    submitted = course / "submitted" / student / assignment / TIMESTAMP
    if submitted.is_file() and submitted.read_text().strip() != (
            folder / TIMESTAMP).read_text().strip():
        return "the pages are for an older submission: ./course grade first"
    return None


def return_feedback(course: Path, assignments: list[str] | None = None) -> list[ReturnReport]:
    """Release the feedback pages of ``assignments`` (default: all with pages) to the exchange."""
    course = Path(course).resolve()
    api = _api(course)
    names = assignments or sorted({p.name for p in (course / "feedback").glob("*/*")
                                   if p.is_dir()})
    reports = []
    for name in names:
        report = ReturnReport(name)
        for folder in sorted((course / "feedback").glob(f"*/{name}")):
            reason = _why_not(course, folder)
            if reason:
                report.skipped.append((folder.parent.name, reason))
                continue
            result = api.release_feedback(name, folder.parent.name)
            if not result["success"]:
                raise RuntimeError(f"release_feedback {name} for {folder.parent.name} failed:\n"
                                   f"{result.get('error') or result.get('log', '')}")
            report.returned.append(folder.parent.name)
        reports.append(report)
    return reports


def _print_collect(reports: list[CollectReport]) -> None:
    if not reports:
        print("the exchange holds no submission")
    for report in reports:
        parts = [f"{len(report.collected)} new", f"{len(report.updated)} updated",
                 f"{len(report.unchanged)} unchanged"]
        print(f"{report.assignment}: {', '.join(parts)}")
        for label, people in (("new", report.collected), ("updated", report.updated)):
            if people:
                print(f"  {label}: {', '.join(people)}")
        for folder, reason in report.refused:
            print(f"  NOT collected: {folder}: {reason}")


def _print_return(reports: list[ReturnReport]) -> None:
    if not reports:
        print("feedback/ holds no pages (./course grade writes them)")
    for report in reports:
        print(f"{report.assignment}: feedback returned to {len(report.returned)} student(s)"
              + (f": {', '.join(report.returned)}" if report.returned else ""))
        for student, reason in report.skipped:
            print(f"  not returned to {student}: {reason}")


def main(command: str, argv: list[str]) -> int:
    """``collect exchange [A ...]`` (command "collect") or ``return-feedback [A ...]``."""
    prog = ("./course collect exchange" if command == "collect" else "./course return-feedback")
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--course", type=Path, default=grading.REPO,
                        help="the course folder (default: this kit)")
    args = parser.parse_args(argv)
    if not (args.course / "nbgrader_config.py").is_file():
        print(f"error: {args.course} is not a course folder (no nbgrader_config.py)",
              file=sys.stderr)
        return 1
    known = {p.name for p in (args.course / "source").glob("*") if p.is_dir()}
    unknown = sorted(set(args.assignments) - known)
    if unknown:
        print(f"error: no such assignment in source/: {unknown} (known: {sorted(known)})",
              file=sys.stderr)
        return 1
    try:
        if command == "collect":
            _print_collect(collect(args.course, args.assignments or None))
        else:
            _print_return(return_feedback(args.course, args.assignments or None))
    except RuntimeError as failed:
        print(f"error: {failed}", file=sys.stderr)
        return 1
    return 0
