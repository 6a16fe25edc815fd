"""Waiting for a batch's pre-patch snapshots: the states moto never shows (a snapshot that stays pending or
ends in error, a describe call refused). EC2 is a scripted stand-in here; the lab tests use moto."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.exceptions
import pytest

from runner.adapters import aws as awsmod
from runner.kinds.patch.awssnap import _wait


class ScriptedEc2:
    """``describe_snapshots`` answers each snapshot with the next state of its script (the last repeats)."""

    def __init__(self, script: dict[str, list[str]], refuse: bool = False) -> None:
        self.script = script
        self.refuse = refuse
        self.calls: list[list[str]] = []

    def describe_snapshots(self, SnapshotIds: list[str]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.calls.append(list(SnapshotIds))
        if self.refuse:
            raise botocore.exceptions.ClientError({"Error": {"Code": "RequestLimitExceeded", "Message": "slow down"}},
                                                  "DescribeSnapshots")
        out = []
        for sid in SnapshotIds:
            states = self.script[sid]
            state = states.pop(0) if len(states) > 1 else states[0]
            out.append({"SnapshotId": sid, "State": state, "StartTime": datetime(2026, 3, 1, tzinfo=UTC),
                        **({"StateMessage": "volume is busy"} if state == "error" else {})})
        return {"Snapshots": out}


@pytest.fixture(autouse=True)
def _fast_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(awsmod, "POLL", 0.01)


def _details(**hosts: list[str]) -> dict[str, dict[str, Any]]:
    return {h: {"instance_id": "i-0123456789abcdef0", "snapshots": [
        {"snapshot_id": sid, "volume_id": f"vol-{sid}", "device": "/dev/sda1", "state": "pending"} for sid in sids]}
        for h, sids in hosts.items()}


def test_all_completed_in_one_call_per_poll() -> None:
    ec2 = ScriptedEc2({"a": ["pending", "completed"], "b": ["completed"], "c": ["pending", "pending", "completed"]})
    details = _details(web1=["a", "b"], web2=["c"])
    failed: dict[str, str] = {}
    _wait(ec2, ["web1", "web2"], details, failed, timeout=5)
    assert failed == {}
    assert ec2.calls == [["a", "b", "c"], ["a", "c"], ["c"]]  # the batch polled together, done ones dropped
    assert [s["state"] for h in details for s in details[h]["snapshots"]] == ["completed"] * 3


def test_a_snapshot_in_error_fails_only_its_host() -> None:
    ec2 = ScriptedEc2({"a": ["pending", "error"], "c": ["pending", "pending", "completed"]})
    details = _details(web1=["a"], web2=["c"])
    failed: dict[str, str] = {}
    _wait(ec2, ["web1", "web2"], details, failed, timeout=5)
    assert failed == {"web1": "EBS snapshot a of vol-a failed: volume is busy"}
    assert details["web2"]["snapshots"][0]["state"] == "completed"


def test_a_snapshot_still_pending_at_the_timeout_fails_its_host() -> None:
    ec2 = ScriptedEc2({"a": ["completed"], "c": ["pending"]})
    details = _details(web1=["a"], web2=["c"])
    failed: dict[str, str] = {}
    _wait(ec2, ["web1", "web2"], details, failed, timeout=0.2)
    assert failed == {"web2": "EBS snapshot c of vol-c is pending, not completed after 0.2s "
                              "(pre_patch.aws_snapshot.timeout)"}


def test_a_refused_describe_fails_every_host_still_waiting() -> None:
    ec2 = ScriptedEc2({}, refuse=True)
    details = _details(web1=["a"], web2=["c"])
    failed: dict[str, str] = {}
    _wait(ec2, ["web1", "web2"], details, failed, timeout=5)
    assert set(failed) == {"web1", "web2"}
    assert failed["web1"].startswith("AWS describe_snapshots: An error occurred (RequestLimitExceeded)")


def test_a_cancelled_run_stops_waiting() -> None:
    ec2 = ScriptedEc2({"a": ["completed"], "c": ["pending"]})
    details = _details(web1=["a"], web2=["c"])
    failed: dict[str, str] = {}
    polls = iter([False, True])
    _wait(ec2, ["web1", "web2"], details, failed, timeout=60, cancel=lambda: next(polls))
    assert failed == {"web2": "the run was cancelled while its pre-patch snapshots were pending"}
    assert len(ec2.calls) == 1
