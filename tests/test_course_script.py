"""The ./course entry point: idempotent set-up, help, and clear errors."""

import subprocess
import time

from dlgrader.grading import REPO


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "course"), *args], capture_output=True, text=True,
                          timeout=600, check=False)


def test_setup_twice_is_a_quick_no_op():
    """A second set-up with unchanged requirements installs nothing and says nothing."""
    run("setup")
    start = time.perf_counter()
    second = run("setup")
    assert second.returncode == 0
    assert second.stdout == "" and second.stderr == ""
    assert time.perf_counter() - start < 10


def test_help_and_unknown_command():
    """help lists the commands; an unknown one fails naming it."""
    helped = run("help")
    assert helped.returncode == 0 and "./course test" in helped.stdout
    bad = run("frobnicate")
    assert bad.returncode != 0 and "unknown command 'frobnicate'" in bad.stderr


def test_release_rejects_unknown_assignment():
    """Naming an assignment that does not exist is an error, not a silent no-op."""
    bad = run("release", "99_nope")
    assert bad.returncode != 0 and "99_nope" in bad.stderr
