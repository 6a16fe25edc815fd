"""The whole-run AWS part of a backup plan: EBS and RDS snapshots, retention, restore tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from runner.adapters.ebs import ebs_snapshot, prune_ebs
from runner.engine.kind import RunContext
from runner.errors import AdapterError
from runner.kinds.backup import rds as rdsmod
from runner.kinds.backup import snapshots as ebsmod
from runner.kinds.backup.hostflow import objectives
from runner.kinds.backup.plans import Plan
from runner.kinds.backup.store import BackupStore
from runner.kinds.backup.verify import RestoreReport


def aws_backups(ctx: RunContext, plan: Plan, *, verify_now: bool, store: BackupStore | None) -> list[RestoreReport]:
    """Snapshot every EBS volume and RDS instance of the plan; restore-test them when due."""
    from runner.engine import tools

    aws = tools.aws(ctx)
    tags = {"maintctl:item": ctx.item.id, "maintctl:plan": plan.name, **plan.snapshot_tags}
    reports: list[RestoreReport] = []
    if plan.ebs:
        ec2 = aws.client("ec2", region=plan.region)
        for vol in _volumes(ec2, plan):
            snap = ebs_snapshot(ec2, vol, tags)
            _recorded(ctx, store, "ebs", vol["VolumeId"], snap["SnapshotId"], plan)
            if verify_now:
                reports.append(_done(ctx, store, ebsmod.ebs_restore_test(ec2, snap, vol, tags), plan))
            prune_ebs(ec2, tags, vol["VolumeId"], plan.keep_count, taken=[snap["SnapshotId"]])
    if plan.rds:
        rds = aws.client("rds", region=plan.region)
        for instance in plan.rds:
            source = rdsmod.rds_instance(rds, instance)
            snap = rdsmod.rds_snapshot(rds, instance, ctx.item.id, tags)
            _recorded(ctx, store, "rds", instance, snap["DBSnapshotIdentifier"], plan)
            if verify_now:
                reports.append(_done(ctx, store, rdsmod.rds_restore_test(rds, snap, source, tags), plan))
            rdsmod.prune_rds(rds, instance, tags, plan.keep_count)
    return reports


def _volumes(ec2: Any, plan: Plan) -> list[dict[str, Any]]:
    ids = plan.ebs.get("volumes") or ([plan.ebs["volume_id"]] if plan.ebs.get("volume_id") else [])
    if ids:
        return [v for vid in ids for v in ebsmod.ebs_volumes(ec2, {"volume_id": vid})]
    if plan.ebs.get("tags"):
        return ebsmod.ebs_volumes(ec2, {"tags": plan.ebs["tags"]})
    raise AdapterError(f"plan {plan.name}: what.ebs names volumes or tags")


def _recorded(ctx: RunContext, store: BackupStore | None, kind: str, source: str, snap: str, plan: Plan) -> None:
    data = {"kind": kind, "source": source, "snapshot_id": snap}
    ctx.evidence.record(ctx.bundle_id, "backup.snapshot", data)
    if store is not None:
        store.record_backup(item=ctx.item.id, host=source, plan=plan.name, snapshot_id=snap,
                            at=datetime.now(UTC).isoformat(timespec="seconds"), ok=True, details=data)  # fmt: skip


def _done(ctx: RunContext, store: BackupStore | None, rep: RestoreReport, plan: Plan) -> RestoreReport:
    objectives(rep, plan)
    ctx.evidence.record(ctx.bundle_id, "backup.restore_test", rep.to_dict())
    if store is not None:
        store.record_restore(item=ctx.item.id, host=rep.snapshot_id, report=rep.to_dict(),
                             at=datetime.now(UTC).isoformat(timespec="seconds"))  # fmt: skip
    return rep
