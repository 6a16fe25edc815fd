"""The backup KindRunner end to end on this machine: two local hosts, S3 (moto) repository,
a real PostgreSQL, real evidence ledger. Failures are loud and name what differed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from runner.catalogue.model import BackupPlan, Catalogue, Inventory, Item, Location, Targets
from runner.engine.kind import RunContext
from runner.errors import CatalogueError
from runner.kinds.backup.runner import BackupRunner
from runner.kinds.backup.store import BackupStore
from runner.state.sqlite import SQLiteStateStore


def _plan(tmp: Path, endpoint: str, bucket: str, pg: dict[str, str], data: Path, **verification: Any) -> dict[str, Any]:
    (tmp / "restic.pass").write_text("runner-canary-pw-9911\n")
    return {
        "what": {"paths": [str(data)], "postgres": {"databases": ["shopdb"], "host": pg["host"],
                                                      "port": int(pg["port"]), "user": "postgres"}},
        "where": {"restic": {"repository": f"s3:{endpoint}/{bucket}", "password_file": "restic.pass"}},
        "retention": {"keep_daily": 7, "keep_weekly": 4},
        "verification": {"every": 1, "read_data_rotate": 3, "restore_to": {"path": str(tmp / "scratch")},
                         "sql_checks": [{"name": "rows", "query": "select count(*) from t", "expect": 10}],
                         **verification},
    }  # fmt: skip


def _ctx(
    tmp: Path, plan: dict[str, Any], hosts: list[str], state_name: str = ".maintctl", **options: Any
) -> RunContext:
    from runner.evidence.recorder import open_recorder

    item = Item(id="nightly", kind="backup", targets=Targets(hosts=tuple(hosts)), window="w",
                expected_duration=__import__("datetime").timedelta(minutes=5), settings={"plan": "main"},
                location=Location(file="maintenance/items.yml", line=3))  # fmt: skip
    cat = Catalogue(root=str(tmp), windows={}, freezes=(), items=(item,),
                    plans={"main": BackupPlan(name="main", settings=plan, location=Location(file="backup/p.yml"))},
                    inventory=Inventory(groups={"all": tuple(hosts)},
                                        hostvars={h: {"ansible_connection": "local"} for h in hosts}))  # fmt: skip
    rec = open_recorder(tmp)
    bundle = rec.open_bundle(run_id="r1", item_id="nightly", occurrence="now", asked={})
    state = tmp / state_name
    # Another state folder stands for a runner with a state store of its own (not the estate's shared one).
    own = None if state_name == ".maintctl" else SQLiteStateStore(state / "state.db")
    return RunContext(run_id="r1", item=item, catalogue=cat, estate_root=str(tmp), state_dir=str(state),
                      occurrence="now", bundle_id=bundle, evidence=rec, hosts=hosts, deadline=None,
                      options=options, state=own)  # fmt: skip


@pytest.fixture()
def estate(tmp_path: Path, moto_endpoint: str, pg_admin: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret-key")
    bucket = f"b{os.urandom(5).hex()}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    pg_admin.sql("postgres", "drop database if exists shopdb")
    pg_admin.sql("postgres", "create database shopdb")
    pg_admin.sql("shopdb", "create table t(x int); insert into t select generate_series(1, 10)")
    data = tmp_path / "srv" / "app"
    data.mkdir(parents=True)
    (data / "index.html").write_text("hello\n")
    (data / "big.bin").write_bytes(os.urandom(100_000))
    (tmp_path / "scratch").mkdir()
    return {"bucket": bucket, "data": data, "endpoint": moto_endpoint}


def test_backup_and_verified_restore_pass(estate: dict[str, Any], tmp_path: Path, pg_cluster: dict[str, str]) -> None:
    plan = _plan(tmp_path, estate["endpoint"], estate["bucket"], pg_cluster, estate["data"])
    ctx = _ctx(tmp_path, plan, ["h1", "h2"])
    kind = BackupRunner()
    kind.before(ctx)
    results = kind.run_batch(ctx, ["h1"])
    assert [r.status for r in results] == ["changed"], results[0].message
    steps = [s.name for s in results[0].steps]
    assert steps == ["restic init", "backup files", "backup database shopdb", "retention", "repository check",
                     "restore test files on h2", "restore test database shopdb on h1"]  # fmt: skip
    tests = results[0].data["restore_tests"]
    assert [t["ok"] for t in tests] == [True, True] and tests[0]["host"] == "h2"
    assert results[0].data["repository_check"]["checks"][0]["read_data_subset"] == "1/3"
    summary = kind.after(ctx, results)
    assert summary["restore_tested"] is True
    status = BackupStore.for_run(ctx).status("nightly")
    assert status["last_verified_restore"]["rto"] is not None and status["last_backup"]["host"] == "h1"
    assert list((tmp_path / "scratch").iterdir()) == []
    ledger = b"".join(p.read_bytes() for p in (tmp_path / ".maintctl" / "evidence").rglob("*") if p.is_file())
    assert b"runner-canary-pw-9911" not in ledger and b"testing-secret-key" not in ledger


def test_sql_check_failure_fails_the_host_and_names_it(
    estate: dict[str, Any], tmp_path: Path, pg_cluster: dict[str, str]
) -> None:
    plan = _plan(
        tmp_path,
        estate["endpoint"],
        estate["bucket"],
        pg_cluster,
        estate["data"],
        sql_checks=[{"name": "row count", "query": "select count(*) from t", "expect": 11}],
    )
    ctx = _ctx(tmp_path, plan, ["h1", "h2"])
    kind = BackupRunner()
    kind.before(ctx)
    [res] = kind.run_batch(ctx, ["h1"])
    assert res.status == "failed"
    assert "SQL check 'row count' returned '10', expected = '11'" in res.message
    assert BackupStore.for_run(ctx).status("nightly")["last_restore_test"]["ok"] is False


def test_every_nth_run_and_forced(estate: dict[str, Any], tmp_path: Path, pg_cluster: dict[str, str]) -> None:
    plan = _plan(tmp_path, estate["endpoint"], estate["bucket"], pg_cluster, estate["data"], every=2)
    del plan["what"]["postgres"]
    del plan["verification"]["sql_checks"]
    due = []
    for forced in (False, False, False, True):
        ctx = _ctx(tmp_path, plan, ["h1"], restore_test=forced)
        kind = BackupRunner()
        kind.before(ctx)
        [res] = kind.run_batch(ctx, ["h1"])
        assert res.status == "changed", res.message
        due.append("restore_tests" in res.data)
        kind.after(ctx, [res])
    assert due == [True, False, True, True]


def test_unknown_plan_and_bad_password_file(tmp_path: Path, estate: dict[str, Any], pg_cluster: dict[str, str]) -> None:
    plan = _plan(tmp_path, estate["endpoint"], estate["bucket"], pg_cluster, estate["data"])
    plan["where"]["restic"]["password_file"] = "missing.pass"  # noqa: S105
    ctx = _ctx(tmp_path, plan, ["h1"])
    with pytest.raises(CatalogueError, match=r"backup/p.yml: plans.main.where.restic.password_file: cannot read"):
        BackupRunner().before(ctx)


def test_manifest_kept_in_repository_verifies_from_another_state_folder(
    estate: dict[str, Any], tmp_path: Path, pg_cluster: dict[str, str]
) -> None:
    plan = _plan(tmp_path, estate["endpoint"], estate["bucket"], pg_cluster, estate["data"], every=0)
    del plan["what"]["postgres"]
    del plan["verification"]["sql_checks"]
    first = _ctx(tmp_path, plan, ["h1", "h2"])
    kind = BackupRunner()
    kind.before(first)
    [res] = kind.run_batch(first, ["h1"])
    assert res.status == "changed" and "restore_tests" not in res.data
    other = _ctx(tmp_path, plan, ["h1", "h2"], state_name="other-runner", restore_test=True)
    kind = BackupRunner()
    kind.before(other)
    [res] = kind.run_batch(other, ["h1"])
    assert res.status == "changed", res.message
    [test] = res.data["restore_tests"]
    assert test["ok"] and test["checks"][0]["name"] == "manifest" and test["checks"][0]["files"] == 2
