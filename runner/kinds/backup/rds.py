"""RDS DB snapshots and their proof: restore to a temporary instance, check it, delete it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from runner.adapters.aws import aws_call, tag_dict, tag_list, wait_for
from runner.errors import AdapterError
from runner.kinds.backup.snapshots import delete_temp, expect, token
from runner.kinds.backup.verify import RestoreReport


def rds_instance(rds: Any, instance_id: str) -> dict[str, Any]:
    out = aws_call(rds.describe_db_instances, "describe_db_instances", DBInstanceIdentifier=instance_id)
    return dict(out["DBInstances"][0])


def rds_snapshot(
    rds: Any, instance_id: str, item: str, tags: Mapping[str, str], timeout: float = 600
) -> dict[str, Any]:
    """Take a manual DB snapshot, tagged, and wait until it is available."""
    name = f"maintctl-{item}-{datetime.now(UTC):%Y%m%d%H%M%S}-{token()}".replace("_", "-").lower()
    aws_call(
        rds.create_db_snapshot,
        "create_db_snapshot",
        DBSnapshotIdentifier=name,
        DBInstanceIdentifier=instance_id,
        Tags=tag_list(tags),
    )

    def described() -> dict[str, Any]:
        out = aws_call(rds.describe_db_snapshots, "describe_db_snapshots", DBSnapshotIdentifier=name)
        return dict(out["DBSnapshots"][0])

    wait_for(f"RDS snapshot {name}", lambda: str(described()["Status"]), "available", timeout)
    return described()


def rds_restore_test(
    rds: Any, snapshot: Mapping[str, Any], source: Mapping[str, Any], want_tags: Mapping[str, str], timeout: float = 900
) -> RestoreReport:
    """Restore ``snapshot`` into a temporary instance, compare engine, storage and tags, delete it."""
    sid = snapshot["DBSnapshotIdentifier"]
    report = RestoreReport(kind="rds", host="aws", snapshot_id=sid)
    taken = snapshot.get("SnapshotCreateTime") or datetime.now(UTC)
    report.snapshot_time = taken.isoformat()
    temp = f"maintctl-verify-{token()}"
    created = False
    try:
        started, t0 = datetime.now(UTC), time.monotonic()
        aws_call(
            rds.restore_db_instance_from_db_snapshot,
            "restore_db_instance_from_db_snapshot",
            DBInstanceIdentifier=temp,
            DBSnapshotIdentifier=sid,
            DBInstanceClass=source.get("DBInstanceClass", "db.t3.micro"),
            Tags=tag_list({"maintctl:scratch": "true"}),
        )
        created = True

        def state() -> str:
            return str(rds_instance(rds, temp)["DBInstanceStatus"])

        wait_for(f"temporary DB instance {temp}", state, "available", timeout)
        report.rto_seconds = round(time.monotonic() - t0, 3)
        report.rpo_seconds = round((started - taken).total_seconds(), 3)
        got = rds_instance(rds, temp)
        expect(report, "instance status", got["DBInstanceStatus"], "available")
        expect(report, "engine", got.get("Engine"), source.get("Engine"))
        expect(report, "allocated storage", got.get("AllocatedStorage"), source.get("AllocatedStorage"))
        have = tag_dict(rds.list_tags_for_resource(ResourceName=snapshot["DBSnapshotArn"])["TagList"])
        for k, v in want_tags.items():
            expect(report, f"snapshot tag {k}", have.get(k), v)
    except AdapterError as exc:
        report.error = str(exc)
    finally:
        report.scratch = temp
        report.cleaned = (
            delete_temp(
                lambda: rds.delete_db_instance(DBInstanceIdentifier=temp, SkipFinalSnapshot=True),
                report,
                f"DB instance {temp}",
            )
            if created
            else True
        )
    return report


def prune_rds(rds: Any, instance_id: str, tags: Mapping[str, str], keep: int) -> list[str]:
    """Delete this plan's manual snapshots of ``instance_id`` beyond the newest ``keep``."""
    out = aws_call(
        rds.describe_db_snapshots, "describe_db_snapshots", DBInstanceIdentifier=instance_id, SnapshotType="manual"
    )["DBSnapshots"]
    mine = []
    for s in out:
        have = tag_dict(rds.list_tags_for_resource(ResourceName=s["DBSnapshotArn"])["TagList"])
        if all(have.get(k) == v for k, v in tags.items() if k != "maintctl:run"):
            mine.append(s)
    old = sorted(mine, key=lambda s: s.get("SnapshotCreateTime") or datetime.min.replace(tzinfo=UTC), reverse=True)[
        max(keep, 1) :
    ]
    for s in old:
        aws_call(rds.delete_db_snapshot, "delete_db_snapshot", DBSnapshotIdentifier=s["DBSnapshotIdentifier"])
    return [s["DBSnapshotIdentifier"] for s in old]
