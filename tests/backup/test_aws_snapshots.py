"""EBS and RDS snapshot backups with temporary-restore verification, against a moto server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.adapters.aws import AwsSessions
from runner.adapters.ebs import ebs_snapshot, prune_ebs
from runner.errors import RunFailed
from runner.kinds.backup.rds import prune_rds, rds_instance, rds_restore_test, rds_snapshot
from runner.kinds.backup.snapshots import ebs_restore_test, ebs_volumes

TAGS = {"maintctl:item": "vol-backup", "maintctl:plan": "data"}


@pytest.fixture()
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> AwsSessions:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return AwsSessions.from_settings({"region": "us-east-1", "endpoint_url": moto_endpoint})


def _volume(ec2: Any, name: str) -> str:
    v = ec2.create_volume(
        AvailabilityZone="us-east-1a",
        Size=8,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": name}]}],
    )
    return str(v["VolumeId"])


def test_ebs_snapshot_restore_verify_and_prune(aws: AwsSessions) -> None:
    ec2 = aws.client("ec2")
    vid = _volume(ec2, "data-vol")
    [vol] = ebs_volumes(ec2, {"tags": {"Name": "data-vol"}})
    assert vol["VolumeId"] == vid
    snaps = [ebs_snapshot(ec2, vol, TAGS) for _ in range(3)]
    assert {t["Key"]: t["Value"] for t in snaps[-1]["Tags"]} == TAGS
    before = {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
    rep = ebs_restore_test(ec2, snaps[-1], vol, TAGS)
    assert rep.ok, rep.to_dict()
    assert rep.scratch.startswith("vol-") and rep.rto_seconds is not None
    assert {c["name"] for c in rep.checks} >= {"volume state", "volume size (GiB)", "snapshot tag maintctl:item"}
    assert {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]} == before  # temporary volume gone
    removed = prune_ebs(ec2, TAGS, vid, keep=1)
    assert len(removed) == 2 and set(removed) < {s["SnapshotId"] for s in snaps}
    left = ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [vid]}])["Snapshots"]
    assert len(left) == 1


def test_ebs_verification_names_a_wrong_tag(aws: AwsSessions) -> None:
    ec2 = aws.client("ec2")
    _volume(ec2, "tagged")
    [vol] = ebs_volumes(ec2, {"tags": {"Name": "tagged"}})
    snap = ebs_snapshot(ec2, vol, TAGS)
    rep = ebs_restore_test(ec2, snap, vol, {**TAGS, "maintctl:plan": "other"})
    assert not rep.ok and rep.cleaned
    assert rep.differences == ["snapshot tag maintctl:plan: got 'data', expected 'other'"]


def test_rds_snapshot_restore_verify_and_delete(aws: AwsSessions) -> None:
    rds = aws.client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="appdb-prod",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="app",
        MasterUserPassword="not-a-secret-1",
    )
    src = rds_instance(rds, "appdb-prod")
    snap = rds_snapshot(rds, "appdb-prod", "db_backup", TAGS)
    rep = rds_restore_test(rds, snap, src, TAGS)
    assert rep.ok, rep.to_dict()
    assert rep.scratch.startswith("maintctl-verify-")
    names = {i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]}
    assert rep.scratch not in names and "appdb-prod" in names
    rds_snapshot(rds, "appdb-prod", "db_backup", TAGS)
    assert prune_rds(rds, "appdb-prod", TAGS, keep=1) == [snap["DBSnapshotIdentifier"]]


def test_runner_fails_the_run_when_an_objective_is_missed(aws: AwsSessions, moto_endpoint: str,
                                                          tmp_path: Path) -> None:  # fmt: skip
    from datetime import timedelta

    from runner.catalogue.model import BackupPlan, Catalogue, Inventory, Item, Location, Settings, Targets
    from runner.engine.kind import RunContext
    from runner.evidence.recorder import open_recorder
    from runner.kinds.backup.runner import BackupRunner

    ec2 = aws.client("ec2")
    vid = _volume(ec2, "objective")
    plan = {"what": {"ebs": {"volume_id": vid}}, "where": {"snapshots": {}}, "retention": {"keep_last": 1},
            "verification": {"every": 1, "max_restore_time": "0s"}}  # fmt: skip
    item = Item(id="vol", kind="backup", targets=Targets(hosts=("h",)), window="w", expected_duration=timedelta(1),
                settings={"plan": "p"}, location=Location(file="items.yml"))  # fmt: skip
    cat = Catalogue(root=str(tmp_path), windows={}, freezes=(), items=(item,),
                    plans={"p": BackupPlan(name="p", settings=plan, location=Location(file="backup/p.yml"))},
                    inventory=Inventory(groups={"all": ("h",)}),
                    settings=Settings(aws={"region": "us-east-1", "endpoint_url": moto_endpoint}))  # fmt: skip
    rec = open_recorder(tmp_path)
    bundle = rec.open_bundle(run_id="r", item_id="vol", occurrence="o", asked={})
    ctx = RunContext(run_id="r", item=item, catalogue=cat, estate_root=str(tmp_path), state_dir=str(tmp_path / "s"),
                     occurrence="o", bundle_id=bundle, evidence=rec, hosts=["h"], deadline=None)  # fmt: skip
    kind = BackupRunner()
    kind.before(ctx)
    results = kind.run_batch(ctx, ["h"])
    assert results[0].status == "skipped"
    with pytest.raises(RunFailed, match=r"AWS snapshot verification failed: ebs snap-\w+: restore took [0-9.]+s, "
                                        r"over max_restore_time 0s"):  # fmt: skip
        kind.after(ctx, results)
    left = ec2.describe_volumes(Filters=[{"Name": "tag:maintctl:scratch", "Values": ["true"]}])["Volumes"]
    assert left == []
