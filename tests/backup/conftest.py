"""Fixtures for backup tests: a real moto S3 server, restic repositories, a throwaway PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.kinds.backup.restic import Repository, Restic
from runner.kinds.backup.shell import LocalShell

VENV_BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret-key"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


@pytest.fixture()
def s3_repo(moto_endpoint: str) -> Repository:
    import boto3

    bucket = f"restic-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id=FAKE_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_KEYS["AWS_SECRET_ACCESS_KEY"],
    )
    s3.create_bucket(Bucket=bucket)
    return Repository(
        url=f"s3:{moto_endpoint}/{bucket}",
        password="canary-restic-pw-4711",  # noqa: S106 - a canary, not a credential
        env={"AWS_DEFAULT_REGION": "us-east-1"},
        secret_env=dict(FAKE_KEYS),
    )


@pytest.fixture()
def path_repo(tmp_path: Path) -> Repository:
    pw = tmp_path / "restic.pass"
    pw.write_text("canary-file-pw-0815\n")
    pw.chmod(0o600)
    return Repository(url=str(tmp_path / "repo"), password_file=str(pw))


@pytest.fixture()
def restic_s3(s3_repo: Repository) -> Restic:
    r = Restic(shell=LocalShell(), repo=s3_repo)
    r.init()
    return r


def _pg_user() -> str:
    return "postgres" if os.geteuid() == 0 else ""


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[dict[str, str]]:
    """A throwaway PostgreSQL 15 cluster on a unix socket, owned by the postgres user."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL 15 server binaries are missing (make system installs them)")
    # Not under pytest's tmp (0700 root): the postgres user must reach its data directory.
    base = Path(tempfile.mkdtemp(prefix="maintctl-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    user = _pg_user()
    if user:
        shutil.chown(base, user)
        shutil.chown(sock, user)
        os.chmod(base, 0o700)
    run_as = ["runuser", "-u", user, "--"] if user else []
    subprocess.run(
        [*run_as, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    port = str(_free_port())
    opts = f"-k {sock} -p {port} -c listen_addresses='' -c fsync=off"
    subprocess.run(
        [
            *run_as,
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-w",
            "-l",
            str(base / "log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield {"host": str(sock), "port": port, "user": "postgres"}
    finally:
        subprocess.run(
            [*run_as, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


class PgAdmin:
    """psql as the cluster's superuser, for seeding and inspecting test databases."""

    def __init__(self, pg: dict[str, str]) -> None:
        self.pg = pg

    def sql(self, db: str, sql: str) -> str:
        out = subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-A",
                "-t",
                "-h",
                self.pg["host"],
                "-p",
                self.pg["port"],
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def databases(self) -> list[str]:
        return self.sql("postgres", "select datname from pg_database").split()


@pytest.fixture()
def pg_admin(pg_cluster: dict[str, str]) -> PgAdmin:
    return PgAdmin(pg_cluster)
