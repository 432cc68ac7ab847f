"""dlgrader.sandbox: the bubblewrap command, limits, the kernel folder and clear failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dlgrader import sandbox
from dlutils.data import ENV_VAR


def test_limits_round_trip_through_the_environment():
    """Limits travel to the launcher as NNDL_SANDBOX_* variables."""
    limits = sandbox.Limits(memory_mb=1024, processes=7, cpu_seconds=30)
    assert sandbox.Limits.from_env(limits.to_env()) == limits
    assert sandbox.Limits.from_env({}) == sandbox.Limits()


def test_bwrap_command_hides_the_course_and_the_environment(tmp_path):
    """No network, a cleared environment (allow-list only), /tmp private, the course unseen."""
    cwd = tmp_path / "autograded" / "ann" / "a1"
    cwd.mkdir(parents=True)
    kernel_dir = tmp_path / "nndl-kernel-x"
    kernel_dir.mkdir()
    cmd = sandbox.bwrap_command(["python"], cwd, kernel_dir, sandbox.Limits(),
                                env={"SECRET": "s3cret", "NBGRADER_EXECUTION": "autograde"})
    text = " ".join(cmd)
    assert "--unshare-all" in cmd and "--clearenv" in cmd
    assert "s3cret" not in text and "NBGRADER_EXECUTION autograde" in text
    binds = [(cmd[i], cmd[i + 1]) for i, a in enumerate(cmd) if a in ("--bind", "--ro-bind")]
    writable = [src for kind, src in binds if kind == "--bind"]
    assert writable == [str(kernel_dir.resolve())]
    assert ("--ro-bind", str(cwd.resolve())) in binds
    assert not [src for _, src in binds if src == str(tmp_path) or src.endswith("/source")]
    assert cmd.index("--tmpfs") < cmd.index(str(cwd.resolve()))


def binds_of(cmd: list[str]) -> list[tuple[str, str]]:
    return [(cmd[i], cmd[i + 1]) for i, a in enumerate(cmd) if a in ("--bind", "--ro-bind")]


def setenv_of(cmd: list[str]) -> dict[str, str]:
    return {cmd[i + 1]: cmd[i + 2] for i, a in enumerate(cmd) if a == "--setenv"}


def test_bwrap_command_shows_the_data_home_read_only(tmp_path, monkeypatch):
    """The grading process's DLUTILS_DATA_HOME (here relative, as typed) is bound read-only
    after the private /tmp and passed as its absolute path; nothing else of the environment."""
    assert sandbox.DATA_HOME_VAR == ENV_VAR
    home = tmp_path / "data"
    home.mkdir()
    cwd = tmp_path / "work"
    cwd.mkdir()
    kernel_dir = tmp_path / "nndl-kernel-x"
    kernel_dir.mkdir()
    monkeypatch.chdir(tmp_path)
    cmd = sandbox.bwrap_command(["python"], cwd, kernel_dir, sandbox.Limits(),
                                env={ENV_VAR: "data", "SECRET": "s3cret", "HOME": "/root"})
    assert ("--ro-bind", str(home.resolve())) in binds_of(cmd)
    assert ("--bind", str(home.resolve())) not in binds_of(cmd)
    assert cmd.index("--tmpfs") < cmd.index(str(home.resolve()))
    child_env = setenv_of(cmd)
    assert child_env[ENV_VAR] == str(home.resolve())
    assert "SECRET" not in child_env and child_env["HOME"] == "/tmp"
    # unset, empty, a missing folder or a file: no bind, no variable (the kit's datasets/)
    (tmp_path / "a_file").write_text("")
    for value in (None, "", str(tmp_path / "missing"), str(tmp_path / "a_file")):
        env = {} if value is None else {ENV_VAR: value}
        cmd = sandbox.bwrap_command(["python"], cwd, kernel_dir, sandbox.Limits(), env=env)
        assert ENV_VAR not in setenv_of(cmd)
        assert [src for _, src in binds_of(cmd) if src.startswith(str(tmp_path))] == [
            str(cwd.resolve()), str(kernel_dir.resolve())]
    # the kit's own datasets/ may be named explicitly
    cmd = sandbox.bwrap_command(["python"], cwd, kernel_dir, sandbox.Limits(),
                                env={ENV_VAR: str(sandbox.REPO / "datasets")})
    assert setenv_of(cmd)[ENV_VAR] == str(sandbox.REPO / "datasets")


def test_a_data_home_that_would_show_the_course_is_refused(tmp_path, monkeypatch):
    """The course folder, a folder that holds it, one of its folders (source/, submitted/...)
    or a folder holding the kernel's own folders is refused with the fix, up front too."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    kernel_dir = tmp_path / "nndl-kernel-x"
    kernel_dir.mkdir()
    for home in (sandbox.REPO, sandbox.REPO.parent, sandbox.REPO / "source", tmp_path):
        with pytest.raises(sandbox.SandboxUnavailable, match="folder of their own outside"):
            sandbox.bwrap_command(["python"], cwd, kernel_dir, sandbox.Limits(),
                                  env={ENV_VAR: str(home)})
    monkeypatch.setenv(ENV_VAR, str(sandbox.REPO))
    with pytest.raises(sandbox.SandboxUnavailable, match=ENV_VAR):
        sandbox.check_available()


def test_missing_bwrap_stops_grading_with_the_fix(monkeypatch):
    """Without bubblewrap the grader refuses to run student code and says how to proceed."""
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
        sandbox.check_available()


def test_launcher_refuses_a_shared_connection_folder(tmp_path):
    """A connection file outside a private nndl-kernel-* folder is refused (it would expose
    its whole folder to the sandbox)."""
    conn = tmp_path / "kernel.json"
    conn.write_text("{}")
    run = subprocess.run([sys.executable, "-m", "dlgrader.sandbox", "-f", str(conn)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode != 0 and "private kernel folder" in run.stderr


def test_kernel_manager_uses_a_private_folder(tmp_path, monkeypatch):
    """Each sandbox kernel gets its own 0700 folder for its connection file and sockets."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    km = sandbox.SandboxKernelManager(kernel_name=sandbox.KERNEL_NAME)
    folder = Path(km.connection_file).parent
    assert folder.parent == tmp_path and folder.name.startswith(sandbox.KERNEL_DIR_PREFIX)
    assert oct(folder.stat().st_mode)[-3:] == "700"
    assert km.transport == "ipc" and km.ip.startswith(str(folder))


def _run_sandboxed(code: list[str], work: Path) -> list[str]:
    """Run each string of ``code`` as a cell in a sandboxed kernel whose folder is ``work``;
    return what each cell printed."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in code])
    work.mkdir()
    NotebookClient(nb, kernel_name=sandbox.KERNEL_NAME, timeout=60,
                   kernel_manager_class=sandbox.SandboxKernelManager,
                   resources={"metadata": {"path": str(work)}}).execute()
    return [c.outputs[0]["text"].strip() for c in nb.cells]


def test_sandboxed_kernel_runs_code_without_network_or_secrets(tmp_path, monkeypatch):
    """A real kernel in the sandbox: numpy works, the network and the course do not."""

    sandbox.check_available()
    monkeypatch.setenv("JUPYTER_PATH", str(sandbox.install_kernelspec(tmp_path / "share")))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("NNDL_TEST_SECRET", "s3cret")
    code = ["import numpy as np, os, socket\nprint(np.arange(4).sum())",
            "print(os.environ.get('NNDL_TEST_SECRET'))",
            "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
            "except OSError as e:\n    print('offline')",
            "print(sorted(os.listdir('/work')) if os.path.exists('/work') else [])"]
    printed = _run_sandboxed(code, tmp_path / "work")
    assert printed[:3] == ["6", "None", "offline"]
    assert "shared" not in printed[3]


def test_sandboxed_kernel_reads_a_data_home_outside_the_repository(tmp_path, monkeypatch, repo):
    """DLUTILS_DATA_HOME set (relative to the grader's folder) to a folder outside the course
    that holds only the course's two .h5 files and a file of its own: the sandboxed kernel
    reads them there, the "your own picture" samples come from the kit, and it cannot write."""
    import shutil


    sandbox.check_available()
    home = tmp_path / "data"
    home.mkdir()
    for name in ("train_catvnoncat.h5", "test_catvnoncat.h5"):
        shutil.copy(repo / "datasets" / name, home / name)
    (home / "marker.txt").write_text("from the data home")
    monkeypatch.setenv("JUPYTER_PATH", str(sandbox.install_kernelspec(tmp_path / "share")))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENV_VAR, "data")
    code = ["import os\nprint(os.environ['DLUTILS_DATA_HOME'])",
            "print(open(os.path.join(os.environ['DLUTILS_DATA_HOME'], 'marker.txt')).read())",
            "from dlutils.data import load_cat_dataset, own_images\n"
            "print(load_cat_dataset()[0].shape, [p.parent.parent.name for p in own_images()][0])",
            "try:\n    open(os.path.join(os.environ['DLUTILS_DATA_HOME'], 'x'), 'w')\n"
            "except OSError as e:\n    print('read-only')"]
    printed = _run_sandboxed(code, tmp_path / "work")
    assert printed == [str(home.resolve()), "from the data home",
                       "(300, 64, 64, 3) datasets", "read-only"]
    assert sorted(p.name for p in home.iterdir()) == ["marker.txt", "test_catvnoncat.h5",
                                                     "train_catvnoncat.h5"]
