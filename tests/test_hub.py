"""A class on a real JupyterHub, end to end, in Debian's chromium (README, "A class on
JupyterHub").

As root, the test makes two student accounts and an instructor account (real Unix users with
passwords, unique names), runs ``./course hub-setup`` (the hub's environment, the course's
groups and nbgrader's exchange in a temporary folder) and starts JupyterHub from it with
configurable-http-proxy (npm) on loopback. The instructor's course is a folder only root may
enter, holding the kit's files and an nbgrader_config.py that points at the exchange.

1. The instructor releases A1 (``release-exchange``).
2. Each student logs in, fetches A1 from the Assignment List, types the reference solution of
   one function (from source/, read by the test process, never by the student's account) into
   the editor, presses Validate (the kit's report card) and submits.
3. Permissions, as each account: a student can read neither the other's submission in the
   exchange (nor list ``inbound/``) nor the other's home, nor the instructor's course
   (source/, gradebook); the instructor's account can read the submissions.
4. The instructor collects (``collect exchange``), grades (``grade``, sandboxed) and returns
   the feedback (``return-feedback``).
5. Each student fetches the feedback and sees their own score and the judge's messages, and
   nothing of the other student's work or of the hidden tests.
6. A login with a wrong password is refused.

Screenshots in test-artifacts/hub/; the steps' times in test-artifacts/hub/timings.txt.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from contextlib import contextmanager
from html import unescape
from pathlib import Path

import nbformat
import pytest
from browser_helpers import CHROMIUM, chromium_page, course_mirror, require_fresh_setup
from hub_helpers import ARTIFACTS, HUB_ENV, Hub, as_user, missing, run
from solutions import SOLUTION

pytestmark = pytest.mark.browser

A1 = "01_numpy_basics"
NOTEBOOK = f"{A1}/numpy_basics.ipynb"
STUB = "raise NotImplementedError"
# Each student answers one function with the reference solution; the other functions stay
# stubs. (function, the first line of its solution cell)
ANSWERS = {"a": ("basic_sigmoid", "def basic_sigmoid(x):"),
           "b": ("image2vector", "def image2vector(image):")}
POINTS = {"basic_sigmoid": 1, "image2vector": 2}  # of A1's 17


@pytest.fixture(scope="module", autouse=True)
def _prerequisites():
    if os.geteuid() != 0:
        missing("the hub test makes Unix accounts and runs JupyterHub as root: run it as "
                "root (CI does)")
    for tool in ("useradd", "userdel", "chpasswd", "runuser", "groupdel", "npm"):
        if shutil.which(tool) is None:
            missing(f"{tool} is missing (./course test installs nodejs/npm when run as root)")
    if not CHROMIUM.exists():
        missing(f"Debian's chromium is missing ({CHROMIUM}): apt-get install chromium")
    require_fresh_setup()


class Timer:
    def __init__(self) -> None:
        self.start = self.last = time.monotonic()
        self.lines: list[str] = []

    def step(self, what: str) -> None:
        now = time.monotonic()
        self.lines.append(f"{now - self.last:7.1f} s  {what}")
        self.last = now

    def write(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.lines.append(f"{time.monotonic() - self.start:7.1f} s  in all")
        (ARTIFACTS / "timings.txt").write_text("\n".join(self.lines) + "\n")


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def solution_lines(function: str) -> list[str]:
    """The reference solution of ``function`` in source/ (lines, common indent removed)."""
    nb = nbformat.read(REPO_SOURCE / NOTEBOOK, as_version=4)
    cell = next(c for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == f"{function}_solution")
    body = SOLUTION.findall(cell.source)[0].splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in body if line.strip())
    return [line[indent:] for line in body]


REPO_SOURCE = Path(__file__).resolve().parent.parent / "source"


PUBLIC = "\n".join(c.source for c in nbformat.read(
    REPO_SOURCE.parent / "release" / NOTEBOOK, as_version=4).cells)


def hidden_lines() -> set[str]:
    """The distinctive lines of A1's hidden tests that the released notebook does not show."""
    found, inside = set(), False
    for cell in nbformat.read(REPO_SOURCE / NOTEBOOK, as_version=4).cells:
        for line in cell.source.splitlines():
            if "### BEGIN HIDDEN TESTS" in line or "### END HIDDEN TESTS" in line:
                inside = "BEGIN" in line
            elif inside and len(line.strip()) >= 12 and line.strip() not in PUBLIC:
                found.add(line.strip())
    return found


def instructor_course(hub: Hub) -> Path:
    """The instructor's course: the kit's files, its own gradebook, the hub's exchange; a
    folder that only root may enter."""
    root = course_mirror(hub.base / "course")
    (root / "nbgrader_config.py").unlink()
    config = (REPO_SOURCE.parent / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(
        config + f"\n# the course JupyterHub's exchange\nc.Exchange.root = {str(hub.exchange)!r}\n")
    root.chmod(0o700)
    return root


def kit(course: Path, *args: str, timeout: float = 300) -> str:
    """``python -m dlgrader ARGS --course COURSE`` (the instructor's ./course command)."""
    python = REPO_SOURCE.parent / ".venv" / "bin" / "python"
    done = run([str(python), "-m", "dlgrader", *args, "--course", str(course)],
               timeout=timeout, cwd=course)
    return done.stdout


# ------------------------------------------------------------------------------ the browser
def login(page, hub: Hub, user: str, password: str) -> None:
    page.goto(f"{hub.url}/hub/login")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(password)
    page.locator("#login_submit").click()


def open_lab(page, hub: Hub, user: str, password: str) -> None:
    """Log in; wait for the user's JupyterLab (the hub starts the server first)."""
    login(page, hub, user, password)
    page.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=120_000)
    page.locator(".lm-MenuBar-item", has_text=re.compile("^Nbgrader$")).wait_for(
        timeout=120_000)


def menu(page, name: str, item: str) -> None:
    page.locator(".lm-MenuBar-item", has_text=re.compile(f"^{name}$")).click()
    page.locator(".lm-Menu-item:visible", has=page.locator(
        ".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$"))).click()


def assignment_list(page) -> None:
    """Open (or bring back) nbgrader's Assignment List."""
    menu(page, "Nbgrader", "Assignment List")
    page.locator("#released_assignments_list").wait_for()


def type_answer(page, first_line: str, lines: list[str]) -> None:
    """Click the stub line of a solution cell, select it, type ``lines`` over it."""
    cell = page.locator(".jp-CodeCell").filter(
        has=page.locator(".cm-line", has_text=first_line)).first
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-line", has_text=STUB).click()
    page.keyboard.press("Home")
    page.keyboard.press("Shift+End")
    for i, line in enumerate(lines):
        if i:
            page.keyboard.press("Enter")
        page.keyboard.type(line)
    typed = cell.locator(".cm-content").inner_text()
    assert STUB not in typed and all(line in typed for line in lines), typed


@contextmanager
def failure_shot(page, name: str, hub: Hub):
    """On any failure: a screenshot and the hub's log in the message."""
    try:
        yield
    except Exception as error:  # noqa: BLE001
        shoot(page, f"{name}-failed")
        pytest.fail(f"{type(error).__name__}: {error}\n--- JupyterHub log ---\n"
                    f"{hub.log_tail()}", pytrace=True)


def student_submits(hub: Hub, user: str, key: str, profile: Path) -> str:
    """Log in, fetch A1, answer one function, Validate, Submit; the Validate dialog's text."""
    function, first_line = ANSWERS[key]
    with chromium_page(profile, timeout_ms=60_000) as page, failure_shot(page, f"{key}-submit",
                                                                         hub):
        open_lab(page, hub, user, hub.users[user])
        shoot(page, f"{key}-01-logged-in")
        assignment_list(page)
        released = page.locator("#released_assignments_list .list_item", has_text=A1)
        released.get_by_role("button", name="Fetch").wait_for()
        shoot(page, f"{key}-02-released")
        released.get_by_role("button", name="Fetch").click()
        fetched = page.locator("#fetched_assignments_list .list_item", has_text=A1).first
        fetched.wait_for()
        shoot(page, f"{key}-03-fetched")

        page.goto(f"{hub.url}/user/{user}/lab/tree/{NOTEBOOK}")
        validate = page.get_by_label(Path(NOTEBOOK).name, exact=True).locator(
            ".jp-NotebookPanel-toolbar .validate-button")
        validate.wait_for(timeout=120_000)
        page.get_by_text(re.compile(r"\| Idle$")).wait_for(timeout=120_000)
        type_answer(page, first_line, solution_lines(function))
        shoot(page, f"{key}-04-answered-{function}")

        validate.click()
        dialog = page.locator(".jp-Dialog", has_text="Validation Results")
        dialog.locator(".nndl-report").wait_for(timeout=180_000)
        shoot(page, f"{key}-05-validated")
        report = dialog.locator(".jp-Dialog-body").inner_text()
        dialog.get_by_role("button", name="Ok").click()
        dialog.wait_for(state="detached")

        assignment_list(page)
        page.locator("#fetched_assignments_list .list_item", has_text=A1).first.get_by_role(
            "button", name="Submit").click()
        page.locator("#submitted_assignments_list .list_item", has_text=A1).first.wait_for()
        shoot(page, f"{key}-06-submitted")
    return report


def student_reads_feedback(hub: Hub, user: str, key: str, profile: Path) -> str:
    """Log in again, Fetch Feedback, open the page; its text as the student sees it."""
    with chromium_page(profile, timeout_ms=60_000) as page, failure_shot(page, f"{key}-feedback",
                                                                         hub):
        open_lab(page, hub, user, hub.users[user])
        assignment_list(page)
        submitted = page.locator("#submitted_assignments_list .list_item", has_text=A1).first
        submitted.get_by_text("feedback available to fetch").wait_for()
        submitted.get_by_role("button", name="Fetch Feedback").click()
        submitted = page.locator("#submitted_assignments_list .list_item", has_text=A1).first
        submitted.get_by_text("(view feedback)").wait_for()
        shoot(page, f"{key}-07-feedback-fetched")
        pages = sorted(Path(f"/home/{user}/{A1}/feedback").glob("*/numpy_basics.html"))
        assert len(pages) == 1, pages
        rel = pages[0].relative_to(f"/home/{user}")
        page.goto(f"{hub.url}/user/{user}/files/{rel}")
        page.get_by_text("basic_sigmoid").first.wait_for()
        shoot(page, f"{key}-08-feedback-page")
        return page.locator("body").inner_text()


def wrong_password_is_refused(hub: Hub, user: str, profile: Path) -> None:
    with chromium_page(profile) as page, failure_shot(page, "wrong-password", hub):
        login(page, hub, user, hub.users[user] + "x")
        page.locator(".login_error").wait_for()
        shoot(page, "09-wrong-password-refused")
        assert "Invalid username or password" in page.locator(".login_error").inner_text()
        assert "/hub/login" in page.url
        assert page.locator("#jp-main-dock-panel").count() == 0


# ------------------------------------------------------------------------------- the checks
def check_permissions(hub: Hub, course: Path, a: str, b: str, teacher: str) -> None:
    """As each account: what it must and must not read."""
    inbound = hub.exchange / "nndl" / "inbound"
    mine = {u: sorted(inbound.glob(f"{u}+{A1}+*")) for u in (a, b)}
    assert all(len(found) == 1 for found in mine.values()), mine
    for reader, other in ((a, b), (b, a)):
        theirs = mine[other][0] / "numpy_basics.ipynb"
        refused = as_user(reader, "cat", str(theirs))
        assert refused.returncode != 0 and "Permission denied" in refused.stderr, \
            (reader, theirs, refused)
        assert as_user(reader, "cat", str(mine[other][0] / "submission_secret.txt")
                       ).returncode != 0
        assert as_user(reader, "ls", str(inbound)).returncode != 0  # unlistable
        assert as_user(reader, "cat", f"/home/{other}/{NOTEBOOK}").returncode != 0
        for secret in (course / "source" / NOTEBOOK, course / "gradebook.db"):
            assert secret.exists(), secret
            assert as_user(reader, "test", "-r", str(secret)).returncode != 0, (reader, secret)
        assert as_user(reader, "ls", str(course)).returncode != 0, (reader, course)
        # and their own submission stays theirs to read
        assert as_user(reader, "cat", str(mine[reader][0] / "numpy_basics.ipynb")).returncode == 0
    # the instructors' group reads every submission (group set by the set-group-ID inbound)
    for user in (a, b):
        assert as_user(teacher, "cat", str(mine[user][0] / "numpy_basics.ipynb")
                       ).returncode == 0, user


def test_a_class_on_jupyterhub():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # this run's screenshots only
    timer = Timer()
    hub = Hub()
    problems: list[str] = []
    try:
        _the_class(hub, timer)
    finally:
        problems = hub.close()
        timer.step(f"stopped the hub ({getattr(hub, 'stop_seconds', 0):.1f} s), removed the "
                   "accounts, groups and folders")
        timer.write()
    assert not problems, problems
    for name in hub.users:
        assert run(["id", name], check=False).returncode != 0, f"{name} was not removed"
        assert not Path(f"/home/{name}").exists()


def _the_class(hub: Hub, timer: Timer) -> None:
    out = hub.setup()
    assert HUB_ENV.is_dir(), out
    timer.step("./course hub-setup (environment cached unless its pins changed)")
    a, b, teacher = f"nndl{hub.tag}a", f"nndl{hub.tag}b", f"nndl{hub.tag}t"
    hub.add_user(a, hub.students_group)
    hub.add_user(b, hub.students_group)
    hub.add_user(teacher, hub.instructors_group)
    course = instructor_course(hub)
    timer.step("accounts and the instructor's course")
    hub.start()
    timer.step("JupyterHub answers")

    released = kit(course, "release-exchange", A1)
    assert A1 in released and (hub.exchange / "nndl" / "outbound" / A1).is_dir(), released
    timer.step("release-exchange")

    reports = {}
    for key, user in (("a", a), ("b", b)):
        reports[key] = student_submits(hub, user, key, hub.base / f"profile-{key}")
        timer.step(f"student {key}: login, fetch, answer, validate, submit")
    for key, (function, _) in ANSWERS.items():
        assert reports[key].lstrip().startswith(
            "numpy_basics.ipynb: 1 of 8 functions pass their public tests"), reports[key]
        assert re.search(rf"✓\s*{function}\b", reports[key]), reports[key]
        assert "Traceback" not in reports[key]

    collected = kit(course, "collect", "exchange", A1)
    assert re.search(r"2 new", collected) and "NOT collected" not in collected, collected
    for user in (a, b):
        assert (course / "submitted" / user / NOTEBOOK).is_file()
    graded = kit(course, "grade", A1, timeout=600)
    assert "errors 0" in graded, graded
    returned = kit(course, "return-feedback", A1)
    assert f"feedback returned to 2 student(s): {a}, {b}" in returned, returned
    timer.step("collect exchange, grade, return-feedback")

    check_permissions(hub, course, a, b, teacher)
    timer.step("permissions, as each account")

    hidden = hidden_lines()
    assert len(hidden) > 20, hidden
    for key, user in (("a", a), ("b", b)):
        other_user = b if key == "a" else a
        text = student_reads_feedback(hub, user, key, hub.base / f"profile-{key}-again")
        timer.step(f"student {key}: login, fetch feedback, read it")
        function, _ = ANSWERS[key]
        other_function = ANSWERS["b" if key == "a" else "a"][0]
        page = next(Path(f"/home/{user}/{A1}/feedback").glob("*/numpy_basics.html"))
        shutil.copyfile(page, ARTIFACTS / f"{key}-feedback.html")
        html = page.read_text()
        shown = unescape(re.sub(r"<[^>]+>", "", html))  # code as text, highlighting removed
        # their own score: the function they answered has all its points, the other's none
        assert f"numpy_basics: {POINTS[function]} / 17 points" in text, text[:3000]
        assert re.search(rf"(?<!\w){function}\s+(\d+) / \1\b", text), text[:3000]
        assert re.search(rf"(?<!\w){other_function}\s+0 / \d+", text), text[:3000]
        # the judge's messages, and no hidden test
        assert "NotImplementedError: Replace this line with your solution." in text
        assert "(hidden tests ran here; their code is not shown)" in text
        assert other_user not in html
        for line in solution_lines(function):  # their own answer is theirs to see
            assert line in shown, line
        for line in solution_lines(other_function):  # the other's is not there (but for
            assert line not in shown or line in PUBLIC, line  # a hint that shows it anyway)
        leaked = [line for line in hidden if line in shown]
        assert not leaked, leaked[:5]
        assert "HIDDEN TESTS" not in shown

    wrong_password_is_refused(hub, teacher, hub.base / "profile-wrong")
    timer.step("a wrong password is refused")
