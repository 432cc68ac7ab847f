"""A kernel that runs student code in a bubblewrap sandbox with resource limits.

The grader points nbgrader at the kernelspec ``nndl-sandbox`` (see :func:`install_kernelspec`),
whose command is ``python -m dlgrader.sandbox -f {connection_file}``. This launcher sets
resource limits, puts itself in a pids cgroup when it can, and starts the IPython kernel
inside bubblewrap:

- no network (a new network namespace), no other process visible (new pid namespace);
- a read-only view of the system, the Python installation and environment, ``dlutils`` (what
  notebooks import), the kernel's half of the grader (``dlgrader``'s package file, ``agent`` and
  ``wire``, nothing else of it), ``datasets``, the grading process's ``DLUTILS_DATA_HOME``
  folder when it is set to one, and the submission's own folder; nothing else of the course
  (no source/, no gradebook, no other submission);
- writable only a private tmpfs (``/tmp``, also ``HOME``) and the kernel's IPC sockets;
- an empty environment but for an allow-list (the instructor's variables never reach it; of
  them only ``DLUTILS_DATA_HOME``, as the absolute path of the folder shown);
- limits: address space, CPU time, file size, number of processes.

The kernel talks to the grader over IPC (unix sockets) in a runtime folder private to the
grading worker, because the sandbox has no network to carry TCP.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from jupyter_core.utils import run_sync

__all__ = ["Limits", "SandboxKernelManager", "SandboxUnavailable", "SpareKernel",
           "bwrap_command", "check_available", "copy_workfiles", "install_kernelspec"]

KERNEL_NAME = "nndl-sandbox"
KERNEL_DIR_PREFIX = "nndl-kernel-"
REPO = Path(__file__).resolve().parent.parent
ENV_PREFIX = "NNDL_SANDBOX_"
WARM_UP_ENV = "NNDL_SANDBOX_WARM_UP"
PASS_THROUGH = ("NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "LANG", "LC_ALL",
                "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
SYSTEM_RO = ("/usr", "/etc/fonts", "/etc/ld.so.cache", "/etc/localtime", "/etc/passwd",
             "/etc/group", "/etc/nsswitch.conf", "/etc/alternatives")
# dlutils.data.ENV_VAR: where the notebooks read the dataset. Set to a folder in the grading
# process, that folder is shown read-only to the kernel and the variable passed as its path.
DATA_HOME_VAR = "DLUTILS_DATA_HOME"
PIDS_CGROUP = Path("/sys/fs/cgroup/pids")
# The only files of the grader the kernel can read: what it needs to answer the judge.
KERNEL_SIDE = ("__init__.py", "agent.py", "wire.py")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel (read from NNDL_SANDBOX_* variables)."""

    memory_mb: int = 4096
    processes: int = 64
    cpu_seconds: int = 900
    file_mb: int = 64
    threads: int = 1

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Limits:
        env = os.environ if env is None else env
        values = {}
        for field in fields(cls):
            raw = env.get(ENV_PREFIX + field.name.upper())
            if raw is not None:
                values[field.name] = int(raw)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        return {ENV_PREFIX + f.name.upper(): str(getattr(self, f.name)) for f in fields(self)}


def _symlinks_and_binds(paths: list[Path], writable: list[Path]) -> list[str]:
    args = []
    for top in ("/bin", "/lib", "/lib64", "/sbin", "/lib32", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in SYSTEM_RO:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in paths:  # after /tmp: a folder under /tmp must stay visible
        args += ["--ro-bind", str(path), str(path)]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    return args


def data_home(env: dict[str, str] | None = None,
              private: tuple[Path, ...] = ()) -> Path | None:
    """The folder ``DLUTILS_DATA_HOME`` names, absolute, for the sandbox to show its kernel.

    None when the variable is unset or names no folder (the kernel then reads the kit's
    ``datasets/``). A folder that would show the course (solutions, gradebook, submissions)
    or one of ``private`` is refused with the fix: only a folder of data may be shown.
    """
    env = os.environ if env is None else env
    raw = env.get(DATA_HOME_VAR)
    if not raw:
        return None
    home = Path(raw).resolve()
    if not home.is_dir():
        return None
    datasets = REPO / "datasets"
    hidden = [REPO, *(p.resolve() for p in private)]
    if (any(p.is_relative_to(home) for p in hidden)
            or (home.is_relative_to(REPO) and not home.is_relative_to(datasets))):
        named = raw if raw == str(home) else f"{raw} ({home})"
        raise SandboxUnavailable(
            f"{DATA_HOME_VAR}={named} would show the sandboxed kernel the course's "
            f"folders (solutions, gradebook, submissions) or its own runtime folder: put the "
            f"dataset files in a folder of their own outside {REPO} (or in {datasets}) and "
            f"point {DATA_HOME_VAR} at it, or unset it to grade with the kit's datasets/.")
    return home


def bwrap_command(kernel_argv: list[str], cwd: Path, runtime_dir: Path, limits: Limits,
                  env: dict[str, str] | None = None) -> list[str]:
    """The bubblewrap command line that runs ``kernel_argv`` sandboxed in ``cwd``."""
    env = os.environ if env is None else env
    readable = [Path(sys.base_prefix), Path(sys.prefix), REPO / "dlutils", REPO / "datasets",
                *(REPO / "dlgrader" / name for name in KERNEL_SIDE), cwd]
    home = data_home(env, private=(cwd, runtime_dir))
    if home is not None:
        readable.append(home)
    readable = [p.resolve() for p in readable if p.exists()]
    # No --new-session: the kernel must stay in the launcher's process group, where
    # jupyter_client sends SIGINT to interrupt a cell that runs too long.
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--hostname", "sandbox"]
    args += _symlinks_and_binds(readable, [runtime_dir.resolve()])
    args += ["--chdir", str(cwd.resolve()), "--clearenv"]
    threads = str(limits.threads)
    child_env = {"HOME": "/tmp", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib",
                 "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                 "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": threads,
                 "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    child_env.update({k: env[k] for k in PASS_THROUGH if k in env})
    if home is not None:
        child_env[DATA_HOME_VAR] = str(home)
    for key, value in sorted(child_env.items()):
        args += ["--setenv", key, value]
    return args + ["--", *kernel_argv]


def _set_rlimits(limits: Limits) -> None:
    mb = 1 << 20
    for kind, value in ((resource.RLIMIT_AS, limits.memory_mb * mb),
                        (resource.RLIMIT_CPU, limits.cpu_seconds),
                        (resource.RLIMIT_FSIZE, limits.file_mb * mb),
                        (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(kind, (value, value))


def _limit_processes_by_rlimit(limit: int) -> None:
    """Without a cgroup: RLIMIT_NPROC counts all of this user's processes, so allow those
    that already exist plus ``limit``."""
    uid = os.getuid()
    mine = sum(1 for p in Path("/proc").iterdir()
               if p.name.isdigit() and _owner(p) == uid)
    resource.setrlimit(resource.RLIMIT_NPROC, (mine + limit, mine + limit))


def _owner(path: Path) -> int | None:
    try:
        return path.stat().st_uid
    except OSError:
        return None


def _join_pids_cgroup(limit: int) -> Path | None:
    """Put this process in a fresh pids cgroup (root only; RLIMIT_NPROC does not bind root)."""
    if not os.access(PIDS_CGROUP, os.W_OK):
        return None
    for stale in PIDS_CGROUP.glob("nndl-kernel-*"):
        try:
            stale.rmdir()  # only empty, finished ones go
        except OSError:
            pass
    group = PIDS_CGROUP / f"nndl-kernel-{os.getpid()}"
    try:
        group.mkdir(exist_ok=True)
        (group / "pids.max").write_text(str(limit))
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        return None
    return group


def check_available() -> None:
    """Raise SandboxUnavailable with the fix unless bubblewrap can start a sandbox here (and
    show it this process's DLUTILS_DATA_HOME, if set)."""
    data_home()
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: the grader will not run student code "
            "unsandboxed. Install it (Debian/Ubuntu: apt-get install bubblewrap; ./course "
            "setup does this when run as root), or pass --no-sandbox to grade without it.")
    probe = subprocess.run(["bwrap", "--unshare-all", "--ro-bind", "/", "/", "--", "true"],
                           capture_output=True, text=True, timeout=30, check=False)
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap cannot create a sandbox here: {probe.stderr.strip()}. Enable user "
            "namespaces (sysctl kernel.unprivileged_userns_clone=1) or grade as root, or "
            "pass --no-sandbox to grade without it.")


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose connection file and IPC sockets live in a folder of their own.

    That folder is all the sandbox may write outside its tmpfs, so it must hold nothing else
    (jupyter_client's default would put the connection file straight into /tmp).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        folder = Path(jupyter_runtime_dir()) / f"{KERNEL_DIR_PREFIX}{uuid.uuid4().hex[:12]}"
        folder.mkdir(mode=0o700, parents=True)
        self._sandbox_dir = folder
        self.transport = "ipc"
        self.connection_file = str(folder / "kernel.json")
        self.ip = str(folder / "ipc")

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        # The launcher runs in the kernel's folder: a relative DLUTILS_DATA_HOME means the
        # folder as seen from the grading process, so it leaves here absolute.
        env = kw.get("env")
        if env is not None and env.get(DATA_HOME_VAR):
            env[DATA_HOME_VAR] = os.path.abspath(env[DATA_HOME_VAR])
        await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._sandbox_dir, ignore_errors=True)


def copy_workfiles(source: Path, dest: Path) -> None:
    """The files a kernel works with: ``source``'s files except notebooks (the notebook being
    graded sits there with its test cells restored, hidden tests included) and links."""
    shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    for path in list(dest.rglob("*")):
        if path.is_symlink():
            path.unlink()


# Modules every notebook of the course imports, imported by a kernel started ahead while it
# waits (IPython's exec_lines: silent, out of the history; no name is left in the notebook).
WARM_UP = ("import importlib as _nndl; [_nndl.import_module(m) for m in ('numpy', "
           "'matplotlib.pyplot', 'dlutils.checks')]; del _nndl")


class SpareKernel:
    """A sandboxed kernel started ahead, in an empty folder of its own, for a worker's next
    notebook: its start-up (bubblewrap, Python, ipykernel, the course's imports) overlaps the
    current notebook's work.

    It is launched from the worker's main thread (bubblewrap dies with the thread that started
    it) and boots on its own. The folder is bound read-only into the sandbox like a
    submission's folder; :meth:`take` copies the next submission's files into it (a bind
    mount shows them inside at once) and hands the running kernel over. A spare that failed to
    start, or died, is discarded.
    """

    def __init__(self, config, kernel_name: str = KERNEL_NAME,
                 before_start: Callable[[Path], Any] | None = None):
        self.slot = Path(tempfile.mkdtemp(prefix="nndl-slot-", dir=jupyter_runtime_dir()))
        self.km = SandboxKernelManager(kernel_name=kernel_name, config=config)
        # whatever must exist in the kernel's folder before any student code runs there
        self.prepared = before_start(self.km._sandbox_dir) if before_start else None
        self.error: BaseException | None = None
        try:
            run_sync(self.km.start_kernel)(cwd=str(self.slot),
                                           env={**os.environ, WARM_UP_ENV: "1"})
        except Exception as exc:  # reported by take(): the caller starts a kernel itself
            self.error = exc

    def _alive(self) -> bool:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return process is not None and process.poll() is None

    def take(self, folder: Path) -> SandboxKernelManager | None:
        """The running kernel, with ``folder``'s files in its working folder (None if the
        spare is not usable)."""
        if self.error is not None or not self._alive():
            self.discard()
            return None
        copy_workfiles(folder, self.slot)
        return self.km

    def discard(self) -> None:
        """Stop the kernel (if it runs) and remove its folder."""
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None:
            with contextlib.suppress(Exception):
                process.wait(5)
        shutil.rmtree(self.slot, ignore_errors=True)
        shutil.rmtree(self.km._sandbox_dir, ignore_errors=True)


def install_kernelspec(dest: Path) -> Path:
    """Write the ``nndl-sandbox`` kernelspec under ``dest``; return the folder for JUPYTER_PATH."""
    folder = dest / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "dlgrader.sandbox", "-f", "{connection_file}"],
            "display_name": "Python 3 (grading sandbox)", "language": "python",
            # A signal to the process group would end bwrap (and the kernel with it): ask the
            # kernel to interrupt itself over its control channel instead.
            "interrupt_mode": "message", "metadata": {"debugger": False}}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return dest


def _die_with_parent() -> None:
    """SIGKILL this process when the grader thread that started it ends (kept across exec, so
    bubblewrap has it from its first instruction, before its own --die-with-parent)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


def main(argv: list[str] | None = None) -> None:
    """Launcher: limits, cgroup, then exec the kernel inside bubblewrap."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] != "-f":
        sys.exit("usage: python -m dlgrader.sandbox -f CONNECTION_FILE")
    connection_file = Path(argv[1]).resolve()
    if not connection_file.parent.name.startswith(KERNEL_DIR_PREFIX):
        sys.exit(f"refusing to start: {connection_file} is not in a private kernel folder "
                 f"({KERNEL_DIR_PREFIX}*), and its folder would be writable in the sandbox")
    parent = os.getppid()
    _die_with_parent()
    if parent == 1 or os.getppid() != parent:  # the grader that started us is gone
        sys.exit("the grader that started this kernel has ended")
    limits = Limits.from_env()
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", str(connection_file),
              "--HistoryManager.hist_file=:memory:"]
    if os.environ.get(WARM_UP_ENV) == "1":
        kernel.append(f"--IPKernelApp.exec_lines={[WARM_UP]!r}")
    try:
        command = bwrap_command(kernel, Path.cwd(), connection_file.parent, limits)
    except SandboxUnavailable as exc:
        sys.exit(str(exc))
    if _join_pids_cgroup(limits.processes) is None:
        _limit_processes_by_rlimit(limits.processes)
    _set_rlimits(limits)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
