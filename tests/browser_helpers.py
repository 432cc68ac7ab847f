"""JupyterLab started the way ./course starts it, and Debian's chromium driven by Playwright.

The server runs from a *course mirror*: a temporary folder whose entries are symbolic links to
the repository's files (the ./course script, the config, release/, source/, dlutils/, .venv, ...)
but with no workspace/, exchange/ or gradebook of its own. ./course finds its root from where it
is started, so ``MIRROR/course lab`` is the student's very command, run unchanged, while the
workspace it creates, the exchange and the gradebook all land in the temporary folder: the
repository's own workspace/ and gradebook are never touched.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
# Debian's chromium as root in a closed network (see the machine notes): no sandbox, no GPU,
# none of the background connections that the network would refuse.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# What a course needs from the repository; everything else (workspace/, exchange/, the
# gradebook, autograded/, ...) is state that the mirror keeps for itself.
MIRRORED = ["course", "nbgrader_config.py", "requirements.txt", "pyproject.toml", ".venv",
            "release", "source", "dlutils", "dlgrader", "datasets", "notebooks"]


def require_chromium() -> None:
    """Fail (not skip: CI must really run the browser tests) when chromium is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"Debian's chromium is not installed ({CHROMIUM} is missing): the browser "
                    "tests need it. Install it with `apt-get install chromium` (./course test "
                    "installs it when run as root).", pytrace=False)


def require_fresh_setup() -> None:
    """The mirror must not re-run the set-up (it would install dlutils from the mirror)."""
    stamp = REPO / ".venv" / ".setup-stamp"
    want = hashlib.sha256((REPO / "requirements.txt").read_bytes()
                          + (REPO / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != want:
        done = subprocess.run([str(REPO / "course"), "setup"], capture_output=True, text=True,
                              timeout=900, check=False)
        if done.returncode != 0:
            pytest.fail(f"./course setup failed:\n{done.stderr}", pytrace=False)


def course_mirror(dest: Path) -> Path:
    """A course root at ``dest`` that shares the repository's files but none of its state."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in MIRRORED:
        if (REPO / name).exists():
            (dest / name).symlink_to(REPO / name)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab: its base URL, token, log file and course root."""

    def __init__(self, root: Path, port: int, token: str, log: Path):
        self.root, self.port, self.token, self.log = root, port, token, log
        self.url = f"http://127.0.0.1:{port}"

    def page_url(self, path: str) -> str:
        return f"{self.url}/{path.lstrip('/')}?token={self.token}"

    def log_tail(self, lines: int = 150) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError as error:
            return f"(no server log: {error})"
        return "\n".join(text[-lines:])


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (kernels start their own sessions, so not one group)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the server (it shuts its kernels down), then SIGKILL whatever is left."""
    below = _descendants(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
    for pid in below:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@contextmanager
def jupyter_lab(root: Path, command: str, home: Path, timeout: float = 120):
    """Start ``root/course COMMAND`` as JupyterLab on a free port; yield a :class:`Lab`.

    Jupyter's per-user folders (config, settings, layouts, runtime, kernel specs) are fresh
    folders under ``home``, as on a new machine; the server and every kernel it started are
    stopped on exit, whatever happened.
    """
    port, token = free_port(), secrets.token_hex(16)
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "layouts"), ("IPYTHONDIR", "ipython")]:
        env[var] = str(home / sub)
    env.pop("NNDL_DB_URL", None)  # the mirror's own gradebook, never a shared one
    args = [str(root / "course"), command, "--no-browser", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}"]
    log = home / "jupyter.log"
    with log.open("w") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    lab = Lab(root, port, token, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"`{' '.join(args[:2])}` exited with {process.returncode} "
                                     f"before serving:\n{lab.log_tail()}")
            try:
                with urllib.request.urlopen(f"{lab.url}/api/status?token={token}", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise AssertionError(f"JupyterLab did not answer within {timeout:.0f} s:\n"
                                         f"{lab.log_tail()}") from None
                time.sleep(0.25)
        yield lab
    finally:
        _stop(process)


@contextmanager
def chromium_page(profile: Path, timeout_ms: float = 60_000):
    """A page of Debian's chromium (headless, fresh profile) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900})
        try:
            context.set_default_timeout(timeout_ms)
            page = context.pages[0] if context.pages else context.new_page()
            yield page
        finally:
            context.close()


@contextmanager
def log_on_failure(lab: Lab):
    """Turn any failure inside into a test failure that carries the server's log."""
    try:
        yield
    except Exception as error:  # noqa: BLE001  (Playwright timeouts, assertions, ...)
        pytest.fail(f"{type(error).__name__}: {error}\n\n--- JupyterLab log ({lab.log}), "
                    f"last lines ---\n{lab.log_tail()}", pytrace=True)


def shoot(page, name: str) -> Path:
    """Save a screenshot as test-artifacts/browser/NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
