"""The course JupyterHub's exchange without a browser: the exchange hub-setup makes, the
students' private submit, collect's ownership rule, return-feedback's choices, and ./course
lab's workspace next to the Assignment List. Real nbgrader (release, submit, list, fetch,
collect, release_feedback) on the tiny course; accounts that exist on every Debian system
(``nobody``, ``daemon``, group ``users``) stand for students and instructors.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from hub_helpers import missing
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeError
from nbgrader.exchange.default.fetch_assignment import ExchangeFetchAssignment
from nbgrader.exchange.default.list import ExchangeList
from tiny_course import TINY, A
from traitlets.config import Config

from dlgrader import exchange, grading, hub
from dlutils.hub_submit import PrivateSubmit
from dlutils.workspace import sync_workspace


@pytest.fixture(autouse=True)
def _as_root():
    """These tests give files to other accounts (chown), as students' submissions would be:
    they need root, which CI has (there, not being root fails them instead of skipping)."""
    if os.geteuid() != 0:
        missing("needs root: it gives files to other accounts (chown)")

GROUP = "users"  # stands for the instructors' group


@pytest.fixture
def course(tmp_path):
    """A tiny course whose exchange is the one hub-setup makes (owner root, group users)."""
    root = grading.make_scratch_course(tmp_path / "course", [A], TINY)
    exchange_root = tmp_path / "exchange"
    with (root / "nbgrader_config.py").open("a") as config:
        config.write(f"\nc.Exchange.root = {str(exchange_root)!r}\n")
    hub.make_exchange(exchange_root, "nndl", GROUP)
    assert grading.release_to_exchange(root, [A]) == [A]
    return root


def _config(course: Path, **settings) -> Config:
    config = Config()
    config.Exchange.root = str(course.parent / "exchange")
    config.CourseDirectory.course_id = "nndl"
    config.CourseDirectory.root = str(course)
    for key, value in settings.items():
        section, name = key.split("__")
        setattr(getattr(config, section), name, value)
    return config


def _submit(course: Path, workdir: Path, student: str, copy: bool = True) -> Path:
    """``student``'s submission of ``workdir``/A (default: a fresh copy of the released tiny
    assignment), made by PrivateSubmit; its folder in the exchange."""
    workdir.mkdir(parents=True, exist_ok=True)
    if copy:
        shutil.copytree(course / "release" / A, workdir / A, dirs_exist_ok=True)
    config = _config(course, CourseDirectory__assignment_id=A, CourseDirectory__student_id=student,
                     Exchange__assignment_dir=str(workdir), Exchange__cache=str(workdir / ".c"))
    before = set((course.parent / "exchange" / "nndl" / "inbound").iterdir())
    PrivateSubmit(coursedir=CourseDirectory(config=config),
                  authenticator=Authenticator(config=config), config=config).start()
    (made,) = set((course.parent / "exchange" / "nndl" / "inbound").iterdir()) - before
    return made


def _give(path: Path, user: str) -> None:
    info = pwd.getpwnam(user)
    for here, folders, files in os.walk(path):
        for name in folders + files:
            os.lchown(os.path.join(here, name), info.pw_uid, info.pw_gid)
    os.chown(path, info.pw_uid, info.pw_gid)


def test_exchange_has_nbgraders_modes_and_the_course_folder_of_the_instructors(course):
    root = course.parent / "exchange"
    assert stat.S_IMODE(root.stat().st_mode) == 0o1777
    nndl = root / "nndl"
    assert stat.S_IMODE(nndl.stat().st_mode) == 0o2755
    assert nndl.stat().st_gid == hub.grp.getgrnam(GROUP).gr_gid
    inbound = nndl / "inbound"  # made by nbgrader's release, group inherited
    assert stat.S_IMODE(inbound.stat().st_mode) & 0o2733 == 0o2733
    assert not inbound.stat().st_mode & stat.S_IROTH
    assert inbound.stat().st_gid == nndl.stat().st_gid
    # a folder someone else made first is refused, not adopted
    squatted = root / "other"
    squatted.mkdir()
    os.chown(squatted, pwd.getpwnam("nobody").pw_uid, -1)
    with pytest.raises(hub.SetupError, match="belongs to uid"):
        hub.make_exchange(root, "other", GROUP)


def test_private_submit_closes_the_submission_to_other_students(course, tmp_path):
    made = _submit(course, tmp_path / "ann", "ann")
    group = hub.grp.getgrnam(GROUP).gr_gid
    # the folder: the student and the instructors' group, nobody else (not even to look in)
    assert stat.S_IMODE(made.stat().st_mode) == 0o770 and made.stat().st_gid == group
    files = {p.name for p in made.rglob("*") if p.is_file()}
    assert files >= {"tiny.ipynb", "timestamp.txt", "submission_secret.txt"}
    # and as another account: nothing inside can be reached (the real accounts of
    # tests/test_hub.py check the same with runuser)
    done = subprocess.run(["runuser", "-u", "nobody", "--", "cat",
                           str(made / "submission_secret.txt")], capture_output=True, text=True,
                          check=False)
    assert done.returncode != 0 and "Permission denied" in done.stderr


def test_private_submit_leaves_nbgraders_modes_without_a_group_to_give(tmp_path):
    """No set-group-ID inbound: closing the folder would lock the instructor out."""
    from dlutils.hub_submit import restrict

    submission = tmp_path / "inbound" / "ann+a+t"
    submission.mkdir(parents=True)
    (submission / "x.ipynb").write_text("{}")
    (submission / "x.ipynb").chmod(0o644)
    assert restrict(str(submission)) is False
    assert stat.S_IMODE((submission / "x.ipynb").stat().st_mode) == 0o644


def test_collect_takes_only_what_belongs_to_the_student_it_names(course, tmp_path):
    first = _submit(course, tmp_path / "w1", "nobody")
    _give(first, "nobody")
    # a later "submission" of nobody's, made by daemon: not nobody's work
    forged = _submit(course, tmp_path / "w2", "nobody")
    _give(forged, "daemon")
    # a later one of nobody's own whose notebook is a link to the instructor's solution
    linked = _submit(course, tmp_path / "w3", "nobody")
    (linked / "tiny.ipynb").unlink()
    (linked / "tiny.ipynb").symlink_to(TINY / A / "tiny.ipynb")
    _give(linked, "nobody")
    (report,) = exchange.collect(course, [A])
    assert report.collected == ["nobody"]
    refused = dict(report.refused)
    assert refused[forged.name] == "it belongs to daemon, not to nobody"
    assert "tiny.ipynb is not a plain file or folder" in refused[linked.name]
    got = course / "submitted" / "nobody" / A
    assert (got / "timestamp.txt").read_text() == (first / "timestamp.txt").read_text()
    assert not (got / "tiny.ipynb").is_symlink()
    assert (got / "tiny.ipynb").read_bytes() == (first / "tiny.ipynb").read_bytes()
    # again: nothing new
    (again,) = exchange.collect(course, [A])
    assert again.unchanged == ["nobody"] and not again.collected


def test_return_feedback_sends_the_pages_of_the_latest_exchange_submission(course, tmp_path):
    made = _submit(course, tmp_path / "w", "nobody")
    _give(made, "nobody")
    exchange.collect(course, [A])
    submitted = course / "submitted" / "nobody" / A
    pages = {"nobody": submitted, "zipped": None, "stale": None}
    for student, source in pages.items():
        folder = course / "feedback" / student / A
        folder.mkdir(parents=True)
        (folder / "tiny.html").write_text(f"<p>feedback of {student}</p>")
        if source is not None:
            for name in ("timestamp.txt", "submission_secret.txt"):
                shutil.copyfile(source / name, folder / name)
    stale = course / "feedback" / "stale" / A
    (stale / "timestamp.txt").write_text("2020-01-01 00:00:00.000000 UTC")
    (stale / "submission_secret.txt").write_text("x")
    (course / "submitted" / "stale" / A).mkdir(parents=True)
    (course / "submitted" / "stale" / A / "timestamp.txt").write_text(
        "2021-01-01 00:00:00.000000 UTC")
    (report,) = exchange.return_feedback(course, [A])
    assert report.returned == ["nobody"]
    skipped = dict(report.skipped)
    assert "older submission" in skipped["stale"]
    assert "not submitted through the exchange" in skipped["zipped"]
    released = list((course.parent / "exchange" / "nndl" / "feedback").glob("*.html"))
    assert [p.read_text() for p in released] == ["<p>feedback of nobody</p>"]
    # the student's nbgrader finds it with the secret of their own cached submission
    from nbgrader.exchange.default.fetch_feedback import ExchangeFetchFeedback

    config = _config(course, CourseDirectory__assignment_id=A,
                     CourseDirectory__student_id="nobody",
                     Exchange__assignment_dir=str(tmp_path / "w"),
                     Exchange__cache=str(tmp_path / "w" / ".c"))
    ExchangeFetchFeedback(coursedir=CourseDirectory(config=config),
                          authenticator=Authenticator(config=config), config=config).start()
    fetched = list((tmp_path / "w" / A / "feedback").glob("*/tiny.html"))
    assert [p.read_text() for p in fetched] == ["<p>feedback of nobody</p>"]


def test_workspace_copy_is_what_the_assignment_list_calls_fetched(course, tmp_path):
    """./course lab's copy and the Assignment List's Fetch share nbgrader's layout."""
    workspace = tmp_path / "workspace"
    sync_workspace(workspace, course / "release")
    config = _config(course, Exchange__assignment_dir=str(workspace))
    listed = ExchangeList(coursedir=CourseDirectory(config=config),
                          authenticator=Authenticator(config=config), config=config).start()
    assert [(x["assignment_id"], x["status"]) for x in listed] == [(A, "fetched")]
    (workspace / A / "tiny.ipynb").write_text("my work")
    config.CourseDirectory.assignment_id = A
    with pytest.raises(ExchangeError):  # "You already have a copy": the work is kept
        ExchangeFetchAssignment(coursedir=CourseDirectory(config=config),
                                authenticator=Authenticator(config=config),
                                config=config).start()
    assert (workspace / A / "tiny.ipynb").read_text() == "my work"
    assert sync_workspace(workspace, course / "release") == []
    made = _submit(course, workspace, "ann", copy=False)  # Submit works from the workspace copy
    assert (made / "tiny.ipynb").read_text() == "my work"


def test_hub_environment_python_is_one_everyone_can_run():
    assert hub._everyone_can_run(hub.base_python())
    pyenv = Path("/root/.pyenv")
    if pyenv.is_dir() and not os.stat("/root").st_mode & stat.S_IXOTH:
        found = next(pyenv.glob("versions/*/bin/python3"), None)
        if found is not None:
            assert not hub._everyone_can_run(found)
    assert hub.pinned(("jupyterhub",))[0].startswith("jupyterhub==")
