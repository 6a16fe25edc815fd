"""AWS-native backups: EBS volume snapshots and RDS DB snapshots, proven by a temporary restore.

Every temporary resource (volume, DB instance) is deleted in a ``finally`` block; the report says
whether that worked. Clients come from the engine's session factory (``runner.adapters.aws``); taking
and pruning EBS snapshots is ``runner.adapters.ebs`` (the patch kind's pre-patch snapshots use it too).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from runner.adapters.aws import aws_call, tag_dict, tag_list, wait_for
from runner.errors import AdapterError
from runner.kinds.backup.verify import RestoreReport


def ebs_volumes(ec2: Any, spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Volumes named by ``volume_id`` or selected by every tag in ``tags``."""
    if spec.get("volume_id"):
        out = aws_call(ec2.describe_volumes, "describe_volumes", VolumeIds=[str(spec["volume_id"])])
    else:
        filters = [{"Name": f"tag:{k}", "Values": [str(v)]} for k, v in (spec.get("tags") or {}).items()]
        if not filters:
            raise AdapterError("an ebs plan names volume_id or tags")
        out = aws_call(ec2.describe_volumes, "describe_volumes", Filters=filters)
    vols: list[dict[str, Any]] = out["Volumes"]
    if not vols:
        raise AdapterError(f"no EBS volume matches {dict(spec)}")
    return vols


def ebs_restore_test(
    ec2: Any, snapshot: Mapping[str, Any], volume: Mapping[str, Any], want_tags: Mapping[str, str], timeout: float = 300
) -> RestoreReport:
    """Make a temporary volume from ``snapshot``, check state, size and tags, then delete it."""
    report = RestoreReport(kind="ebs", host="aws", snapshot_id=snapshot["SnapshotId"])
    taken = snapshot["StartTime"]
    report.snapshot_time = taken.isoformat()
    vid = ""
    try:
        started, t0 = datetime.now(UTC), time.monotonic()
        vol = aws_call(
            ec2.create_volume,
            "create_volume",
            SnapshotId=snapshot["SnapshotId"],
            AvailabilityZone=volume["AvailabilityZone"],
            TagSpecifications=[{"ResourceType": "volume", "Tags": tag_list({"maintctl:scratch": "true"})}],
        )
        vid = report.scratch = vol["VolumeId"]

        def described() -> dict[str, Any]:
            return dict(aws_call(ec2.describe_volumes, "describe_volumes", VolumeIds=[vid])["Volumes"][0])

        wait_for(f"temporary volume {vid}", lambda: str(described()["State"]), "available", timeout)
        report.rto_seconds = round(time.monotonic() - t0, 3)
        report.rpo_seconds = round((started - taken).total_seconds(), 3)
        got = described()
        expect(report, "volume state", got["State"], "available")
        expect(report, "volume size (GiB)", got["Size"], volume["Size"])
        expect(report, "restored from", got.get("SnapshotId"), snapshot["SnapshotId"])
        have = tag_dict(snapshot.get("Tags"))
        for k, v in want_tags.items():
            expect(report, f"snapshot tag {k}", have.get(k), v)
    except AdapterError as exc:
        report.error = str(exc)
    finally:
        report.cleaned = delete_temp(lambda: ec2.delete_volume(VolumeId=vid), report, f"volume {vid}") if vid else True
    return report


def expect(report: RestoreReport, name: str, got: Any, want: Any) -> None:
    ok = got == want
    report.checks.append({"name": name, "ok": ok, "got": got, "expected": want})
    if not ok:
        report.differences.append(f"{name}: got {got!r}, expected {want!r}")


def delete_temp(call: Callable[[], Any], report: RestoreReport, what: str) -> bool:
    import botocore.exceptions

    try:
        call()
        return True
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        report.differences.append(f"temporary {what} left behind: {exc}")
        return False


def token() -> str:
    return secrets.token_hex(4)
