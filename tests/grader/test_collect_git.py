"""dlgrader.collect_git: students' repositories read at the deadline's commit, never checked out."""

import csv
import hashlib
import json
import os
import subprocess
from datetime import UTC, datetime

import pytest
from nbgrader.utils import parse_utc
from tiny_course import A, tree

from dlgrader import collect_git

DEADLINE = "2024-03-01T12:00:00+01:00"  # 11:00 UTC
BEFORE = "2024-03-01T12:59:00+02:00"    # 10:59 UTC: before, although 12:59 > 12:00
AT = "2024-03-01T11:00:00+00:00"        # exactly the deadline: collected
AFTER = "2024-03-01T11:01:00Z"          # after


@pytest.fixture
def git_env(monkeypatch, tmp_path):
    """git without the machine's configuration, with a fixed identity (for commits)."""
    for name, value in {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
                        "HOME": str(tmp_path), "GIT_AUTHOR_NAME": "Student",
                        "GIT_AUTHOR_EMAIL": "student@example.org",
                        "GIT_COMMITTER_NAME": "Student",
                        "GIT_COMMITTER_EMAIL": "student@example.org"}.items():
        monkeypatch.setenv(name, value)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


def git(*args, cwd=None, when=None):
    """Run git; its stdout."""
    env = dict(os.environ)
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


class Repo:
    """A bare repository standing in for a student's, and a working clone making commits."""

    def __init__(self, root, name):
        self.bare, self.work = root / "remotes" / f"{name}.git", root / "work" / name
        git("init", "-q", "--bare", "-b", "main", str(self.bare))
        git("init", "-q", "-b", "main", str(self.work))
        git("remote", "add", "origin", str(self.bare), cwd=self.work)

    def commit(self, when, files=(), links=(), remove=()):
        """Commit ``files`` (path -> bytes), ``links`` (path -> target) at ``when``; push."""
        for rel, data in dict(files).items():
            tree(self.work, {rel: data})
        for rel, target in dict(links).items():
            (self.work / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, self.work / rel)
        for rel in remove:
            (self.work / rel).unlink()
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "--allow-empty", "-m", f"work of {when}", cwd=self.work, when=when)
        git("push", "-q", "origin", "main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


def version(notebook, tag):
    """The released notebook, marked ``tag`` in its metadata."""
    nb = json.loads(notebook)
    nb["metadata"]["collect_test"] = tag
    return json.dumps(nb).encode()


def listing(root):
    """Every path below ``root`` but the git cache: a fingerprint for files, "dir" for folders."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == collect_git.GIT_CACHE:
            continue
        out[rel] = ("dir" if path.is_dir() and not path.is_symlink() else
                    (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns))
    return out


def changed_paths(before, after):
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def allowed(collected):
    """May change: submitted/, submitted/<student>/ and everything in the submissions."""
    def ok(path):
        parts = path.parts
        return (parts[:1] == ("submitted",) and
                (len(parts) <= 2 or tuple(parts[1:3]) in collected))
    return ok


def write_roster(path, rows, header=("student_id", "repository")):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def fields(table):
    """The printed table's lines, split at whitespace."""
    return [line.split() for line in table.splitlines()]


def by_pair(rows):
    return {(r.student, r.assignment): r for r in rows}


def test_collect_git(course, notebook, tmp_path, git_env, capsys):
    """The deadline's commit of each repository lands; problems are rows; nothing else moves."""
    v1, v2 = version(notebook, "v1"), version(notebook, "v2")
    ola = Repo(tmp_path, "ola")  # workspace/<assignment>/, a commit after the deadline
    first = ola.commit(BEFORE, {f"workspace/{A}/tiny.ipynb": v1, f"workspace/{A}/notes.txt":
                                b"my notes", f"workspace/{A}/scratch.ipynb": notebook,
                                f"workspace/{A}/timestamp.txt": b"2000-01-01 00:00:00 UTC",
                                f"workspace/{A}/.ipynb_checkpoints/tiny-checkpoint.ipynb": b"{}",
                                "README.md": b"ola's repository"})
    ola.commit(AFTER, {f"workspace/{A}/tiny.ipynb": v2})
    pia = Repo(tmp_path, "pia")  # <assignment>/, committed exactly at the deadline
    at = pia.commit(AT, {f"{A}/tiny.ipynb": v1, f"{A}/img/cat.png": b"\x89PNG"})
    quin = Repo(tmp_path, "quin")  # the notebook at the top level
    quin.commit(BEFORE, {"tiny.ipynb": v1, "README.md": b"not collected"})
    rae = Repo(tmp_path, "rae")  # no notebook
    rae.commit(BEFORE, {"README.md": b"nothing yet"})
    sam = Repo(tmp_path, "sam")  # everything after the deadline
    sam.commit(AFTER, {"tiny.ipynb": v2})
    roster = write_roster(tmp_path / "roster.csv", [
        ("ola", str(ola.bare)), ("pia", "remotes/pia.git"),  # relative to the roster
        ("quin", f"file://{quin.bare}"), ("rae", str(rae.bare)), ("sam", str(sam.bare)),
        ("tom", str(tmp_path / "remotes" / "nobody.git")), ("../uma", str(ola.bare)),
        ("", str(ola.bare))])
    stale = tree(course / "submitted" / "rae" / A, {"tiny.ipynb": notebook})
    before = listing(course)

    rows = collect_git.collect_git(course, roster, [A], DEADLINE)

    got = by_pair(rows)
    assert [r.student for r in rows] == ["ola", "pia", "quin", "rae", "sam", "tom", "../uma",
                                         "(line 9)"]
    assert {s for (s, _), r in got.items() if r.status == "collected"} == {"ola", "pia", "quin"}
    assert got["rae", A].status == "missing" and "no tiny.ipynb in" in got["rae", A].reason
    assert any("earlier submission" in n for n in got["rae", A].notes)
    assert (stale / "tiny.ipynb").read_bytes() == notebook  # kept, never removed
    assert got["sam", A].status == "missing" and "no commit at or before" in got["sam", A].reason
    assert got["tom", A].status == "error" and "does not exist" in got["tom", A].reason
    assert got["../uma", A].status == "error" and "path separator" in got["../uma", A].reason
    assert got["(line 9)", A].status == "error" and "empty student id" in got["(line 9)", A].reason
    # ola: the version before the deadline (12:59+02:00 is 10:59 UTC), its time, its files
    sub = course / "submitted" / "ola" / A
    assert (sub / "tiny.ipynb").read_bytes() == v1
    assert got["ola", A].commit == first and got["ola", A].time == "2024-03-01T10:59:00+00:00"
    assert parse_utc((sub / "timestamp.txt").read_text()) == datetime(2024, 3, 1, 10, 59)
    assert (sub / "notes.txt").read_bytes() == b"my notes"
    assert sorted(p.name for p in sub.iterdir()) == [collect_git.PROVENANCE, "notes.txt",
                                                    "timestamp.txt", "tiny.ipynb"]
    assert any("scratch.ipynb: not a released notebook" in n for n in got["ola", A].notes)
    provenance = json.loads((sub / collect_git.PROVENANCE).read_text())
    assert provenance["commit"] == first and provenance["repository"] == str(ola.bare)
    assert provenance["committed"] == "2024-03-01T10:59:00+00:00"
    assert provenance["deadline"] == "2024-03-01T11:00:00+00:00"
    assert provenance["folder"] == f"workspace/{A}"
    # pia: at the deadline is in time; sub-folders come along
    sub = course / "submitted" / "pia" / A
    assert got["pia", A].commit == at and (sub / "img" / "cat.png").read_bytes() == b"\x89PNG"
    assert parse_utc((sub / "timestamp.txt").read_text()) == datetime(2024, 3, 1, 11, 0)
    # quin: the top level gives its notebook only
    sub = course / "submitted" / "quin" / A
    assert sorted(p.name for p in sub.iterdir()) == [collect_git.PROVENANCE, "timestamp.txt",
                                                    "tiny.ipynb"]
    # nothing else of the course changed: no other folder, not the gradebook
    assert not (course / "submitted" / "sam").exists()
    assert not (course / "uma").exists() and not (course / "submitted" / "uma").exists()
    changed = changed_paths(before, listing(course))
    ok = allowed({("ola", A), ("pia", A), ("quin", A)})
    assert {p for p in changed if not ok(p)} == set()
    assert (course / collect_git.GIT_CACHE / ".gitignore").read_text().strip().endswith("*")

    collect_git.print_git_rows(rows)
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["student", "assignment", "status", "commit",
                                             "time", "or", "reason"]
    assert ["ola", A, "collected", first[:12], "2024-03-01T10:59:00+00:00"] in fields(table)
    assert ["tom", A, "error"] in [line[:3] for line in fields(table)]


def test_collect_git_symlinks_not_followed(course, notebook, tmp_path, git_env):
    """Symbolic links stored in the repository are skipped with a note, never followed."""
    secret = tree(tmp_path / "outside", {"secret.txt": b"instructor's secret",
                                         "tiny.ipynb": version(notebook, "linked")})
    vic = Repo(tmp_path, "vic")
    vic.commit(BEFORE, {f"workspace/{A}/tiny.ipynb": notebook},
               {f"workspace/{A}/secret.txt": str(secret / "secret.txt"),
                f"workspace/{A}/outside": str(secret), f"workspace/{A}/up": "../.."})
    wes = Repo(tmp_path, "wes")  # the notebook itself is a link; so is the folder of another
    wes.commit(BEFORE, {"real/tiny.ipynb": notebook},
               {f"workspace/{A}/tiny.ipynb": str(secret / "tiny.ipynb"), A: "real"})
    roster = write_roster(tmp_path / "roster.csv", [("vic", vic.bare), ("wes", wes.bare)])
    got = by_pair(collect_git.collect_git(course, roster, [A]))
    sub = course / "submitted" / "vic" / A
    assert got["vic", A].status == "collected"
    assert sorted(p.name for p in sub.iterdir()) == [collect_git.PROVENANCE, "timestamp.txt",
                                                    "tiny.ipynb"]
    assert not any(p.is_symlink() for p in sub.rglob("*"))
    notes = "\n".join(got["vic", A].notes)
    for name in ("secret.txt", "outside", "up"):
        assert f"workspace/{A}/{name} is a symbolic link: not followed" in notes
    assert got["wes", A].status == "missing"
    notes = "\n".join(got["wes", A].notes)
    assert f"workspace/{A}/tiny.ipynb is a symbolic link" in notes
    assert f"{A} is a symbolic link" in notes
    assert not (course / "submitted" / "wes" / A).exists()


def test_collect_git_second_run_fetches(course, notebook, tmp_path, git_env):
    """A second run fetches into the cached clone, picks up a new commit and replaces."""
    xia = Repo(tmp_path, "xia")
    first = xia.commit(BEFORE, {f"workspace/{A}/tiny.ipynb": version(notebook, "v1"),
                                f"workspace/{A}/old.txt": b"old"})
    roster = write_roster(tmp_path / "roster.csv", [("xia", xia.bare)])
    row, = collect_git.collect_git(course, roster, [A])
    assert (row.status, row.fetch, row.commit) == ("collected", "cloned", first)
    cache = course / collect_git.GIT_CACHE / "xia"
    (cache / "kept-by-fetch").write_text("a clone would not have this")
    second = xia.commit(AFTER, {f"workspace/{A}/tiny.ipynb": version(notebook, "v2")},
                        remove=[f"workspace/{A}/old.txt"])
    before = listing(course)
    row, = collect_git.collect_git(course, roster, [A])
    assert (row.status, row.fetch, row.commit) == ("collected", "fetched", second)
    assert (cache / "kept-by-fetch").exists()
    sub = course / "submitted" / "xia" / A
    assert (sub / "tiny.ipynb").read_bytes() == version(notebook, "v2")
    assert not (sub / "old.txt").exists()  # replaced, as the other modes replace
    assert parse_utc((sub / "timestamp.txt").read_text()) == datetime(2024, 3, 1, 11, 1)
    assert {p for p in changed_paths(before, listing(course))
            if not allowed({("xia", A)})(p)} == set()
    # with the deadline, the same cache gives the first commit back
    row, = collect_git.collect_git(course, roster, [A], "2024-03-01 11:00")  # naive: UTC
    assert (row.fetch, row.commit) == ("fetched", first)


def test_collect_git_classroom_roster_and_cli(course, notebook, tmp_path, git_env, capsys):
    """GitHub Classroom's grades export works as a roster, through the CLI."""
    yan = Repo(tmp_path, "yan")
    sha = yan.commit(BEFORE, {f"workspace/{A}/tiny.ipynb": notebook})
    header = ("assignment_name", "assignment_url", "starter_code_url", "github_username",
              "roster_identifier", "student_repository_name", "student_repository_url",
              "submission_timestamp", "points_awarded", "points_available")
    roster = write_roster(tmp_path / "grades.csv", [
        ("tiny", "https://classroom.github.com/x", "", "yan-gh", "yan@example.org", "tiny-yan",
         str(yan.bare), "", "", ""),
        ("tiny", "https://classroom.github.com/x", "", "", "zoe@example.org", "", "", "", "",
         "")], header)
    argv = [str(roster), "--assignment", A, "--deadline", DEADLINE,
            "--course-root", str(course)]
    assert collect_git.main(argv) == 0
    out = capsys.readouterr()
    assert ["yan-gh", A, "collected", sha[:12], "2024-03-01T10:59:00+00:00"] in fields(out.out)
    assert "zoe@example.org" in out.out and "has the student accepted" in out.out
    assert "collected 1, missing 0, error 1" in out.err
    assert (course / "submitted" / "yan-gh" / A / "tiny.ipynb").read_bytes() == notebook
    by_id = write_roster(tmp_path / "by-id.csv", [
        ("tiny", "", "", "yan-gh", "s1234", "", str(yan.bare), "", "", "")], header)
    rows = collect_git.collect_git(course, by_id, [A], id_column="roster_identifier")
    assert [(r.student, r.status) for r in rows] == [("s1234", "collected")]


def test_collect_git_usage_errors(course, tmp_path, git_env, capsys):
    """An unreadable roster, missing columns, a bad deadline or assignment: exit status 1."""
    root = ["--course-root", str(course)]
    assert collect_git.main([str(tmp_path / "none.csv"), *root]) == 1
    assert "cannot read roster" in capsys.readouterr().err
    bad = write_roster(tmp_path / "bad.csv", [("ann", "x")], ("name", "url"))
    with pytest.raises(ValueError, match="student_id and repository.*student_repository_url"):
        collect_git.read_roster(bad)
    assert collect_git.main([str(bad), *root]) == 1
    good = write_roster(tmp_path / "good.csv", [("ann", "x")])
    assert collect_git.main([str(good), "--deadline", "tomorrow", *root]) == 1
    assert "invalid deadline" in capsys.readouterr().err
    assert collect_git.main([str(good), "--assignment", "00_nope", *root]) == 1
    assert collect_git.main([str(good), "--id-column", "login", *root]) == 1
    assert not (course / "submitted" / "ann").exists()


def test_read_roster_duplicates_and_deadline(tmp_path):
    """One id with two repositories is an error; twice the same is one; naive times are UTC."""
    roster = write_roster(tmp_path / "r.csv", [("ann", "https://github.com/o/a"),
                                               ("ann", "https://github.com/o/a"),
                                               ("bea", "git@github.com:o/b.git"),
                                               ("bea", "https://github.com/o/c"),
                                               (".hidden", "repo"), ("", "")])
    entries = collect_git.read_roster(roster)
    assert [(e.student, e.repository, bool(e.problem)) for e in entries] == [
        ("ann", "https://github.com/o/a", False),
        ("bea", "git@github.com:o/b.git", True), ("bea", "https://github.com/o/c", True),
        (".hidden", str(tmp_path / "repo"), True)]
    assert collect_git.parse_deadline("2024-03-01 11:00") == datetime(2024, 3, 1, 11, tzinfo=UTC)
    assert collect_git.parse_deadline("2024-03-01T12:00+01:00").timestamp() == 1709290800
    assert collect_git.parse_deadline("") is None


def test_git_timeout_stops_git_and_its_children(git_env):
    """A git command over its time is stopped with its process group: a clear GitError."""
    with pytest.raises(collect_git.GitError, match="git slow took longer than 0.5 s"):
        collect_git._git(["-c", "alias.slow=!sleep 30", "slow"], timeout=0.5)
    assert collect_git._redact("fatal: https://x-access-token:abc@github.com/o/r") == \
        "fatal: https://***@github.com/o/r"
