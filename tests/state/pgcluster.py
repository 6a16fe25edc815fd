"""A throwaway PostgreSQL cluster on a unix socket in a temporary folder (for tests).

``initdb`` refuses to run as root, so the cluster runs as the ``postgres`` system user when the tests
run as root. Used by the state contract tests; other areas may reuse it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_pg_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextmanager
def pg_cluster() -> Iterator[str]:
    """Start a private cluster; yield a libpq DSN for database ``postgres``; stop and delete it after."""
    base = Path(tempfile.mkdtemp(prefix="maintctl-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    subprocess.run(
        _as_pg_user([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]),
        check=True, capture_output=True,
    )
    opts = f"-k {sock} -c listen_addresses='' -c fsync=off -c max_connections=50"
    subprocess.run(
        _as_pg_user(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l", str(base / "log"), "start"]
        ),
        check=True, capture_output=True,
    )
    try:
        dsn = f"host={sock} dbname=postgres user=postgres"
        _wait(dsn)
        yield dsn
    finally:
        subprocess.run(
            _as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def _wait(dsn: str) -> None:
    import psycopg

    for _ in range(100):
        try:
            psycopg.connect(dsn).close()
            return
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise RuntimeError("test PostgreSQL cluster did not come up")


def fresh_database(dsn: str, name: str) -> str:
    """Create an empty database ``name`` in the cluster and return its DSN."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return dsn.replace("dbname=postgres", f"dbname={name}")
