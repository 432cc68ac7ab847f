"""Late work: due dates, extensions and a late policy, on top of nbgrader's own machinery.

The course's ``nbgrader_config.py`` sets :class:`LatePolicy` (``c.LatePolicy...``). nbgrader
holds the rest: each assignment's due date (``Assignment.duedate``, shown by the formgrader), a
student's extension (``Gradebook.grant_extension``), the submission's time (``timestamp.txt``,
see :mod:`dlgrader.submission_time`), and the penalty per notebook
(``SubmittedNotebook.late_submission_penalty``), which nbgrader's ``AssignLatePenalties`` asks of
its ``plugin_class``: here :class:`LatePenalty`. So the formgrader, ``nbgrader export`` (score =
raw score minus penalty) and the kit's export agree.

* ``per_day``: for every started day late, ``per_day`` % **of the points possible** (the
  notebook's maximum, not the score earned) is deducted, at most ``max_deduction`` %, never more
  than the points earned (nbgrader caps a penalty at the score); more than ``cutoff_days`` days
  late, the score is 0. Days count from the due date (with the student's extension).
* ``zero``: any late submission scores 0; ``none``: lateness is recorded, nothing deducted.
* ``grace_minutes``: a submission at most that late counts as on time (its days still count
  from the due date when it is later).

Where it runs: :func:`load` checks the configuration before anything is graded and
:func:`write_due_dates` puts the due dates in the gradebook (``pipeline.generate``, once per
run); :func:`apply_extension` writes the student's extension before autograde (a changed
submission loses its gradebook entry first); :func:`record` gives the state record its fields,
:func:`feedback_reason` the student's page its sentence, :func:`export_fields` the export its
columns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Dict, Float, TraitError, Unicode
from traitlets.config import Configurable

from . import submission_time

__all__ = ["METHODS", "Assessment", "LatePenalty", "LatePolicy", "LatePolicyError",
           "apply_extension", "assess", "duration", "export_fields", "feedback_reason",
           "known_assignments", "load", "policy_of", "record", "time_fields", "write_due_dates"]

METHODS = ("none", "zero", "per_day")
DAY = 86400.0


class LatePolicyError(ValueError):
    """A late-work configuration (``c.LatePolicy``) that cannot be used; lists every problem."""


class LatePolicy(Configurable):
    """Due dates, extensions and the penalty for late work (``c.LatePolicy`` in the course's
    nbgrader_config.py). Times without an offset are in ``timezone``."""

    due = Dict(help="Due date and time of each assignment, e.g. {'01_numpy_basics': "
               "'2026-10-05 23:59'} (an offset such as +02:00 may be given)").tag(config=True)
    timezone = Unicode("UTC", help="Time zone (tz database name) of the due dates and of zip "
                       "entry times, e.g. 'Europe/Berlin'").tag(config=True)
    method = Unicode("none", help="none: record lateness only; zero: late work scores 0; "
                     "per_day: per_day % of the points possible per started day late"
                     ).tag(config=True)
    per_day = Float(10.0, help="per_day: % of the points possible deducted per started day "
                    "late").tag(config=True)
    max_deduction = Float(100.0, help="per_day: at most this % of the points possible"
                          ).tag(config=True)
    cutoff_days = Float(None, allow_none=True, help="More than this many days late: score 0 "
                        "(None: no cut-off)").tag(config=True)
    grace_minutes = Float(0.0, help="At most this many minutes late counts as on time"
                          ).tag(config=True)
    extensions = Dict(help="Per student and assignment: a new due date, or a number of days "
                      "added, e.g. {'ann': {'01_numpy_basics': '2026-10-08 23:59'}, "
                      "'bob': {'01_numpy_basics': 2}}").tag(config=True)

    # ------------------------------------------------------------------ reading

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def due_date(self, assignment: str) -> datetime | None:
        """The assignment's configured due date (aware), or None."""
        text = self.due.get(assignment)
        return None if text is None else _when(text, self.zone)

    def extended_due(self, assignment: str, student: str) -> datetime | None:
        """The student's due date after their extension (aware), or None without one."""
        value = (self.extensions.get(student) or {}).get(assignment)
        due = self.due_date(assignment)
        if value is None or due is None:
            return None
        if isinstance(value, str):
            return _when(value, self.zone)
        return due + timedelta(days=float(value))

    # ------------------------------------------------------------------ checking

    def problems(self, assignments: Iterable[str] | None = None) -> list[str]:
        """Every problem of the configuration, in words ([] when it is usable);
        ``assignments``: the course's assignments (None: names are not checked)."""
        out = []
        known = None if assignments is None else set(assignments)
        try:
            zone = self.zone
        except (ZoneInfoNotFoundError, ValueError):
            out.append(f"c.LatePolicy.timezone = {self.timezone!r} is not a time zone (expected "
                       "a name of the tz database, such as 'Europe/Berlin' or 'UTC')")
            zone = ZoneInfo("UTC")
        if self.method not in METHODS:
            out.append(f"c.LatePolicy.method = {self.method!r}: expected one of "
                       + ", ".join(repr(m) for m in METHODS))
        for name, low, high in (("per_day", 0, 100), ("max_deduction", 0, 100),
                                ("grace_minutes", 0, None), ("cutoff_days", 0, None)):
            value = getattr(self, name)
            if value is None:
                continue
            if not math.isfinite(value) or value < low or (high is not None and value > high):
                bound = f"between {low} and {high}" if high is not None else f"at least {low}"
                out.append(f"c.LatePolicy.{name} = {value:g}: expected a number {bound}")
        dues = {}
        for assignment, text in self.due.items():
            where = f"c.LatePolicy.due[{assignment!r}]"
            if known is not None and assignment not in known:
                out.append(f"{where}: no assignment {assignment!r} in source/ (known: "
                           f"{', '.join(sorted(known)) or 'none'})")
            try:
                dues[assignment] = _when(text, zone)
            except ValueError as bad:
                out.append(f"{where}: {bad}")
        for student, granted in self.extensions.items():
            if not isinstance(student, str) or not student.strip():
                out.append(f"c.LatePolicy.extensions: {student!r} is not a student id")
                continue
            if not isinstance(granted, dict):
                out.append(f"c.LatePolicy.extensions[{student!r}] = {granted!r}: expected a "
                           "dict of assignment -> new due date or number of days")
                continue
            for assignment, value in granted.items():
                out += _extension_problem(f"c.LatePolicy.extensions[{student!r}]"
                                          f"[{assignment!r}]", assignment, value,
                                          self.due, dues, zone)
        return out


def _extension_problem(where: str, assignment: str, value: Any, configured: dict,
                       dues: dict[str, datetime], zone: ZoneInfo) -> list[str]:
    """What is wrong with one extension (an empty list when nothing is)."""
    if assignment not in configured:
        return [f"{where}: no due date for {assignment!r} in c.LatePolicy.due to extend"]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return [f"{where} = {value!r}: expected a new due date ('YYYY-MM-DD HH:MM') or a "
                "number of days"]
    if isinstance(value, str):
        try:
            new = _when(value, zone)
        except ValueError as bad:
            return [f"{where}: {bad}"]
        if assignment in dues and new <= dues[assignment]:  # else: its bad due date is said
            return [f"{where} = {value!r} is not after the due date {_local(dues[assignment])}"]
        return []
    if not math.isfinite(value) or value <= 0:
        return [f"{where} = {value!r}: expected a positive number of days"]
    return []


_DATE_ONLY = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*")


def _when(text: Any, zone: ZoneInfo) -> datetime:
    """A configured date and time (aware): ISO 8601, in ``zone`` without an offset."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a date and time (expected text such as "
                         "'2026-10-05 23:59')")
    if _DATE_ONLY.fullmatch(text):
        raise ValueError(f"{text!r} has no time of day: write it, e.g. '{text.strip()} 23:59'")
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time (expected 'YYYY-MM-DD HH:MM', "
                         "optionally with an offset such as '+02:00')") from None
    if when.tzinfo is not None:
        return when
    aware = when.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != when:
        raise ValueError(f"{text!r} does not exist in {zone.key} (the clocks skip it)")
    return aware


def policy_of(config: Any) -> LatePolicy:
    """The LatePolicy of a traitlets config (LatePolicyError when a value has a wrong type)."""
    try:
        return LatePolicy(config=config)
    except TraitError as bad:
        raise LatePolicyError(f"c.LatePolicy: {bad}") from None


def known_assignments(course_root: Path) -> set[str]:
    """The assignments a configuration may name: those of the course's source/, and the kit's
    own (a scratch course of ``grade-student`` holds only the one it grades)."""
    from .grading import REPO

    folders = {Path(course_root) / "source", REPO / "source"}
    return {p.name for folder in folders if folder.is_dir() for p in folder.iterdir()
            if p.is_dir() and not p.name.startswith(".")}


def load(course_root: Path, config: Any) -> LatePolicy:
    """The course's LatePolicy, checked: LatePolicyError naming every problem."""
    policy = policy_of(config)
    problems = policy.problems(known_assignments(course_root))
    old = config.get("LateSubmissionPlugin", {}).get("penalty_method") if config else None
    if old not in (None, policy.method):
        problems.append(f"c.LateSubmissionPlugin.penalty_method = {old!r}: the kit's grader "
                        "uses c.LatePolicy.method (set it there)")
    if problems:
        raise LatePolicyError("the late-work configuration (c.LatePolicy in "
                              "nbgrader_config.py) cannot be used:\n  - "
                              + "\n  - ".join(problems))
    return policy


# ----------------------------------------------------------------------------- the gradebook


def _naive_utc(when: datetime) -> datetime:
    """How nbgrader's gradebook stores times: naive, in UTC."""
    return when.astimezone(UTC).replace(tzinfo=None)


def write_due_dates(db_url: str, policy: LatePolicy, assignments: Iterable[str]) -> None:
    """Give each of ``assignments`` its configured due date in the gradebook (the formgrader
    shows it; nbgrader counts lateness from it). An assignment without one keeps its own."""
    from nbgrader.api import Gradebook

    wanted = {a: _naive_utc(policy.due_date(a)) for a in assignments if a in policy.due}
    if not wanted:
        return
    with Gradebook(db_url) as gb:
        for name, due in wanted.items():
            if gb.find_assignment(name).duedate != due:
                gb.update_or_create_assignment(name, duedate=due)


def apply_extension(db_url: str, policy: LatePolicy, assignment: str, student: str) -> None:
    """Before autograde: the student's extension of ``assignment`` in the gradebook, as
    configured (nbgrader's ``grant_extension``; none configured removes an old one). Nothing
    happens for an assignment without a configured due date."""
    from nbgrader.api import Gradebook

    due = policy.due_date(assignment)
    if due is None:
        return
    extended = policy.extended_due(assignment, student)
    minutes = (extended - due).total_seconds() / 60 if extended else 0
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student)
        if submission.extension != (timedelta(minutes=minutes) if minutes else None):
            gb.grant_extension(assignment, student, minutes=minutes)


# ----------------------------------------------------------------------------- the penalty


@dataclass(frozen=True)
class Assessment:
    """The penalty for ``seconds_late`` (points, at most the score) and the rule, in words."""

    points: float | None  # None: no penalty assigned (nbgrader's "none")
    rule: str


def _num(x: float) -> str:
    return f"{round(float(x), 2):g}"


def _pts(x: float) -> str:
    return f"{_num(x)} point{'' if _num(x) == '1' else 's'}"


def assess(policy: LatePolicy, seconds_late: float, score: float, max_score: float
           ) -> Assessment:
    """The penalty of a submission ``seconds_late`` late that earned ``score`` of
    ``max_score`` points (one notebook, or a whole assignment)."""
    score = max(0.0, float(score or 0.0))
    if seconds_late <= 0:
        return Assessment(None, "on time")
    if seconds_late <= policy.grace_minutes * 60:
        return Assessment(None, f"within the {_num(policy.grace_minutes)}-minute grace "
                          "period: no penalty")
    if policy.method == "none":
        return Assessment(None, "no penalty (late policy: none)")
    if policy.method == "zero":
        return Assessment(score, f"late work scores 0: -{_num(score)}")
    if policy.cutoff_days is not None and seconds_late > policy.cutoff_days * DAY:
        return Assessment(score, f"more than {_num(policy.cutoff_days)} days late (the "
                          f"cut-off), the score is 0: -{_num(score)}")
    days = math.ceil(seconds_late / DAY)
    percent = min(days * policy.per_day, policy.max_deduction)
    deduction = round(percent / 100 * float(max_score or 0.0), 6)
    rule = f"{days} started day{'s' if days > 1 else ''} × {_num(policy.per_day)} %"
    if days * policy.per_day > policy.max_deduction:
        rule += f" = {_num(days * policy.per_day)} %, capped at {_num(policy.max_deduction)} %"
    rule += f": -{_num(percent)} % of {_pts(max_score or 0)} = -{_num(deduction)}"
    if deduction > score:
        rule += f", limited to the {_pts(score)} earned"
    return Assessment(min(deduction, score), rule)


class LatePenalty(LateSubmissionPlugin):
    """nbgrader's late-submission plugin with the kit's policy (``c.LatePolicy``): set as
    ``AssignLatePenalties.plugin_class`` by ``pipeline.configure``. nbgrader calls it per
    notebook of a late submission; the notebook's points possible come from the gradebook
    session its caller (``AssignLatePenalties``) holds open."""

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float | None:
        caller = self.parent
        notebook = caller.gradebook.find_submission_notebook(
            caller.notebook_id, caller.assignment_id, student_id)
        result = assess(policy_of(self.config), total_seconds_late, score, notebook.max_score)
        self.log.info("late penalty of %s/%s: %s", caller.assignment_id, student_id, result.rule)
        return result.points


# ----------------------------------------------------------------------------- in words


def _local(when: datetime, zone: ZoneInfo | None = None) -> str:
    return f"{when.astimezone(zone or when.tzinfo):%Y-%m-%d %H:%M %Z}"


def duration(seconds: float) -> str:
    """A lateness in words: its two largest units ("2 days 3 hours", "5 minutes")."""
    if seconds < 60:
        count = max(1, math.ceil(seconds))
        return f"{count} second{'s' if count > 1 else ''}"
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    units = [(days, "day"), (hours, "hour"), (mins, "minute")]
    first = next(i for i, (n, _) in enumerate(units) if n)
    return " ".join(f"{n} {unit}{'s' if n > 1 else ''}"
                    for n, unit in units[first:first + 2] if n)


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat(timespec="seconds")


def _aware(naive: datetime | None) -> datetime | None:
    return None if naive is None else naive.replace(tzinfo=UTC)


def _describe(policy: LatePolicy, submission: Any, when: submission_time.SubmissionTime
              ) -> dict:
    """The late-work fields of a submission from its gradebook entry (what nbgrader used)."""
    zone = policy.zone
    at = _aware(submission.timestamp)
    original = _aware(submission.assignment.duedate)
    due = None if original is None else _aware(submission.duedate)  # with the extension
    penalty = float(submission.late_submission_penalty or 0.0)
    fields = {"due": _iso(due), "original_due": _iso(original), "seconds_late": None,
              "late_penalty": penalty, "late_reason": ""}
    if due is None:
        return fields
    ext = f", extension to {_local(due, zone)}" if due != original else ""
    deadline = f"due {_local(original, zone)}{ext}"
    if at is None:
        fields["late_reason"] = (f"no submission time ({when.detail}): lateness not checked "
                                 f"({deadline})")
        return fields
    seconds = float(submission.total_seconds_late)
    fields["seconds_late"] = seconds
    said = f"submitted {_local(at, zone)} ({when.source})"
    if seconds <= 0:
        fields["late_reason"] = f"{said}, on time ({deadline})"
        return fields
    rule = assess(policy, seconds, submission.score, submission.max_score).rule
    fields["late_reason"] = f"{said}, {duration(seconds)} late ({deadline}): {rule}"
    return fields


def _submission_facts(db_url: str, policy: LatePolicy, folder: Path, assignment: str,
                      student: str) -> dict:
    from nbgrader.api import Gradebook

    when = submission_time.read(folder)
    with Gradebook(db_url) as gb:
        fields = _describe(policy, gb.find_submission(assignment, student), when)
    return fields


def time_fields(folder: Path) -> dict:
    """The state record's submission time and its source (never raises)."""
    try:
        when = submission_time.read(folder)
    except OSError as error:
        when = submission_time.SubmissionTime(None, "none", f"unreadable: {error}")
    return {"submitted_at": _iso(when.at), "time_source": when.source,
            "time_detail": when.detail}


def record(db_url: str, config: Any, course_root: Path, assignment: str, student: str) -> dict:
    """After autograde: the state record's late-work fields (due date with the extension,
    seconds late, penalty points as the gradebook holds them, the reason in words)."""
    folder = Path(course_root) / "submitted" / student / assignment
    return _submission_facts(db_url, policy_of(config), folder, assignment, student)


def feedback_reason(config: Any, db_url: str, course_root: str, assignment: str,
                    student: str) -> str:
    """The sentence for the student's feedback page when the submission was late ("" when on
    time, without a due date, or when it cannot be told)."""
    try:
        folder = Path(course_root) / "submitted" / student / assignment
        fields = _submission_facts(db_url, policy_of(config), folder, assignment, student)
    except Exception:  # the page is written anyway; the state record has the details
        return ""
    late = (fields["seconds_late"] or 0) > 0 or fields["late_penalty"] > 0
    return fields["late_reason"][:1].upper() + fields["late_reason"][1:] + "." if late else ""


def export_fields(state: dict | None, score: float | None) -> dict:
    """The export's late-work columns of a row: ``final_score`` is the score minus the
    penalty (the score itself without one), as nbgrader's own export computes it."""
    state = state or {}
    seconds = state.get("seconds_late")
    penalty = float(state.get("late_penalty") or 0.0)
    return {"submitted_at": state.get("submitted_at"), "time_source": state.get("time_source"),
            "due": state.get("due"),
            "late_by_hours": None if seconds is None else round(seconds / 3600, 2),
            "late_penalty": None if score is None else penalty,
            "final_score": None if score is None else round(max(0.0, score - penalty), 6),
            "late_reason": state.get("late_reason") or ""}
