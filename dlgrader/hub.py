"""The course JupyterHub on one machine: ``./course hub-setup`` (run as root).

It prepares what ``hub/jupyterhub_config.py`` runs, idempotently:

- **the hub's environment** (default ``/opt/nndl-hub``), readable by every user: a Python
  environment made from a Python that every account may run, holding the student's pinned
  packages (:data:`dlgrader.studentkit.STUDENT_REQUIREMENTS`), JupyterHub (the pin of
  requirements.txt), ``dlutils`` (copied, not linked to this kit), the course's dataset in
  ``share/nndl/datasets``, configurable-http-proxy from npm in ``node/``, the student's Jupyter
  configuration in ``etc/jupyter`` (Validate answered by dlutils, the instructor's panels
  hidden, nbgrader's exchange and course id) and the hub's own configuration in
  ``etc/jupyterhub``. Nothing of ``source/``, the gradebook or the grader is in it. The packages
  are reinstalled only when their pins change; the rest is refreshed every time;
- **the course's Unix groups** (students, instructors), created when missing;
- **nbgrader's exchange**: the folder every account may write (mode 1777: nbgrader's
  "writable by everyone", sticky so that nobody removes another's entry) and in it the course's
  folder, made in advance so that no student can take its name first, owned by the first
  ``--instructor`` (else by root) and the instructors' group, set-group-ID, so that
  submissions belong to that group (:mod:`dlutils.hub_submit` then closes them to others).
"""

from __future__ import annotations

import argparse
import grp
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from .grading import REPO
from .studentkit import STUDENT_REQUIREMENTS

__all__ = ["CHP", "build_environment", "main", "make_exchange", "pinned"]

HUB = REPO / "hub"
DEFAULT_ENV = Path("/opt/nndl-hub")
DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")
# configurable-http-proxy, the hub's proxy (npm). 4.6 runs on Debian 12's Node.js 18.
CHP = "configurable-http-proxy@4.6.3"
MARKER = ".nndl-hub-env"  # in an environment this module made (and may therefore replace)


class SetupError(RuntimeError):
    """A step of the set-up failed; the message says which and why."""


def pinned(names: tuple[str, ...], requirements: Path = REPO / "requirements.txt") -> list[str]:
    """The lines of ``requirements`` that pin ``names`` (case-insensitive), in file order."""
    wanted, kept = {n.lower() for n in names}, []
    for line in requirements.read_text().splitlines():
        name = line.strip().split("==")[0].split("[")[0].strip().lower()
        if name in wanted and "==" in line:
            kept.append(line.strip())
            wanted.discard(name)
    if wanted:
        raise SetupError(f"requirements.txt pins no version of {sorted(wanted)}")
    return kept


def _everyone_can_run(python: Path) -> bool:
    """Whether every account can run ``python``: the file and all folders above it are open
    to others (a Python under /root, as pyenv puts it, is not)."""
    real = python.resolve()
    try:
        if not real.stat().st_mode & stat.S_IXOTH:
            return False
        return all(p.stat().st_mode & stat.S_IXOTH for p in real.parents)
    except OSError:
        return False


def base_python() -> Path:
    """A Python 3.11 or newer that every account can run: this one's base, else Debian's."""
    candidates = [Path(getattr(sys, "_base_executable", sys.executable)),
                  Path("/usr/bin/python3")]
    for python in candidates:
        if not (python.exists() and _everyone_can_run(python)):
            continue
        ok = subprocess.run([str(python), "-c", "import sys, venv; "
                             "sys.exit(sys.version_info < (3, 11))"], check=False,
                            capture_output=True)
        if ok.returncode == 0:
            return python
    tried = ", ".join(str(c) for c in candidates)
    raise SetupError("no Python 3.11 or newer that every user can run: install Debian's "
                     f"(apt-get install python3 python3-venv); tried {tried}")


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SetupError(f"{what} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def _stamp(path: Path) -> str:
    return path.read_text().strip() if path.is_file() else ""


def _install_packages(env: Path, say) -> bool:
    """The environment's Python and packages, rebuilt only when the pins changed (True)."""
    requirements = pinned(STUDENT_REQUIREMENTS) + pinned(("jupyterhub",))
    python = base_python()
    want = hashlib.sha256("\n".join([str(python), *requirements]).encode()).hexdigest()
    stamp = env / MARKER
    if _stamp(stamp) == want and (env / "bin" / "python").exists():
        return False
    if env.exists() and any(env.iterdir()) and not stamp.exists():
        raise SetupError(f"{env} exists and was not made by ./course hub-setup: choose another "
                         "folder (--env) or remove it")
    if env.exists():
        shutil.rmtree(env)
    say(f"creating the hub's environment in {env} from {python} (a minute or two)")
    _run([str(python), "-m", "venv", "--without-pip", str(env)], "creating the environment")
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as reqs:
        reqs.write("\n".join(requirements) + "\n")
        reqs.flush()
        # this environment's pip installs into the new one (which needs no pip of its own)
        _run([sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install",
              "--quiet", "--disable-pip-version-check", "-r", reqs.name],
             "installing the packages")
    stamp.write_text(want + "\n")
    return True


def _install_proxy(env: Path, say) -> bool:
    """configurable-http-proxy from npm into ``env/node``, again only when the pin changed."""
    node = env / "node"
    stamp = node / ".installed"
    if _stamp(stamp) == CHP and (node / "node_modules" / ".bin" / "configurable-http-proxy"
                                 ).exists():
        return False
    npm = shutil.which("npm")
    if npm is None:
        raise SetupError("npm is missing: apt-get install nodejs npm")
    say(f"installing {CHP} (npm)")
    node.mkdir(parents=True, exist_ok=True)
    _run([npm, "install", "--prefix", str(node), "--no-audit", "--no-fund", "--silent", CHP],
         f"npm install {CHP}")
    stamp.write_text(CHP + "\n")
    return True


def _site_packages(env: Path) -> Path:
    out = subprocess.run([str(env / "bin" / "python"), "-c",
                          "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def _refresh_files(env: Path) -> list[Path]:
    """dlutils, the dataset and the configuration files: copied every time (cheap); the
    folders written."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    target = _site_packages(env) / "dlutils"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(REPO / "dlutils", target, ignore=ignore)
    data = env / "share" / "nndl" / "datasets"
    if data.exists():
        shutil.rmtree(data)
    shutil.copytree(REPO / "datasets", data, ignore=ignore)
    student = REPO / "dlutils" / "student_config"
    jupyter = env / "etc" / "jupyter"
    (jupyter / "labconfig").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(student / "labconfig" / "page_config.json",
                    jupyter / "labconfig" / "page_config.json")
    shutil.copyfile(student / "jupyter_server_config.json", jupyter / "jupyter_server_config.json")
    shutil.copyfile(HUB / "nbgrader_config.py", jupyter / "nbgrader_config.py")
    (env / "etc" / "jupyterhub").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HUB / "jupyterhub_config.py", env / "etc" / "jupyterhub" /
                    "jupyterhub_config.py")
    return [target, data, env / "etc"]


def _open_to_everyone(folder: Path) -> None:
    """Everyone may read and run what is in ``folder``; only its owner (root) may change it."""
    for here, folders, files in os.walk(folder):
        for name in folders:
            path = os.path.join(here, name)
            os.chmod(path, (os.lstat(path).st_mode | 0o555) & 0o755)
        for name in files:
            path = os.path.join(here, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                os.chmod(path, (mode | 0o444 | (0o111 if mode & 0o100 else 0)) & 0o755)
    os.chmod(folder, 0o755)


def build_environment(env: Path, say=print) -> Path:
    """Make or refresh the hub's environment in ``env`` (see the module's docstring)."""
    env = env.resolve()
    env.parent.mkdir(parents=True, exist_ok=True)
    installed = _install_packages(env, say)
    installed = _install_proxy(env, say) or installed
    refreshed = _refresh_files(env)
    for folder in [env] if installed else [*refreshed, env / "share"]:
        _open_to_everyone(folder)
    os.chmod(env, 0o755)
    return env


def ensure_group(name: str) -> int:
    """The id of Unix group ``name``, created (groupadd) when missing."""
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        _run(["groupadd", name], f"groupadd {name}")
        return grp.getgrnam(name).gr_gid


def make_exchange(root: Path, course_id: str, instructors_group: str,
                  owner: str | None = None) -> Path:
    """nbgrader's exchange at ``root`` (1777) with the course's folder in it, owned by
    ``owner`` (default: root) and the instructors' group, set-group-ID; return that folder."""
    gid = ensure_group(instructors_group)
    uid = pwd.getpwnam(owner).pw_uid if owner else 0
    root.mkdir(parents=True, exist_ok=True)
    os.chown(root, 0, 0)
    os.chmod(root, 0o1777)
    course = root / course_id
    course.mkdir(exist_ok=True)
    info = course.lstat()
    if stat.S_ISLNK(info.st_mode) or (info.st_uid not in (0, uid)):
        raise SetupError(f"{course} exists and belongs to uid {info.st_uid}, not to "
                         f"{owner or 'root'}: remove it (someone made it before the course did)")
    os.chown(course, uid, gid)
    os.chmod(course, 0o2755)
    return course


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./course hub-setup", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", type=Path, default=DEFAULT_ENV,
                        help=f"the hub's environment (default {DEFAULT_ENV})")
    parser.add_argument("--exchange", type=Path, default=DEFAULT_EXCHANGE,
                        help=f"nbgrader's exchange (default {DEFAULT_EXCHANGE})")
    parser.add_argument("--course-id", default="nndl", help="the exchange's course id")
    parser.add_argument("--instructor", action="append", default=[],
                        help="an instructor's account (repeatable): put in the instructors' "
                             "group; the first owns the course's exchange folder")
    parser.add_argument("--students-group", default="nndl-students")
    parser.add_argument("--instructors-group", default="nndl-instructors")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("error: ./course hub-setup makes groups, a shared folder and an environment for "
              "every user: run it as root (sudo ./course hub-setup ...)", file=sys.stderr)
        return 1

    def say(text: str) -> None:
        print(f"[hub-setup] {text}", file=sys.stderr, flush=True)

    try:
        for person in args.instructor:
            pwd.getpwnam(person)  # KeyError: no such account
        env = build_environment(args.env, say)
        ensure_group(args.students_group)
        ensure_group(args.instructors_group)
        for person in args.instructor:
            _run(["usermod", "-a", "-G", args.instructors_group, person],
                 f"adding {person} to {args.instructors_group}")
        course = make_exchange(args.exchange, args.course_id, args.instructors_group,
                               args.instructor[0] if args.instructor else None)
    except KeyError as missing:
        print(f"error: no such account: {missing}", file=sys.stderr)
        return 1
    except (SetupError, OSError) as failed:
        print(f"error: {failed}", file=sys.stderr)
        return 1
    print(f"hub environment: {env}\nexchange: {course} (course id {args.course_id})\n"
          f"groups: {args.students_group} (students), {args.instructors_group} (instructors)\n"
          f"start the hub: {env}/bin/jupyterhub -f {env}/etc/jupyterhub/jupyterhub_config.py "
          f"(with NNDL_EXCHANGE={args.exchange} if not the default)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
