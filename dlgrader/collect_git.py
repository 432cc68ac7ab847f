"""Collect submissions from the students' own git repositories (GitHub Classroom).

``collect git ROSTER`` reads a roster CSV (:func:`read_roster`, accepted columns in
:data:`GIT_HELP`) and, for each student, clones the repository into a bare cache
``.collect-git/<student>`` of the course root (a later run fetches into it), picks the commit
of the deadline on the default branch and copies each assignment's files from that commit,
through git's object store only: nothing of the repository is checked out, symbolic links and
submodules stored in it are skipped (noted), never followed. Each (student, assignment) ends
as a row ``collected``, ``missing`` or ``error`` with its reason; see :data:`GIT_HELP`.

CLI (also ``./course collect git``)::

    python -m dlgrader.collect_git ROSTER [--assignment A ...] [--deadline WHEN]
                                          [--course-root ROOT] [--jobs N] [--timeout S]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dlgrader import grading
from dlgrader.collect import (
    TIMESTAMP_FORMAT,
    _copy_submission,
    _notebook_names,
    _plain_name,
    _source_assignments,
)
from dlgrader.roster import ID_COLUMNS, read_table

__all__ = ["GIT_CACHE", "PROVENANCE", "GitRow", "RosterEntry", "collect_git", "main",
           "parse_deadline", "read_roster"]

log = logging.getLogger(__name__)


#: The bare clones of the students' repositories, one per student, below the course root.
GIT_CACHE = ".collect-git"
#: Where a submission collected from git came from, next to its ``timestamp.txt``.
PROVENANCE = "collect-git.json"
#: Roster columns, case-insensitive: the first present of each tuple is used.
REPOSITORY_COLUMNS = ("repository", "student_repository_url", "repository_url")
#: Seconds one clone or fetch may take.
GIT_TIMEOUT = 300.0
#: Where an assignment's notebooks are looked for in a student's repository, in this order.
GIT_LAYOUTS = ("workspace/{assignment}", "{assignment}", "")

GIT_HELP = """\
ROSTER is a CSV file with a header row (column names are case-insensitive), either
  this kit's roster:   student_id,repository
  GitHub Classroom's assignment grades export ("Download grades"; the REST API's
  /assignments/{id}/grades has the same fields):
                       github_username (else roster_identifier), student_repository_url
                       (or repository_url); its other columns are ignored.
The student id (--id-column picks another column) names the folder submitted/<student>/: it
must not be empty, start with "." or contain "/" or "\\". The repository is anything git clones:
an https or ssh URL, or a local path (relative to the roster's folder). A student listed twice
with two repositories is an error; a row without a repository (a student who has not accepted
the assignment yet) is an error row.

Each repository is cloned (bare) into .collect-git/<student> of the course root, or fetched
there when that clone exists. The commit collected is, walking the default branch (the remote
HEAD) back along first parents, the first whose committer date is at or before --deadline (the
newest commit without a deadline). --deadline is ISO 8601, e.g. 2025-03-01T23:59:00+01:00 or
2025-03-01T22:59Z; a time without an offset is UTC; a date alone is 00:00 of that day. Committer
dates are written by the student's machine: to be independent of them, collect at the deadline.

In that commit, each assignment's released notebooks (release/<assignment>/, else source/) are
looked for in workspace/<assignment>/, then <assignment>/, then at the top level of the
repository; the first of these folders holding one of them is used. From it, the released
notebooks and the folder's other non-notebook files are copied (for the top level, the
notebooks only) into submitted/<student>/<assignment>/, replacing what was there, with
timestamp.txt (the commit's committer time, UTC) and collect-git.json (repository, commit,
time, deadline, folder, files skipped). Files are read from git's objects, never checked out:
symbolic links and submodules are skipped and noted, as are other notebooks, files larger than
nbgrader's max_file_size, and a timestamp.txt or collect-git.json of the student's own.

Every student and assignment is a row of the table printed:
  collected  the commit and its time;
  missing    no commit at or before the deadline (or none at all), or no released notebook
             of the assignment in that commit;
  error      the roster row is unusable, or the repository could not be cloned or fetched.
An earlier submission in submitted/ is kept, never removed, for a missing or error row. The
exit status is 0 when the roster could be read (whatever the rows say), 1 for a usage error:
unreadable roster, missing columns, unknown assignment, invalid deadline, no git. Only
submitted/<student>/<assignment>/ of the rows collected and .collect-git/ are written: not the
gradebook (grading creates the students), not source/ or any other folder.
"""


@dataclass(frozen=True)
class RosterEntry:
    """One student of a roster: the id, the repository to clone and what is wrong with them."""

    student: str
    repository: str
    line: int
    problem: str = ""


@dataclass
class GitRow:
    """The outcome for one student and one assignment."""

    student: str
    assignment: str
    status: str  # collected | missing | error
    commit: str = ""
    time: str = ""  # the commit's committer time, ISO 8601 in UTC
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    fetch: str = ""  # cloned | fetched


class GitError(RuntimeError):
    """A git command failed or ran out of time."""


def _redact(text: str) -> str:
    """``text`` without credentials written into URLs (``https://user:token@host``)."""
    return re.sub(r"(://)[^/@\s]+@", r"\1***@", text)


def _student_problem(student: str) -> str:
    """Why ``student`` cannot be an nbgrader student id (a folder name); "" when it can."""
    if not student:
        return "empty student id"
    if "/" in student or "\\" in student:
        return f"student id {student!r} contains a path separator"
    if student.startswith("."):
        return f"student id {student!r} starts with '.'"
    if any(ord(c) < 32 or ord(c) == 127 for c in student):
        return f"student id {student!r} contains a control character"
    return ""


def _is_remote(repository: str) -> bool:
    """A URL or git's scp-like ``host:path``, as opposed to a local path."""
    return "://" in repository or bool(re.match(r"^[^/\\]+:", repository))


def _expected_columns() -> str:
    return (f"{' or '.join(ID_COLUMNS[:1])} and {REPOSITORY_COLUMNS[0]} (this kit's roster), or "
            f"{' or '.join(ID_COLUMNS[1:])} and {' or '.join(REPOSITORY_COLUMNS[1:])} "
            f"(GitHub Classroom's grades export)")


def read_roster(path: Path, id_column: str | None = None) -> list[RosterEntry]:
    """The students of the roster CSV ``path`` (formats: :data:`GIT_HELP`).

    ValueError when the file cannot be read or lacks the columns. Rows that cannot be used (an
    unsafe or empty id, no repository, one id with two repositories) come back with their
    ``problem``; a student listed twice with the same repository is kept once. Local
    repository paths are made absolute, relative to the roster's folder.
    """
    path = Path(path)
    columns, rows = read_table(path)  # RosterError is a ValueError
    if id_column is not None:
        id_key = id_column.strip().lower()
        if id_key not in columns:
            raise ValueError(f"roster {path} has no column {id_column!r} "
                             f"(columns: {', '.join(columns.values()) or 'none'})")
    else:
        id_key = next((c for c in ID_COLUMNS if c in columns), None)
    repo_key = next((c for c in REPOSITORY_COLUMNS if c in columns), None)
    if id_key is None or repo_key is None:
        raise ValueError(f"roster {path} needs the columns {_expected_columns()}; it has: "
                         f"{', '.join(columns.values()) or 'no header'}")
    base = path.resolve().parent
    entries: list[RosterEntry] = []
    for line, row in rows:
        values = {key: (row.get(name) or "").strip() for key, name in columns.items()}
        if not any(values.values()):
            continue
        student, repository = values[id_key], values[repo_key]
        problem = ("no repository in the roster (has the student accepted the assignment?)"
                   if not repository else _student_problem(student))
        if not student:  # show who it is, when the roster says it elsewhere
            student = next((values[c] for c in ID_COLUMNS if values.get(c)), f"(line {line})")
        if repository and not _is_remote(repository):
            repository = str(base / Path(repository).expanduser())
        if repository.startswith("-"):
            problem = problem or f"invalid repository {repository!r}"
        entries.append(RosterEntry(student, repository, line, problem))
    return _deduplicate(entries)


def _deduplicate(entries: list[RosterEntry]) -> list[RosterEntry]:
    """One entry per student id; an id given two repositories is an error for every line."""
    by_student: dict[str, list[RosterEntry]] = {}
    for entry in entries:
        by_student.setdefault(entry.student, []).append(entry)
    out = []
    for entry in entries:
        same = by_student[entry.student]
        if entry.problem or len(same) == 1:
            out.append(entry)
        elif len({e.repository for e in same if not e.problem}) > 1:
            lines = ", ".join(str(e.line) for e in same)
            out.append(RosterEntry(entry.student, entry.repository, entry.line,
                                   f"listed with different repositories (lines {lines})"))
        elif entry is next(e for e in same if not e.problem):
            out.append(entry)
    return out


def parse_deadline(text: str | datetime | None) -> datetime | None:
    """An aware datetime from ISO 8601 ``text`` (no offset: UTC); None for no deadline."""
    if text is None or isinstance(text, datetime):
        when = text
    elif not text.strip():
        return None
    else:
        try:
            when = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"invalid deadline {text!r}: ISO 8601 expected, e.g. "
                             f"2025-03-01T23:59:00+01:00 (no offset: UTC)") from None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def _git_env() -> dict[str, str]:
    """The environment git runs with: never a prompt, C messages."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    return env


def _git(args: list[str], cwd: Path | None = None, timeout: float = GIT_TIMEOUT) -> bytes:
    """``git ARGS`` (no shell); its output, or GitError with git's last message line."""
    command = next((a for i, a in enumerate(args)
                    if not a.startswith("-") and (i == 0 or args[i - 1] != "-c")), "")
    try:
        proc = subprocess.Popen(["git", *args], cwd=cwd, env=_git_env(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as error:
        raise GitError(f"cannot run git: {error}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:  # git's helpers (remote-https, index-pack) are in its process group
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise GitError(f"git {command} took longer than {timeout:g} s (stopped)") from None
    if proc.returncode:
        lines = _redact(err.decode(errors="replace")).strip().splitlines()
        raise GitError(lines[-1] if lines else f"git {command} exited with {proc.returncode}")
    return out


def _ignore_cache(folder: Path) -> None:
    """Make git (the kit's own repository) ignore the cache folder."""
    marker = folder / ".gitignore"
    if not marker.exists():
        marker.write_text("# bare clones of the students' repositories (dlgrader.collect)\n*\n")


def _sync(cache: Path, repository: str, timeout: float) -> str:
    """Bring the bare clone ``cache`` of ``repository`` up to date: "cloned" or "fetched"."""
    if cache.is_dir():
        try:
            url = _git(["config", "--get", "remote.origin.url"], cache, 60).decode().strip()
        except GitError:
            url = None
        if url == repository:
            try:
                _git(["fetch", "--quiet", "--prune", "--no-tags", "origin",
                      "+refs/heads/*:refs/heads/*"], cache, timeout)
            except GitError as error:
                raise GitError(f"cannot fetch: {error}") from None
            _follow_remote_head(cache, timeout)
            return "fetched"
        shutil.rmtree(cache)  # the roster names another repository now, or a broken clone
    cache.parent.mkdir(parents=True, exist_ok=True)
    _ignore_cache(cache.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{cache.name}.", dir=cache.parent))
    try:
        _git(["clone", "--bare", "--quiet", "--no-tags", "--", repository,
              str(staging / "clone")], cache.parent, timeout)
        (staging / "clone").rename(cache)
    except GitError as error:
        raise GitError(f"cannot clone: {error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return "cloned"


def _follow_remote_head(cache: Path, timeout: float) -> None:
    """Point HEAD at the remote's default branch (it may have been renamed since the clone)."""
    try:
        out = _git(["ls-remote", "--symref", "origin", "HEAD"], cache, timeout).decode()
        match = re.match(r"ref: (refs/heads/\S+)\tHEAD", out)
        if match:
            _git(["rev-parse", "--verify", "--quiet", match[1]], cache, 60)
            _git(["symbolic-ref", "HEAD", match[1]], cache, 60)
    except GitError:
        pass  # keep the default branch of the clone


def _pick_commit(cache: Path, deadline: datetime | None, timeout: float
                 ) -> tuple[str, int] | str:
    """(sha, committer time) of the deadline's commit, or why there is none."""
    try:
        _git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cache, 60)
    except GitError:
        return "the repository has no commits"
    out = _git(["log", "--first-parent", "--format=%H %ct", "HEAD", "--"], cache, timeout)
    commits = [(sha, int(when)) for sha, when in (line.split() for line in out.decode().split("\n")
                                                   if line)]
    if deadline is None:
        return commits[0]
    limit = deadline.timestamp()
    for sha, when in commits:
        if when <= limit:
            return sha, when
    return (f"no commit at or before the deadline {_iso(deadline)} (the first is of "
            f"{_iso(commits[-1][1])})")


def _iso(when: datetime | int) -> str:
    """ISO 8601 in UTC, to the second."""
    if isinstance(when, int):
        when = datetime.fromtimestamp(when, UTC)
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _tree(cache: Path, commit: str, timeout: float) -> dict[str, tuple[str, str, int]]:
    """Every entry of ``commit``'s tree, recursively: path -> (mode, object, size)."""
    out = _git(["ls-tree", "-r", "-l", "-z", "--full-tree", commit], cache, timeout)
    entries = {}
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, _kind, sha, size = meta.decode().split()
        entries[os.fsdecode(path)] = (mode, sha, int(size) if size.isdigit() else 0)
    return entries


def _what(mode: str) -> str:
    return {"120000": "a symbolic link", "160000": "a submodule"}.get(mode, f"mode {mode}")


def _locate(entries: dict, assignment: str, names: list[str]
            ) -> tuple[str | None, list[str], list[str]]:
    """(folder, released notebooks found there, notes) following :data:`GIT_LAYOUTS`."""
    notes: list[str] = []
    for layout in GIT_LAYOUTS:
        folder = layout.format(assignment=assignment)
        parts = folder.split("/") if folder else []
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            if prefix in entries and entries[prefix][0] in ("120000", "160000"):
                notes.append(f"{prefix} is {_what(entries[prefix][0])}: not followed")
        found = []
        for name in names:
            path = f"{folder}/{name}.ipynb" if folder else f"{name}.ipynb"
            if path not in entries:
                continue
            if entries[path][0] in ("100644", "100755"):
                found.append(name)
            else:
                notes.append(f"{path} is {_what(entries[path][0])}: not followed")
        if found:
            return folder, found, notes
    return None, [], notes


def _select(entries: dict, folder: str, found: list[str], ignore: list[str], max_kb: int
            ) -> tuple[list[tuple[str, str]], list[str]]:
    """The files of ``folder`` to collect, (relative path, blob), and the notes on skipped ones."""
    notebooks = {f"{name}.ipynb" for name in found}
    if not folder:
        return [(rel, entries[rel][1]) for rel in sorted(notebooks)], []
    files, notes = [], []
    prefix = folder + "/"
    for path, (mode, sha, size) in sorted(entries.items()):
        if not path.startswith(prefix):
            continue
        rel = path[len(prefix):]
        parts = rel.split("/")
        if any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in ignore):
            continue
        if any(part in ("", ".", "..", ".git") for part in parts):
            notes.append(f"{path}: unsafe name, skipped")
        elif mode not in ("100644", "100755"):
            notes.append(f"{path} is {_what(mode)}: not followed")
        elif rel in ("timestamp.txt", PROVENANCE):
            notes.append(f"{path}: the repository's own {rel} is ignored")
        elif rel.endswith(".ipynb") and rel not in notebooks:
            notes.append(f"{path}: not a released notebook, skipped")
        elif size > max_kb * 1024:
            notes.append(f"{path}: larger than {max_kb} KB, skipped")
        else:
            files.append((rel, sha))
    return files, notes


def _collect_assignment(course_root: Path, entry: RosterEntry, cache: Path, commit: str,
                        when: int, entries: dict, assignment: str, names: list[str],
                        deadline: datetime | None, ignore: list[str], max_kb: int,
                        timeout: float) -> GitRow:
    """Copy one assignment of one commit into ``submitted/``; its row."""
    row = GitRow(entry.student, assignment, "missing", commit, _iso(when))
    folder, found, row.notes = _locate(entries, assignment, names)
    if folder is None:
        wanted = ", ".join(f"{n}.ipynb" for n in names)
        row.reason = (f"no {wanted} in workspace/{assignment}/, {assignment}/ or the top level "
                      f"of commit {commit[:12]}")
        return row
    files, skipped = _select(entries, folder, found, ignore, max_kb)
    row.notes += skipped
    row.notes += [f"{n}.ipynb not found in {folder or 'the top level'}"
                  for n in names if n not in found]
    with tempfile.TemporaryDirectory(prefix="nndl-collect-git-") as tmp:
        work = Path(tmp) / assignment
        for rel, sha in files:
            target = work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_git(["cat-file", "blob", sha], cache, timeout))
        work.mkdir(exist_ok=True)
        stamp = datetime.fromtimestamp(when, UTC)
        (work / "timestamp.txt").write_text(stamp.strftime(TIMESTAMP_FORMAT))
        provenance = {"student": entry.student, "assignment": assignment,
                      "repository": _redact(entry.repository), "commit": commit,
                      "committed": _iso(when),
                      "deadline": _iso(deadline) if deadline else None,
                      "folder": folder, "files": [rel for rel, _ in files],
                      "notes": row.notes}
        (work / PROVENANCE).write_text(json.dumps(provenance, indent=1) + "\n")
        _copy_submission(work, course_root / "submitted" / entry.student / assignment, ignore)
    row.status = "collected"
    return row


def _collect_student(course_root: Path, entry: RosterEntry, plan: dict[str, list[str]],
                     deadline: datetime | None, ignore: list[str], max_kb: int,
                     timeout: float) -> list[GitRow]:
    """Every assignment of one student: clone or fetch, pick the commit, copy; the rows."""
    def rows(status: str, reason: str, **extra) -> list[GitRow]:
        return [GitRow(entry.student, a, status, reason=reason, **extra) for a in plan]

    if entry.problem:
        return rows("error", f"roster line {entry.line}: {entry.problem}")
    out = _collect_repository(course_root, entry, plan, deadline, ignore, max_kb, timeout,
                              rows)
    for row in out:
        earlier = course_root / "submitted" / entry.student / row.assignment
        if row.status != "collected" and earlier.is_dir():
            row.notes.append(f"the earlier submission in submitted/{entry.student}/"
                             f"{row.assignment}/ is kept")
    return out


def _collect_repository(course_root: Path, entry: RosterEntry, plan: dict[str, list[str]],
                        deadline: datetime | None, ignore: list[str], max_kb: int,
                        timeout: float, rows) -> list[GitRow]:
    cache = course_root / GIT_CACHE / entry.student
    log.info("%s: %s", entry.student, _redact(entry.repository))
    try:
        how = _sync(cache, entry.repository, timeout)
        picked = _pick_commit(cache, deadline, timeout)
        if isinstance(picked, str):
            return rows("missing", picked, fetch=how)
        commit, when = picked
        entries = _tree(cache, commit, timeout)
    except Exception as error:  # noqa: BLE001 - one student's repository never stops the run
        log.debug("%s", entry.student, exc_info=True)
        return rows("error", _redact(f"{entry.repository}: {error}"))
    out = []
    for assignment, names in plan.items():
        try:
            row = _collect_assignment(course_root, entry, cache, commit, when, entries,
                                      assignment, names, deadline, ignore, max_kb, timeout)
        except Exception as error:  # noqa: BLE001
            log.debug("%s/%s", entry.student, assignment, exc_info=True)
            row = GitRow(entry.student, assignment, "error", commit, _iso(when),
                         reason=_redact(f"{type(error).__name__}: {error}"))
        row.fetch = how
        out.append(row)
    return out


def collect_git(course_root: Path, roster: Path, assignments: list[str] | None = None,
                deadline: str | datetime | None = None, *, id_column: str | None = None,
                jobs: int = 4, timeout: float = GIT_TIMEOUT) -> list[GitRow]:
    """Collect each roster student's repository at ``deadline`` into ``submitted/``.

    See :data:`GIT_HELP` for the roster, the commit chosen, where notebooks are looked for and
    what each row's status means. ``assignments`` defaults to every assignment of
    ``source/``; ``jobs`` students are cloned or fetched at once, each git command has
    ``timeout`` seconds. Usage errors (roster, assignment, deadline, no git) raise
    ValueError or RuntimeError before anything is done; every student's problem is a row.
    """
    course_root = Path(course_root)
    if shutil.which("git") is None:
        raise RuntimeError("git is not installed (apt-get install git)")
    when = parse_deadline(deadline)
    known = _source_assignments(course_root)
    names = sorted(known) if assignments is None else [_plain_name(a, "assignment")
                                                         for a in assignments]
    unknown = sorted(set(names) - known)
    if unknown:
        raise ValueError(f"no assignment {', '.join(unknown)} in {course_root}/source")
    plan = {name: _notebook_names(course_root, name) for name in dict.fromkeys(names)}
    empty = [name for name, notebooks in plan.items() if not notebooks]
    if empty:
        raise ValueError(f"no notebook in release/ or source/ of {', '.join(empty)}")
    entries = read_roster(roster, id_column)
    coursedir = grading._api(course_root).coursedir
    ignore, max_kb = list(coursedir.ignore), int(coursedir.max_file_size)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = pool.map(lambda e: _collect_student(course_root, e, plan, when, ignore,
                                                      max_kb, timeout), entries)
        return [row for rows in results for row in rows]


def print_git_rows(rows: list[GitRow], out=None) -> None:
    """The table of :func:`collect_git`'s rows, notes indented below their row."""
    out = out or sys.stdout
    head = ("student", "assignment", "status", "commit", "time or reason")
    table = [(r.student, r.assignment, r.status, r.commit[:12],
              r.time if r.status == "collected" else r.reason) for r in rows]
    widths = [max([len(head[i])] + [len(t[i]) for t in table]) for i in range(4)]
    for i, cells in enumerate([head, *table]):
        line = "  ".join([*(c.ljust(w) for c, w in zip(cells, widths, strict=False)), cells[4]])
        print(line.rstrip(), file=out)
        if i:
            for note in rows[i - 1].notes:
                print(f"    note: {note}", file=out)


def main(argv: list[str] | None = None) -> int:
    """``python -m dlgrader.collect_git ROSTER ...``: collect, print the table of rows."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course-root", type=Path, default=argparse.SUPPRESS,
                        help="the nbgrader course folder (default: this repository)")
    git = argparse.ArgumentParser(
        prog="./course collect git", parents=[common], epilog=GIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Collect each roster student's git repository (GitHub Classroom), at the "
                    "last commit before the deadline, into submitted/.")
    git.add_argument("roster", type=Path, help="CSV: student_id,repository or GitHub "
                                               "Classroom's grades export (see below)")
    git.add_argument("--assignment", action="append",
                     help="only this one (repeatable; default: every assignment of source/)")
    git.add_argument("--deadline", metavar="WHEN",
                     help="ISO 8601, e.g. 2025-03-01T23:59:00+01:00; without an offset the "
                          "time is UTC (default: the newest commit)")
    git.add_argument("--id-column", help="the roster column holding the student id")
    git.add_argument("--jobs", type=int, default=4, help="repositories cloned at once (4)")
    git.add_argument("--timeout", type=float, default=GIT_TIMEOUT,
                     help=f"seconds one clone or fetch may take ({GIT_TIMEOUT:g})")
    args = git.parse_args(argv)
    root = getattr(args, "course_root", grading.REPO)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        rows = collect_git(root, args.roster, args.assignment, args.deadline,
                           id_column=args.id_column, jobs=args.jobs, timeout=args.timeout)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print_git_rows(rows)
    counts = {s: sum(r.status == s for r in rows) for s in ("collected", "missing", "error")}
    print(", ".join(f"{s} {n}" for s, n in counts.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
