"""A course JupyterHub for the tests: real Unix accounts, the hub from ``./course hub-setup``'s
environment, configurable-http-proxy from npm, all on loopback, and everything removed after.

The accounts, groups, exchange and the hub's state are new for each run (unique names), and
:class:`Hub` undoes all of it, whatever happened: the hub (which stops every user's server and
its proxy) and any process left under a test account are ended by their ids, then the accounts
(``userdel -r``: their homes too), groups and folders are removed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser_helpers import REPO, _stop, free_port

# The hub's environment is built once and reused (its packages only change with their pins):
# readable by every account, unlike a checkout under /root.
HUB_ENV = Path(os.environ.get("NNDL_TEST_HUB_ENV", "/var/cache/nndl-course-kit/hub-env"))
ARTIFACTS = REPO / "test-artifacts" / "hub"
IN_CI = os.environ.get("CI") == "true"


def missing(reason: str) -> None:
    """Skip outside CI, fail in CI (which must run the hub test)."""
    if IN_CI:
        pytest.fail(f"the hub test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def run(args: list[str], timeout: float = 120, check: bool = True,
        **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False,
                          **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {done.returncode}:\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def as_user(user: str, *command: str) -> subprocess.CompletedProcess:
    """``command`` run as ``user`` (runuser: the account's uid, gid and groups)."""
    return run(["runuser", "-u", user, "--", *command], check=False, timeout=60)


class Hub:
    """Accounts, groups, exchange and a running JupyterHub; :meth:`close` removes them all."""

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.tag = tag
        self.students_group, self.instructors_group = f"nndl{tag}s", f"nndl{tag}i"
        self.users: dict[str, str] = {}  # name -> password
        self.groups: list[str] = []
        self.process: subprocess.Popen | None = None
        self.base = Path(tempfile.mkdtemp(prefix="nndl-hub-"))
        self.base.chmod(0o755)  # every account reaches the exchange inside
        self.exchange = self.base / "exchange"
        self.state = self.base / "state"
        self.log = self.base / "jupyterhub.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    # -- accounts
    def add_user(self, name: str, group: str) -> str:
        """A Unix account with a home only it may enter and a random password."""
        password = secrets.token_urlsafe(12)
        run(["useradd", "--create-home", "--key", "HOME_MODE=0700", "--shell", "/bin/bash",
             "--groups", group, name])
        self.users[name] = password
        run(["chpasswd"], input=f"{name}:{password}\n")
        return password

    def setup(self) -> str:
        """``./course hub-setup`` with this run's groups and exchange; its output."""
        done = run([str(REPO / "course"), "hub-setup", "--env", str(HUB_ENV),
                    "--exchange", str(self.exchange), "--students-group", self.students_group,
                    "--instructors-group", self.instructors_group], timeout=900)
        self.groups += [self.students_group, self.instructors_group]
        return done.stdout + done.stderr

    # -- the hub
    def start(self, timeout: float = 60) -> None:
        env = {"PATH": f"{HUB_ENV}/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
               "NNDL_HUB_STATE": str(self.state), "NNDL_HUB_BIND_URL": f"{self.url}/",
               "NNDL_HUB_API_PORT": str(free_port()), "NNDL_PROXY_API_PORT": str(free_port()),
               "NNDL_EXCHANGE": str(self.exchange),
               "NNDL_STUDENTS_GROUP": self.students_group,
               "NNDL_INSTRUCTORS_GROUP": self.instructors_group,
               "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(32)}
        self.state.mkdir(mode=0o700)
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [str(HUB_ENV / "bin" / "jupyterhub"), "-f",
                 str(HUB_ENV / "etc" / "jupyterhub" / "jupyterhub_config.py")],
                cwd=self.state, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"JupyterHub exited with {self.process.returncode}:\n"
                                     f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/health", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise AssertionError(f"JupyterHub did not answer within {timeout:.0f} s:\n"
                                         f"{self.log_tail()}") from None
                time.sleep(0.25)

    def log_tail(self, lines: int = 120) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError as error:
            return f"(no hub log: {error})"

    # -- undo everything
    def _uids(self) -> set[int]:
        uids = set()
        for name in self.users:
            done = run(["id", "-u", name], check=False)
            if done.returncode == 0:
                uids.add(int(done.stdout))
        return uids

    def _kill_user_processes(self, uids: set[int]) -> None:
        """SIGKILL, by id, every process that runs as one of this run's accounts."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid in uids:
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass

    def close(self) -> list[str]:
        """Stop and remove everything; the problems met (empty: all clean)."""
        problems = []
        started = time.monotonic()
        if self.process is not None:
            _stop(self.process)
        self.stop_seconds = time.monotonic() - started
        uids = self._uids()
        for _ in range(20):
            self._kill_user_processes(uids)
            if not any(e.name.isdigit() and _owned(e, uids) for e in Path("/proc").iterdir()):
                break
            time.sleep(0.2)
        for name in self.users:
            done = run(["userdel", "--remove", name], check=False)
            if done.returncode not in (0, 6):  # 6: no such user
                problems.append(f"userdel {name}: {done.stderr.strip()}")
        for group in self.groups:
            run(["groupdel", group], check=False)
        shutil.rmtree(self.base, ignore_errors=True)
        return problems


def _owned(entry: Path, uids: set[int]) -> bool:
    try:
        return entry.stat().st_uid in uids
    except OSError:
        return False
