"""An AWS error while a restore test waits (throttling, a volume deleted under it) ends that restore test
with a message in its report and the temporary resource deleted; it never escapes as a raw botocore error.
EC2/RDS are scripted stand-ins here: moto never refuses a describe call halfway through a wait."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.exceptions
import pytest

from runner.adapters import aws as awsmod
from runner.errors import AdapterError
from runner.kinds.backup.rds import rds_snapshot
from runner.kinds.backup.snapshots import ebs_restore_test


def _refused(op: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": "RequestLimitExceeded", "Message": "slow down"}}, op)


class RefusingEc2:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def create_volume(self, **_: Any) -> dict[str, Any]:
        return {"VolumeId": "vol-temp"}

    def describe_volumes(self, **_: Any) -> dict[str, Any]:
        raise _refused("DescribeVolumes")

    def delete_volume(self, VolumeId: str) -> None:  # noqa: N803 - boto3's name
        self.deleted.append(VolumeId)


class RefusingRds:
    def create_db_snapshot(self, **_: Any) -> dict[str, Any]:
        return {"DBSnapshot": {"DBSnapshotIdentifier": "snap"}}

    def describe_db_snapshots(self, **_: Any) -> dict[str, Any]:
        raise _refused("DescribeDBSnapshots")


@pytest.fixture(autouse=True)
def _fast_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(awsmod, "POLL", 0.01)


def test_ebs_restore_wait_error_is_reported_and_cleaned_up() -> None:
    ec2 = RefusingEc2()
    snapshot = {"SnapshotId": "snap-1", "StartTime": datetime(2026, 11, 1, tzinfo=UTC), "Tags": []}
    volume = {"VolumeId": "vol-1", "AvailabilityZone": "eu-west-1a", "Size": 8}
    report = ebs_restore_test(ec2, snapshot, volume, {}, timeout=1)
    assert "AWS describe_volumes" in report.error and "RequestLimitExceeded" in report.error
    assert ec2.deleted == ["vol-temp"] and report.cleaned


def test_rds_snapshot_wait_error_is_an_adapter_error() -> None:
    with pytest.raises(AdapterError, match="AWS describe_db_snapshots.*RequestLimitExceeded"):
        rds_snapshot(RefusingRds(), "db1", "item", {}, timeout=1)
