"""pg_dump into restic and restore into a scratch database, against a throwaway PostgreSQL 15."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner.kinds.backup.postgres import (
    PgTarget,
    SqlCheck,
    backup_database,
    query,
    restore_into,
    run_checks,
    scratch_database,
)
from runner.kinds.backup.restic import Repository, Restic
from runner.kinds.backup.shell import CommandFailed, LocalShell


def _target(pg: dict[str, str], db: str) -> PgTarget:
    return PgTarget(database=db, host=pg["host"], port=int(pg["port"]), user=pg["user"])


def _sql(pg: dict[str, str], db: str, sql: str) -> None:
    subprocess.run(
        ["psql", "-X", "-q", "-h", pg["host"], "-p", pg["port"], "-U", "postgres", "-d", db, "-c", sql],
        check=True,
        capture_output=True,
    )


def _databases(pg: dict[str, str]) -> list[str]:
    return query(
        LocalShell(), _target(pg, "postgres"), "postgres", "select string_agg(datname, ',') from pg_database"
    ).split(",")


@pytest.fixture()
def seeded(pg_cluster: dict[str, str], request: pytest.FixtureRequest) -> PgTarget:
    db = "app_" + request.node.name[-20:].lower().replace("[", "_").replace("]", "_")
    _sql(pg_cluster, "postgres", f"drop database if exists {db}")
    _sql(pg_cluster, "postgres", f"create database {db}")
    _sql(
        pg_cluster,
        db,
        "create table orders(id int primary key, total numeric); "
        "insert into orders select g, g * 1.5 from generate_series(1, 500) g",
    )
    return _target(pg_cluster, db)


def test_dump_restore_and_checks(seeded: PgTarget, path_repo: Repository, pg_cluster: dict[str, str]) -> None:
    shell = LocalShell()
    restic = Restic(shell=shell, repo=path_repo)
    restic.init()
    summary = backup_database(restic, seeded, tags=["db"])
    assert summary.files_new == 1
    checks = [
        SqlCheck(name="orders rows", query="select count(*) from orders", expect="500"),
        SqlCheck(name="sum", query="select sum(total) from orders", min=1, max=1e9),
        SqlCheck(name="wrong", query="select count(*) from orders", expect="501"),
        SqlCheck(name="broken", query="select * from nope"),
    ]
    with scratch_database(shell, seeded) as scratch:
        assert scratch.startswith("maintctl_verify_")
        restore_into(restic, summary.snapshot_id, seeded, scratch)
        outcomes = run_checks(shell, seeded, scratch, checks)
    assert [o.ok for o in outcomes] == [True, True, False, False]
    assert outcomes[2].got == "500" and outcomes[2].expected == "= '501'"
    assert "nope" in outcomes[3].got
    assert scratch not in _databases(pg_cluster)


def test_scratch_dropped_after_failed_restore(
    seeded: PgTarget, path_repo: Repository, pg_cluster: dict[str, str]
) -> None:
    shell = LocalShell()
    restic = Restic(shell=shell, repo=path_repo)
    restic.init()
    # a snapshot that is not a pg_dump archive: pg_restore must fail, the scratch db must still go
    bogus = restic.backup_stdin("printf garbage", seeded.dump_filename)
    name = ""
    with pytest.raises(CommandFailed, match="pg_restore"):
        with scratch_database(shell, seeded) as scratch:
            name = scratch
            restore_into(restic, bogus.snapshot_id, seeded, scratch)
    assert name and name not in _databases(pg_cluster)


def test_failed_dump_keeps_no_snapshot(path_repo: Repository, pg_cluster: dict[str, str], tmp_path: Path) -> None:
    restic = Restic(shell=LocalShell(), repo=path_repo)
    restic.init()
    with pytest.raises(CommandFailed, match="pg_dump"):
        backup_database(restic, _target(pg_cluster, "does_not_exist"))
    assert restic.snapshots() == []
