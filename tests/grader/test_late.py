"""Late work (dlgrader.late, dlgrader.submission_time): due dates, extensions and the late
policy of c.LatePolicy, graded for real on the tiny course: the penalty in nbgrader's gradebook,
the state record, the export, the report and the student's feedback page."""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from nbgrader.api import Gradebook
from tiny_course import TINY, A, tree
from traitlets.config import Config

from dlgrader import collect, collect_git, grading, late, pipeline, report, submission_time

BERLIN = ZoneInfo("Europe/Berlin")
# Due 2026-10-05 23:59 CEST = 21:59 UTC; 3 points (1 public, 2 hidden).
POLICY = """
c.LatePolicy.timezone = "Europe/Berlin"
c.LatePolicy.due = {"99_tiny": "2026-10-05 23:59"}
c.LatePolicy.method = "per_day"
c.LatePolicy.per_day = 10
c.LatePolicy.max_deduction = 50
c.LatePolicy.cutoff_days = 7
c.LatePolicy.grace_minutes = 15
c.LatePolicy.extensions = {"ext": {"99_tiny": "2026-10-08 23:59"}, "days": {"99_tiny": 1}}
"""
WEAK = "def double(x):\n    return 4 if x == 2 else x\n"  # passes the public test only: 1/3


def _exchange(root, student, when: str, answer: str | None = None):
    """A submission as nbgrader's exchange leaves it: the notebook and timestamp.txt."""
    folder = root / "submitted" / student / A
    folder.mkdir(parents=True)
    (folder / "tiny.ipynb").write_bytes(_notebook(root, answer))
    if when:
        (folder / "timestamp.txt").write_text(when)


def _notebook(root, answer: str | None = None) -> bytes:
    """The source notebook (3/3), or the released one with ``answer`` in its solution cell."""
    if answer is None:
        return (TINY / A / "tiny.ipynb").read_bytes()
    nb = json.loads((root / "release" / A / "tiny.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "double_solution":
            cell["source"] = answer
    return json.dumps(nb).encode()


def _git(*args, cwd=None, when=None):
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "S", "GIT_AUTHOR_EMAIL": "s@example.org",
           "GIT_COMMITTER_NAME": "S", "GIT_COMMITTER_EMAIL": "s@example.org"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def _entry(name: str, when: tuple, extra: bytes = b"") -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when)
    info.extra = extra
    return info


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One course with c.LatePolicy, its submissions collected every way, graded once
    (sandboxed, two workers), then exported and reported."""
    tmp = tmp_path_factory.mktemp("late")
    root = grading.make_scratch_course(tmp / "course", [A], TINY)
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write(POLICY)
    _exchange(root, "ontime", "2026-10-05 21:00:00.000000 UTC")   # 23:00 CEST
    _exchange(root, "grace", "2026-10-05 22:05:00.000000 UTC")    # 6 minutes late
    _exchange(root, "ext", "2026-10-06 23:00:00.000000 UTC")      # extension to 10-08 23:59
    _exchange(root, "days", "2026-10-07 01:00:00.000000 UTC")     # 1 day more: 3 h late
    _exchange(root, "cutoff", "2026-10-13 10:00:00.000000 UTC")   # 7 days 12 hours late
    _exchange(root, "weak", "2026-10-10 22:00:00.000000 UTC", WEAK)  # 5 days late, 1/3
    _exchange(root, "notime", "")                                 # no timestamp.txt
    # git: a commit at 2026-10-07 01:00 CEST, 1 day 1 hour late, collected by collect git
    bare, work = tmp / "late.git", tmp / "late-work"
    _git("init", "-q", "--bare", "-b", "main", str(bare))
    _git("init", "-q", "-b", "main", str(work))
    tree(work, {f"{A}/tiny.ipynb": _notebook(root)})
    _git("add", "-A", cwd=work)
    _git("commit", "-q", "-m", "done", cwd=work, when="2026-10-06T23:00:00Z")
    _git("push", "-q", str(bare), "main", cwd=work)
    (tmp / "roster.csv").write_text(f"student_id,repository\nlate,{bare}\n")
    rows = collect_git.collect_git(root, tmp / "roster.csv", [A])
    assert [r.status for r in rows] == ["collected"]
    # a folder: the newest file time, 2026-10-06 12:00 UTC (14 hours late)
    src = tree(tmp / "downloads", {f"files/{A}/tiny.ipynb": _notebook(root)})
    os.utime(src / "files" / A / "tiny.ipynb", (1791288000, 1791288000))
    assert collect.collect_folder(root, src) == [("files", A)]
    # an LMS zip: the entry time 2026-10-05 23:30 is local (Berlin): 21:30 UTC, on time
    lms = tmp / "lms.zip"
    with zipfile.ZipFile(lms, "w") as archive:
        archive.writestr(_entry("zed_1_2_tiny.ipynb", (2026, 10, 5, 23, 30, 0)), _notebook(root))
    assert collect.collect_zip(root, A, lms) == [("zed", A)]
    states = pipeline.grade(root, [A], options=pipeline.Options(jobs=2), progress=False)
    out = tmp / "out"
    made = report.report(root, out)
    return {"root": root, "states": {s["student"]: s for s in states}, "out": out,
            "markdown": made.read_text()}


def _penalties(root) -> dict:
    """student -> (raw score, late_submission_penalty) as nbgrader's gradebook holds them."""
    with Gradebook(grading._api(root).coursedir.db_url) as gb:
        return {s.student_id: (s.score, s.late_submission_penalty)
                for s in gb.find_assignment(A).submissions}


def test_every_submission_is_graded(graded):
    states = graded["states"]
    assert sorted(states) == ["cutoff", "days", "ext", "files", "grace", "late", "notime",
                              "ontime", "weak", "zed"]
    assert {s["status"] for s in states.values()} == {"graded"}, states


def test_on_time_late_and_past_the_cutoff(graded):
    """The penalty per_day, capped, limited to the score, zero past the cut-off, as nbgrader's
    gradebook holds it and as the state record says it."""
    got = _penalties(graded["root"])
    states = graded["states"]
    assert got["ontime"] == (3.0, 0.0) and states["ontime"]["seconds_late"] == 0
    assert got["grace"] == (3.0, 0.0) and states["grace"]["seconds_late"] == 360
    assert "within the 15-minute grace period: no penalty" in states["grace"]["late_reason"]
    assert got["late"] == (3.0, pytest.approx(0.6))  # 2 started days x 10 % of 3 points
    assert states["late"]["late_penalty"] == pytest.approx(0.6)
    assert states["late"]["late_reason"] == (
        "submitted 2026-10-07 01:00 CEST (git commit), 1 day 1 hour late (due 2026-10-05 "
        "23:59 CEST): 2 started days × 10 %: -20 % of 3 points = -0.6")
    assert got["cutoff"] == (3.0, 3.0)
    assert "more than 7 days late (the cut-off), the score is 0: -3" in (
        states["cutoff"]["late_reason"])
    # 6 started days x 10 % = 60 %, capped at 50 % = 1.5 points, but only 1 point was earned
    assert got["weak"] == (1.0, 1.0)
    assert "capped at 50 %: -50 % of 3 points = -1.5, limited to the 1 point earned" in (
        states["weak"]["late_reason"])
    assert states["ontime"]["due"] == "2026-10-05T21:59:00+00:00"


def test_an_extension_is_for_that_student_only(graded):
    """'ext' and 'late' handed in at the same time: only 'late' is late. The gradebook holds
    the due date and each extension (nbgrader's grant_extension)."""
    states, got = graded["states"], _penalties(graded["root"])
    assert states["ext"]["seconds_late"] == 0 and got["ext"] == (3.0, 0.0)
    assert states["late"]["seconds_late"] > 0
    assert states["ext"]["due"] == "2026-10-08T21:59:00+00:00"
    assert states["ext"]["original_due"] == "2026-10-05T21:59:00+00:00"
    assert states["ext"]["late_reason"].endswith(
        "on time (due 2026-10-05 23:59 CEST, extension to 2026-10-08 23:59 CEST)")
    assert states["days"]["late_penalty"] == pytest.approx(0.3)  # 3 hours after 10-06 23:59
    assert "extension to 2026-10-06 23:59 CEST" in states["days"]["late_reason"]
    with Gradebook(grading._api(graded["root"]).coursedir.db_url) as gb:
        assert gb.find_assignment(A).duedate == datetime(2026, 10, 5, 21, 59)
        assert gb.find_submission(A, "ext").extension == timedelta(days=3)
        assert gb.find_submission(A, "days").extension == timedelta(days=1)
        assert gb.find_submission(A, "late").extension is None


def test_where_the_time_came_from(graded):
    """Git commit, nbgrader's exchange, file times, a zip entry read in the policy's zone,
    and no time at all (never late)."""
    states = graded["states"]
    assert states["late"]["time_source"] == "git commit"
    assert states["late"]["submitted_at"] == "2026-10-06T23:00:00+00:00"
    assert states["ontime"]["time_source"] == "exchange"
    assert states["files"]["time_source"] == "file times"
    assert states["files"]["submitted_at"] == "2026-10-06T12:00:00+00:00"
    assert states["files"]["late_penalty"] == pytest.approx(0.3)
    assert states["zed"]["time_source"] == "zip entry"
    assert states["zed"]["submitted_at"] == "2026-10-05T21:30:00+00:00"  # not 23:30 UTC
    assert "local time without a zone in zip files, read in Europe/Berlin" in (
        states["zed"]["time_detail"])
    assert states["zed"]["seconds_late"] == 0
    assert states["notime"]["time_source"] == "none" and states["notime"]["submitted_at"] is None
    assert states["notime"]["seconds_late"] is None and states["notime"]["late_penalty"] == 0
    assert states["notime"]["late_reason"].startswith("no submission time")
    # the submissions themselves are left as collected
    assert not (graded["root"] / "submitted" / "notime" / A / "timestamp.txt").exists()


def test_nbgrader_export_agrees(graded):
    """nbgrader's own export (score = raw score - penalty) and the kit's final_score agree."""
    target = graded["root"] / "nbgrader-export.csv"
    subprocess.run([sys.executable, "-m", "nbgrader", "export", f"--to={target}"],
                   cwd=graded["root"], check=True, capture_output=True, timeout=300)
    theirs = {r["student_id"]: r for r in csv.DictReader(target.open())}
    ours = {r["student"]: r for r in csv.DictReader((graded["out"] / "grades.csv").open())}
    for student in graded["states"]:
        assert float(theirs[student]["score"]) == pytest.approx(float(ours[student]["final_score"]))
        assert float(theirs[student]["late_submission_penalty"]) == pytest.approx(
            float(ours[student]["late_penalty"]))
    assert theirs["ontime"]["duedate"].startswith("2026-10-05 21:59")


def test_export_columns(graded, tmp_path):
    """The late-work columns come last among CSV_FIELDS; final_score = score - penalty, the
    score itself without one, and 0 for missing work scored 0."""
    fields = report.CSV_FIELDS
    assert fields[-6:] == ["submitted_at", "time_source", "late_by_hours", "late_penalty",
                           "final_score", "late_reason"]
    with (graded["out"] / "grades.csv").open() as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames[:len(fields)] == fields
        rows = {r["student"]: r for r in reader}
    assert rows["late"]["final_score"] == "2.4" and rows["late"]["late_penalty"] == "0.6"
    assert rows["late"]["late_by_hours"] == "25.02"
    assert rows["late"]["submitted_at"] == "2026-10-06T23:00:00+00:00"
    assert rows["late"]["late_reason"].startswith("submitted 2026-10-07 01:00 CEST")
    assert rows["ontime"]["final_score"] == rows["ontime"]["score"] == "3.0"
    assert rows["cutoff"]["final_score"] == "0.0" and rows["weak"]["final_score"] == "0.0"
    assert rows["notime"]["late_by_hours"] == "" and rows["notime"]["final_score"] == "3.0"
    (tmp_path / "roster.csv").write_text("student_id\nabsent\n")
    document = report.export(graded["root"], tmp_path / "out", missing_as_zero=True,
                             roster_path=tmp_path / "roster.csv")
    absent = next(r for r in document["rows"] if r["student"] == "absent")
    assert absent["status"] == "missing" and absent["score"] == absent["final_score"] == 0.0


def test_report_has_a_late_work_table(graded):
    text = graded["markdown"]
    section = text.split("## Late work", 1)[1].split("\n## ", 1)[0]
    lines = {line.split("|")[2].strip() for line in section.splitlines()
             if line.startswith(f"| {A} |")}
    assert lines == {"cutoff", "days", "files", "grace", "late", "notime", "weak"}
    assert "| 0.6 | 2.4 |" in section


def test_the_feedback_page_says_why(graded):
    """The penalty and its reason next to the total; nothing for work on time."""
    def page(student):
        return html.unescape((graded["root"] / "feedback" / student / A / "tiny.html").read_text())

    late_page = page("late")
    assert "tiny: 2.4 / 3 points" in late_page
    assert "Late submission penalty: \N{MINUS SIGN}0.6 points (included in the score above)." in (
        late_page)
    assert ("Submitted 2026-10-07 01:00 CEST (git commit), 1 day 1 hour late (due 2026-10-05 "
            "23:59 CEST): 2 started days × 10 %: -20 % of 3 points = -0.6.") in late_page
    assert "extension to 2026-10-08 23:59 CEST" not in late_page
    grace = page("grace")
    assert "late-penalty" not in grace.split("</h4>", 1)[1].split("</table>", 1)[0]
    assert "within the 15-minute grace period: no penalty." in grace
    for student in ("ontime", "ext", "notime"):
        summary = page(student).split('id="summary"', 1)[1].split("</table>", 1)[0]
        assert "late" not in summary.lower(), student


def test_a_bad_configuration_stops_before_grading(tmp_path):
    """Every problem is named at once, before the gradebook or a submission is touched."""
    root = grading.make_scratch_course(tmp_path / "course", [A], TINY)
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write('\nc.LatePolicy.due = {"99_tiny": "2026-10-05", "99_tinny": "2026-10-05 23:59"}'
                 '\nc.LatePolicy.per_day = -5\nc.LatePolicy.timezone = "Europe/Berln"'
                 '\nc.LatePolicy.extensions = {"ann": {"99_tiny": 0}}\n')
    _exchange(root, "ann", "2026-10-05 21:00:00.000000 UTC")
    with pytest.raises(late.LatePolicyError) as error:
        pipeline.grade(root, [A], options=pipeline.Options(use_sandbox=False), progress=False)
    message = str(error.value)
    assert "c.LatePolicy.due['99_tiny']: '2026-10-05' has no time of day" in message
    assert "c.LatePolicy.due['99_tinny']: no assignment '99_tinny' in source/" in message
    assert "c.LatePolicy.per_day = -5: expected a number between 0 and 100" in message
    assert "c.LatePolicy.timezone = 'Europe/Berln' is not a time zone" in message
    assert "c.LatePolicy.extensions['ann']['99_tiny'] = 0: expected a positive number" in message
    assert not (root / pipeline.STATE).exists() and not (root / "autograded").exists()
    with Gradebook(grading._api(root).coursedir.db_url) as gb:
        assert gb.find_assignment(A).duedate is None
    # ./course grade says the same in one error, no traceback, exit 1
    from dlgrader import cli

    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert cli.main(["grade", A, "--course", str(root), "--no-sandbox"]) == 1
    assert err.getvalue().startswith("error: ") and "Traceback" not in err.getvalue()
    assert "c.LatePolicy.per_day = -5" in err.getvalue()


@pytest.mark.parametrize(("settings", "expected"), [
    ({"method": "perday"}, "c.LatePolicy.method = 'perday': expected one of"),
    ({"due": {A: "2026-03-29 02:30"}, "timezone": "Europe/Berlin"}, "does not exist in"),
    ({"due": {A: 20261005}}, "is not a date and time"),
    ({"due": {A: "2026-10-05 23:59"}, "extensions": {"ann": {A: "2026-10-01 12:00"}}},
     "is not after the due date 2026-10-05 23:59 UTC"),
    ({"extensions": {"ann": {A: 2}}}, "no due date for '99_tiny' in c.LatePolicy.due"),
    ({"max_deduction": 120}, "c.LatePolicy.max_deduction = 120: expected a number between"),
    ({"cutoff_days": -1}, "c.LatePolicy.cutoff_days = -1: expected a number at least 0"),
    ({"per_day": "ten"}, "The 'per_day' trait of a LatePolicy instance expected a float"),
])
def test_configuration_errors(course, settings, expected):
    config = Config({"LatePolicy": settings})
    with pytest.raises(late.LatePolicyError) as error:
        late.load(course, config)
    assert expected in str(error.value)


def test_nbgraders_penalty_method_is_not_silently_ignored(course):
    config = Config({"LateSubmissionPlugin": {"penalty_method": "zero"}})
    with pytest.raises(late.LatePolicyError, match="uses c.LatePolicy.method"):
        late.load(course, config)


def test_rules_in_words():
    policy = late.policy_of(Config({"LatePolicy": {"method": "per_day", "per_day": 25}}))
    assert late.assess(policy, 0, 3, 3) == late.Assessment(None, "on time")
    assert late.assess(policy, 3 * 86400 + 1, 10, 10).points == 100 / 100 * 10
    assert late.assess(policy, 5 * 86400, 10, 10).rule.endswith(
        "5 started days × 25 % = 125 %, capped at 100 %: -100 % of 10 points = -10")
    zero = late.policy_of(Config({"LatePolicy": {"method": "zero"}}))
    assert late.assess(zero, 1, 2.5, 3) == late.Assessment(2.5, "late work scores 0: -2.5")
    none = late.policy_of(Config({"LatePolicy": {"method": "none"}}))
    assert late.assess(none, 99999, 2.5, 3).points is None
    assert late.duration(59.2) == "60 seconds" and late.duration(86400) == "1 day"
    assert late.duration(2 * 86400 + 3 * 3600 + 59) == "2 days 3 hours"


def test_zip_entry_times(tmp_path):
    """A zip entry's own time is local (read in the zone given); Info-ZIP's UTC extra field
    wins when present; a nested zip maps to the folder nbgrader's extractor makes for it."""
    plain = _entry("a.ipynb", (2026, 1, 15, 12, 0, 0))
    at, how = submission_time.entry_time(plain, BERLIN)
    assert at == datetime(2026, 1, 15, 11, 0, tzinfo=UTC) and "read in Europe/Berlin" in how
    stamp = int(datetime(2026, 1, 15, 9, 30, tzinfo=UTC).timestamp())
    ut = _entry("b.ipynb", (2026, 1, 15, 12, 0, 0), struct.pack("<HHBi", 0x5455, 5, 1, stamp))
    assert submission_time.entry_time(ut, BERLIN)[0] == datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    inner, outer = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr(_entry("99_tiny/tiny.ipynb", (2026, 2, 1, 8, 0, 0)), b"{}")
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr(_entry("bob_1_work.zip", (2026, 2, 1, 9, 0, 0)), inner.getvalue())
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "lms.zip").write_bytes(outer.getvalue())
    times = submission_time.zip_entry_times(tmp_path / "archive", tmp_path / "extracted", BERLIN)
    nested = tmp_path / "extracted" / "lms" / "bob_1_work" / "99_tiny" / "tiny.ipynb"
    assert times[str(nested)][0] == datetime(2026, 2, 1, 7, 0, tzinfo=UTC)
    assert times[str(tmp_path / "extracted" / "lms" / "bob_1_work.zip")][0] == datetime(
        2026, 2, 1, 8, 0, tzinfo=UTC)
