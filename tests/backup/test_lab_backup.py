# ruff: noqa: S608 - fixed SQL run on the lab database, no input
"""End to end in the lab: /srv/app on web1 and appdb on db1 into restic on S3 (the lab's moto),
restore-tested on web2 and in a scratch database on db1; a damaged pack and a failing SQL check are
caught and named; EBS and RDS snapshots against moto."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from runner.catalogue.model import BackupPlan, Catalogue, Inventory, Item, Location, Settings, Targets
from runner.engine.kind import HostResult, RunContext
from runner.kinds.backup.runner import BackupRunner

pytestmark = pytest.mark.lab


@pytest.fixture()
def env(lab_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    import boto3

    monkeypatch.setenv("MAINTCTL_KNOWN_HOSTS", str(lab_env.known_hosts))
    monkeypatch.setenv("LAB_RESTIC_PW", "lab-canary-restic-5150")
    bucket = f"lab-backup-{os.urandom(4).hex()}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    endpoint = lab_env.info["aws"]["endpoint_url"]
    return {"lab": lab_env, "bucket": bucket, "repo": f"s3:{endpoint}/{bucket}"}


def _catalogue(env: dict[str, Any], tmp: Path, plans: dict[str, dict[str, Any]], items: list[Item]) -> Catalogue:
    lab = env["lab"]
    hostvars = {h: {"ansible_host": lab.address(h), "ansible_user": "root",
                    "ansible_ssh_private_key_file": str(lab.ssh_key)} for h in lab.hosts}  # fmt: skip
    return Catalogue(
        root=str(tmp), windows={}, freezes=(), items=tuple(items),
        plans={n: BackupPlan(name=n, settings=s, location=Location(file=f"backup/{n}.yml")) for n, s in plans.items()},
        inventory=Inventory(groups={"web": ("web1", "web2"), "db": ("db1",)}, hostvars=hostvars),
        settings=Settings(aws={"region": "us-east-1"}),
    )  # fmt: skip


def _item(item_id: str, plan: str, hosts: tuple[str, ...]) -> Item:
    return Item(id=item_id, kind="backup", targets=Targets(hosts=hosts), window="nightly",
                expected_duration=timedelta(minutes=10), settings={"plan": plan},
                location=Location(file="maintenance/backup.yml", line=1))  # fmt: skip


def _run(
    env: dict[str, Any], tmp: Path, plans: dict[str, Any], item: Item, hosts: list[str]
) -> tuple[list[HostResult], dict[str, Any]]:
    from runner.evidence.recorder import open_recorder

    cat = _catalogue(env, tmp, plans, [item])
    rec = open_recorder(tmp)
    bundle = rec.open_bundle(run_id=f"run-{item.id}", item_id=item.id, occurrence="lab", asked={})
    ctx = RunContext(run_id=f"run-{item.id}", item=item, catalogue=cat, estate_root=str(tmp),
                     state_dir=str(tmp / ".maintctl"), occurrence="lab", bundle_id=bundle, evidence=rec,
                     hosts=hosts, deadline=None, options={"inventory": [str(env["lab"].inventory)]})  # fmt: skip
    kind = BackupRunner()
    kind.before(ctx)
    results = kind.run_batch(ctx, hosts)
    summary = kind.after(ctx, results)
    rec.close_bundle(bundle, outcome="failed" if any(r.failed for r in results) else "succeeded", summary=summary)
    return results, summary


def _files_plan(env: dict[str, Any], **verification: Any) -> dict[str, Any]:
    return {
        "what": {"paths": ["/srv/app"]},
        "where": {"restic": {"repository": env["repo"], "password_secret": "LAB_RESTIC_PW"}},
        "retention": {"keep_daily": 7},
        "verification": {"every": 1, "restore_to": {"host": "web2", "path": "/var/tmp"}, **verification},
    }


def _db_plan(env: dict[str, Any], expect_rows: int) -> dict[str, Any]:
    return {
        "what": {"postgres": {"databases": ["appdb"], "run_as": "postgres"}},
        "where": {"restic": {"repository": env["repo"], "password_secret": "LAB_RESTIC_PW"}},
        "retention": {"keep_daily": 7},
        "verification": {
            "every": 1,
            "sql_checks": [{"name": "items rows", "query": "select count(*) from items", "expect": expect_rows}],
        },
    }


def test_files_on_web1_restored_on_web2_and_db_on_db1(env: dict[str, Any], tmp_path: Path) -> None:
    lab = env["lab"]
    rows = lab.info["postgres"]["rows"]
    results, _ = _run(env, tmp_path, {"files": _files_plan(env, read_data_rotate=2)},
                      _item("app-files", "files", ("web1",)), ["web1"])  # fmt: skip
    [web1] = results
    assert web1.status == "changed", web1.message
    [test] = web1.data["restore_tests"]
    assert test["host"] == "web2" and test["ok"] and test["checks"][0]["files"] > 0
    assert test["rto_seconds"] is not None and test["rpo_seconds"] >= 0
    assert lab.ssh("web2", "ls -d /var/tmp/maintctl-restore-* 2>/dev/null | wc -l").stdout.strip() == "0"

    results, _ = _run(env, tmp_path, {"db": _db_plan(env, rows)}, _item("app-db", "db", ("db1",)), ["db1"])
    [db1] = results
    assert db1.status == "changed", db1.message
    assert db1.data["restore_tests"][0]["checks"][0] == {"name": "items rows", "ok": True, "got": str(rows),
                                                         "expected": f"= '{rows}'"}  # fmt: skip
    left = lab.ssh("db1", "runuser -u postgres -- psql -At -c \"select count(*) from pg_database "
                   "where datname like 'maintctl_verify_%'\"").stdout.strip()  # fmt: skip
    assert left == "0"


def test_damaged_pack_is_named(env: dict[str, Any], tmp_path: Path) -> None:
    import boto3

    results, _ = _run(env, tmp_path, {"files": _files_plan(env)}, _item("app-files", "files", ("web1",)), ["web1"])
    assert results[0].status == "changed", results[0].message
    s3 = boto3.client("s3")
    packs = [o for o in s3.list_objects_v2(Bucket=env["bucket"], Prefix="data/")["Contents"]]
    victim = max(packs, key=lambda o: o["Size"])["Key"]
    body = bytearray(s3.get_object(Bucket=env["bucket"], Key=victim)["Body"].read())
    body[len(body) // 2] ^= 0xFF
    s3.put_object(Bucket=env["bucket"], Key=victim, Body=bytes(body))
    results, _ = _run(env, tmp_path, {"files": _files_plan(env, read_data_rotate=1)},
                      _item("app-files", "files", ("web1",)), ["web1"])  # fmt: skip
    [web1] = results
    assert web1.status == "failed"
    pack_id = victim.rsplit("/", 1)[1]
    assert f"damaged pack {pack_id}" in web1.message
    assert pack_id in web1.data["repository_check"]["checks"][0]["packs"]


def test_changed_data_fails_the_named_sql_check(env: dict[str, Any], tmp_path: Path) -> None:
    lab = env["lab"]
    rows = lab.info["postgres"]["rows"]
    psql = "runuser -u postgres -- psql -At appdb -c "
    lab.ssh("db1", psql + "\"create table maintctl_probe as select * from items limit 1; "
            "insert into items select * from items where false; delete from items where ctid in "
            "(select ctid from items limit 1)\"")  # fmt: skip
    try:
        results, _ = _run(env, tmp_path, {"db": _db_plan(env, rows)}, _item("app-db", "db", ("db1",)), ["db1"])
    finally:
        lab.ssh("db1", psql + '"insert into items select * from maintctl_probe; drop table maintctl_probe"')
    [db1] = results
    assert db1.status == "failed"
    assert f"SQL check 'items rows' returned '{rows - 1}', expected = '{rows}'" in db1.message
    assert lab.ssh("db1", psql + '"select count(*) from items"').stdout.strip() == str(rows)


def test_ebs_and_rds_snapshot_flow_on_lab_moto(env: dict[str, Any], tmp_path: Path) -> None:
    import boto3

    ec2, rds = boto3.client("ec2"), boto3.client("rds")
    tag = f"lab-{os.urandom(3).hex()}"
    ec2.create_volume(
        AvailabilityZone="us-east-1a",
        Size=4,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "backup", "Value": tag}]}],
    )
    rds.create_db_instance(
        DBInstanceIdentifier=tag,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=10,
        MasterUsername="app",
        MasterUserPassword="lab-only-pw1",
    )  # noqa: S106
    plan = {"what": {"ebs": {"tags": {"backup": tag}}, "rds": {"instances": [tag]}},
            "where": {"snapshots": {"tags": {"team": "sre"}}}, "retention": {"keep_last": 2},
            "verification": {"every": 1}}  # fmt: skip
    item = _item("cloud", "cloud", ("web1",))
    results, summary = _run(env, tmp_path, {"cloud": plan}, item, ["web1"])
    assert results[0].status == "skipped"
    kinds = {r["kind"]: r for r in summary["aws"]}
    assert set(kinds) == {"ebs", "rds"} and all(r["ok"] and r["cleaned"] for r in kinds.values())
    vols = ec2.describe_volumes(Filters=[{"Name": "tag:maintctl:scratch", "Values": ["true"]}])["Volumes"]
    assert vols == []
    insts = [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]
    assert kinds["rds"]["scratch"] not in insts
    ec2.delete_volume(
        VolumeId=ec2.describe_volumes(Filters=[{"Name": "tag:backup", "Values": [tag]}])["Volumes"][0]["VolumeId"]
    )
    rds.delete_db_instance(DBInstanceIdentifier=tag, SkipFinalSnapshot=True)
