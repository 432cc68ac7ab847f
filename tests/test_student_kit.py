"""What students receive: ``./course student-kit`` holds no solution, no hidden test, no grader
and no secret, and works from a fresh copy the way a student uses it (set-up, ./course check,
./course lab, the GitHub workflow's command)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import time
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest
from solutions import answered

from dlgrader import studentkit
from dlgrader.grading import REPO

A1 = "01_numpy_basics"
A1_NB = "numpy_basics.ipynb"


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("built") / "nndl-student-kit"
    made = subprocess.run([str(REPO / "course"), "student-kit", str(out), "--zip"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert made.returncode == 0, made.stdout + made.stderr
    return out


def _extract(archive: Path, dest: Path) -> Path:
    """Unzip as unzip(1) does: files with their permission bits."""
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            target = Path(zipped.extract(info, dest))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)
        top = {Path(n).parts[0] for n in zipped.namelist()}
    assert len(top) == 1, top
    return dest / top.pop()


def test_kit_holds_what_students_need_and_nothing_of_the_grader(kit):
    names = {str(p.relative_to(kit)) for p in kit.rglob("*") if p.is_file()}
    for needed in ("course", "README.md", "requirements.txt", "pyproject.toml", ".gitignore",
                   ".github/workflows/check.yml", "datasets/ATTRIBUTION.md",
                   "datasets/train_catvnoncat.h5", "dlutils/checks.py",
                   "dlutils/notebook_check.py", f"assignments/{A1}/{A1_NB}",
                   "notebooks/week1_neural_networks_and_scale.ipynb"):
        assert needed in names, needed
    assert os.access(kit / "course", os.X_OK)
    for forbidden in ("source", "dlgrader", "studentkit", "tests", "submitted", "autograded",
                      "feedback", "exchange", "benchmarks", "tools"):
        assert not (kit / forbidden).exists(), forbidden
    assert not [n for n in names if n.endswith(".db") or "gradebook" in n]
    # the instructor's nbgrader configuration stays here; the student's sets nothing
    configs = [n for n in names if n.endswith("nbgrader_config.py")]
    assert configs == ["dlutils/student_config/nbgrader_config.py"], configs
    assert all(line.startswith("#") for line in (kit / configs[0]).read_text().splitlines())
    every_assignment = sorted(p.name for p in (REPO / "source").iterdir() if p.is_dir())
    assert sorted(p.name for p in (kit / "assignments").iterdir()) == every_assignment
    # the student's commands only
    assert "grade" not in (kit / "course").read_text().split("case")[1].split("esac")[0] \
        .replace("upgrade", "")
    pinned = (kit / "requirements.txt").read_text()
    assert "nbgrader==" in pinned and "numpy==" in pinned and "psycopg" not in pinned


def _scan(folder: Path) -> list[tuple[str, str]]:
    return studentkit.leaks(folder, studentkit.secret_lines())


def test_no_solution_or_hidden_test_line_anywhere(kit, tmp_path):
    """Every file of the folder and of the zip, against every distinctive line of source/'s
    solution regions and hidden tests (lines also standing in release/ are public)."""
    secret = studentkit.secret_lines()
    assert len(secret) > 500, "the scan must know the course's solutions and hidden tests"
    assert _scan(kit) == []
    unzipped = _extract(kit.with_suffix(".zip"), tmp_path / "unzipped")
    assert _scan(unzipped) == []
    for path in unzipped.rglob("*"):
        if path.is_file():
            assert not re.search(rb"(BEGIN|END) (SOLUTION|HIDDEN TESTS)", path.read_bytes()), path


def test_the_scan_finds_a_planted_solution_line(kit, tmp_path):
    """The scan can fail: one hidden-test line pasted into a helper, one solution line into a
    notebook cell, are both found."""
    copy = tmp_path / "copy"
    shutil.copytree(kit, copy)
    secret = sorted(studentkit.secret_lines())
    hidden = next(s for s in secret if "default_rng(" in s)
    with open(copy / "dlutils" / "plots.py", "a") as fh:  # the copy is never imported
        fh.write(f"\n{hidden}\n")
    nb = nbformat.read(copy / "assignments" / A1 / A1_NB, as_version=4)
    source = nbformat.read(REPO / "source" / A1 / A1_NB, as_version=4)
    solution = next(line.strip() for c in source.cells
                    if c.metadata.get("nbgrader", {}).get("solution")
                    for line in c.source.splitlines() if line.strip() in studentkit.secret_lines())
    nb.cells[-1].source += "\n" + solution
    nbformat.write(nb, copy / "assignments" / A1 / A1_NB)
    found = {(f, line) for f, line in _scan(copy)}
    assert ("dlutils/plots.py", hidden) in found
    assert (f"assignments/{A1}/{A1_NB}", solution) in found


def test_workflow_needs_no_secret(kit):
    """The student repository's workflow: no secret, read-only token, runs ./course check."""
    workflows = list((kit / ".github").rglob("*.y*ml"))
    assert workflows
    for path in workflows:
        text = path.read_text()
        assert "secrets" not in text and "pull_request_target" not in text, path
        assert re.search(r"permissions:\s*\n\s*contents: read", text), path
        assert "./course check" in text


def test_refuses_a_folder_that_is_not_a_kit_and_updates_one_that_is(kit, tmp_path):
    occupied = tmp_path / "notes"
    occupied.mkdir()
    (occupied / "mine.txt").write_text("keep me")
    refused = subprocess.run([str(REPO / "course"), "student-kit", str(occupied)],
                             capture_output=True, text=True, timeout=600, check=False)
    assert refused.returncode == 1 and "not a student kit" in refused.stderr
    assert (occupied / "mine.txt").read_text() == "keep me"
    # a kit under git (the template repository): rebuilt in place, .git and extra files kept
    again = tmp_path / "again"
    shutil.copytree(kit, again)
    (again / ".git").mkdir()
    (again / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (again / "assignments" / "stale.txt").write_text("from an older kit")
    marker = again / studentkit.MARKER
    marker.write_text(marker.read_text() + "assignments/stale.txt\n")
    (again / "NOTES.md").write_text("the instructor's own file")
    studentkit.build(again)
    assert (again / ".git" / "HEAD").is_file() and (again / "NOTES.md").is_file()
    assert not (again / "assignments" / "stale.txt").exists()


def _student_env() -> dict[str, str]:
    """The caller's environment without this kit's virtual environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    venv_bin = str(REPO / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    return env


def _course(kit: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(kit / "course"), *args], cwd=kit, env=_student_env(),
                          capture_output=True, text=True, timeout=timeout, check=False)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_starts(kit: Path, log: Path) -> str:
    """./course lab serves the workspace and runs a kernel; return what it printed."""
    port, token = _free_port(), "student-kit-test"
    base = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        lab = subprocess.Popen([str(kit / "course"), "lab", "--no-browser", f"--port={port}",
                                f"--IdentityProvider.token={token}", "--ServerApp.ip=127.0.0.1"],
                               cwd=kit, env=_student_env(), stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/contents/{A1}?token={token}",
                                            timeout=5) as reply:
                    assert reply.status == 200
                    assert A1_NB in reply.read().decode()
                    break
            except OSError:
                assert lab.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "JupyterLab did not start in 120 s"
                time.sleep(1)
        # a kernel, as opening a notebook starts one: it says nothing in the terminal
        started = urllib.request.Request(f"{base}/api/kernels?token={token}", method="POST",
                                         data=b'{"name": "python3"}')
        with urllib.request.urlopen(started, timeout=30) as reply:
            assert reply.status == 201
        deadline = time.monotonic() + 60
        while "Kernel started" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(1)
        time.sleep(5)  # what the kernel prints on start-up
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()
    return log.read_text()


@pytest.mark.slow
def test_a_student_uses_a_fresh_copy(kit, tmp_path):
    """From the zip, as a student: set-up; ./course check fails on the blank assignment and
    passes once the reference solutions are in; JupyterLab starts on workspace/ and never
    overwrites the student's work; the workflow's command writes the per-function table."""
    fresh = _extract(kit.with_suffix(".zip"), tmp_path / "student")
    assert stat.S_IMODE((fresh / "course").stat().st_mode) & 0o100
    start = time.monotonic()
    setup = _course(fresh, "setup", timeout=1200)
    assert setup.returncode == 0, setup.stderr[-3000:]
    # no warning blocks on a fresh install (setuptools' editable-install notice)
    assert "BuildBackendWarning" not in setup.stderr and "*****" not in setup.stderr
    print(f"student set-up: {time.monotonic() - start:.1f} s")
    assert not (fresh / ".venv" / "bin" / "dlgrader").exists()
    assert _course(fresh, "help").stdout.count("./course") >= 3

    blank = _course(fresh, "check", f"assignments/{A1}/{A1_NB}")
    assert blank.returncode == 1, blank.stdout + blank.stderr
    assert "not attempted yet" in blank.stdout and "Traceback" not in blank.stdout

    printed = _lab_starts(fresh, tmp_path / "lab1.log")
    # no warnings in what the student reads (unencrypted kernels, a missing nbgrader config)
    assert "WARNING" not in printed and "encryption" not in printed, printed
    mine = fresh / "workspace" / A1 / A1_NB
    assert mine.is_file() and (fresh / "workspace" / "companions").is_dir()
    nbformat.write(answered(f"{A1}/{A1_NB}"), mine)
    before = mine.read_bytes()
    _lab_starts(fresh, tmp_path / "lab2.log")
    assert mine.read_bytes() == before, "./course lab overwrote the student's work"

    solved = _course(fresh, "check", f"workspace/{A1}/{A1_NB}")
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert re.search(r"ok\s+sigmoid\s", solved.stdout) and "8 of 8 functions" in solved.stdout

    # the workflow's own command, as GitHub runs it: every assignment in workspace/
    workflow = (fresh / ".github" / "workflows" / "check.yml").read_text()
    command = re.search(r"run: (\./course check.*)", workflow).group(1)
    summary = tmp_path / "summary.md"
    env = {**_student_env(), "GITHUB_STEP_SUMMARY": str(summary)}
    ran = subprocess.run(["bash", "-c", command], cwd=fresh, env=env, capture_output=True,
                         text=True, timeout=900, check=False)
    assert ran.returncode == 1, "the other assignments are still blank"
    table = summary.read_text()
    assert f"### {A1_NB}" in table and "| ✅ | `softmax` | passed |" in table
    assert "| ⬜ | `initialize_with_zeros` | not attempted yet |" in table


def test_builder_refuses_a_kit_that_would_leak(tmp_path, monkeypatch):
    """When a secret line stands in a file of the kit, nothing is written and the error names
    the file and the line."""
    line = next(ln.strip() for ln in (REPO / "dlutils" / "checks.py").read_text().splitlines()
                if len(ln.strip()) > 30)
    real = studentkit.secret_lines
    monkeypatch.setattr(studentkit, "secret_lines", lambda: real() | {line})
    out = tmp_path / "kit"
    with pytest.raises(studentkit.Leak, match="dlutils/checks.py") as refused:
        studentkit.build(out, make_zip=True)
    assert line[:60] in str(refused.value)
    assert not out.exists() and not out.with_suffix(".zip").exists()
