"""A throw-away PostgreSQL server for tests: Debian's binaries, a temp data folder, loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql; "
                           "./course test installs it when run as root)")
    return str(found[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server():
    """Start a server on 127.0.0.1 with trust auth; yield its base URL (no database name)."""
    # A folder of its own under /tmp that the postgres user can reach (pytest's are 0700).
    folder = Path(tempfile.mkdtemp(prefix="nndl-pg-"))
    folder.chmod(0o755)
    as_user: list[str] = []
    if os.getuid() == 0:  # postgres refuses to run as root
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    subprocess.run([*as_user, _bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                    "--no-sync"], check=True, capture_output=True)
    port = _free_port()
    log = folder / "server.log"
    subprocess.run([*as_user, _bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                    "-o", f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, _bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(base_url: str, name: str) -> str:
    """Create database ``name``; return its URL."""
    import psycopg

    with psycopg.connect(base_url + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"
