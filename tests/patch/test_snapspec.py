"""Pre-patch EBS snapshots, the pure parts: settings, host -> instance id, volumes, tags, what a prune deletes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from runner.adapters.ebs import beyond_keep
from runner.kinds.patch.snapspec import (
    SnapshotSpec,
    Volume,
    attached_volumes,
    instance_ids,
    selector_tags,
    snapshot_tags,
)

I1, I2, I3 = "i-0123456789abcdef0", "i-0fedcba9876543210", "i-1a2b3c4d"


def test_spec_defaults_and_overrides() -> None:
    assert SnapshotSpec.from_settings({}) == SnapshotSpec(region=None, instance_id_var="instance_id",
                                                          keep=None, timeout=600.0)
    spec = SnapshotSpec.from_settings({"region": "eu-west-1", "instance_id_var": "ec2_id", "keep": 3,
                                       "timeout": "90s"})
    assert spec == SnapshotSpec(region="eu-west-1", instance_id_var="ec2_id", keep=3, timeout=90.0)


def test_instance_id_from_the_hostvar() -> None:
    found, failed = instance_ids(["web1", "web2"], "instance_id",
                                 {"web1": {"instance_id": I1}, "web2": {"instance_id": f" {I3}\n"}}, from_aws=())
    assert found == {"web1": I1, "web2": I3} and failed == {}


def test_a_host_without_the_hostvar_fails_with_its_name() -> None:
    found, failed = instance_ids(["web1", "db1"], "ec2_id", {"web1": {"ec2_id": I1}, "db1": {"instance_id": I2}},
                                 from_aws=())
    assert found == {"web1": I1}
    assert failed == {"db1": "no EC2 instance id (hostvar ec2_id)"}


def test_empty_or_malformed_values_are_no_instance_id() -> None:
    found, failed = instance_ids(["a", "b", "c"], "instance_id",
                                 {"a": {"instance_id": ""}, "b": {"instance_id": "web1"}, "c": {"instance_id": None}},
                                 from_aws=())
    assert found == {}
    assert failed == {"a": "no EC2 instance id (hostvar instance_id)",
                      "b": "hostvar instance_id is 'web1', not an EC2 instance id (i-...)",
                      "c": "no EC2 instance id (hostvar instance_id)"}


def test_hosts_resolved_from_aws_tags_are_their_instance() -> None:
    # The engine names a host resolved from AWS tags by its instance id; a hostvar cannot override it.
    found, failed = instance_ids([I1, "web1"], "instance_id", {I1: {"instance_id": I2}, "web1": {}}, from_aws={I1})
    assert found == {I1: I1}
    assert failed == {"web1": "no EC2 instance id (hostvar instance_id)"}


def _vol(vid: str, *attachments: tuple[str, str, str]) -> dict[str, Any]:
    return {"VolumeId": vid, "Attachments": [{"InstanceId": i, "Device": d, "State": s} for i, d, s in attachments]}


def test_attached_volumes_grouped_by_instance_and_device() -> None:
    described = [
        _vol("vol-b", (I1, "/dev/sdf", "attached")),
        _vol("vol-a", (I1, "/dev/sda1", "attached")),
        _vol("vol-c", (I2, "/dev/sda1", "attaching")),
        _vol("vol-d", (I2, "/dev/sdg", "detached")),
        _vol("vol-e", (I3, "/dev/sda1", "attached")),  # not asked for
        _vol("vol-f"),
    ]
    assert attached_volumes(described, {I1, I2}) == {
        I1: [Volume(volume_id="vol-a", device="/dev/sda1"), Volume(volume_id="vol-b", device="/dev/sdf")],
        I2: [Volume(volume_id="vol-c", device="/dev/sda1")],
    }


def test_snapshot_tags_name_item_run_host_purpose_instance_and_device() -> None:
    tags = snapshot_tags(item_id="patch-web", run_id="r-42", host="web1", instance_id=I1,
                         volume=Volume(volume_id="vol-a", device="/dev/sda1"))
    assert tags == {"maintctl:item": "patch-web", "maintctl:run": "r-42", "maintctl:host": "web1",
                    "maintctl:purpose": "pre-patch", "maintctl:instance": I1, "maintctl:device": "/dev/sda1"}
    # keep counts this item's pre-patch snapshots, whatever run or host made them
    assert selector_tags("patch-web") == {"maintctl:item": "patch-web", "maintctl:purpose": "pre-patch"}
    assert set(selector_tags("patch-web").items()) < set(tags.items())


T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _snap(sid: str, minutes: int) -> dict[str, Any]:
    return {"SnapshotId": sid, "StartTime": T0 + timedelta(minutes=minutes)}


def test_prune_selection_keeps_the_newest() -> None:
    snaps = [_snap("s1", 1), _snap("s3", 3), _snap("s2", 2), _snap("s4", 4)]
    assert beyond_keep(snaps, 2) == ["s2", "s1"]
    assert beyond_keep(snaps, 4) == []
    assert beyond_keep(snaps, 0) == ["s3", "s2", "s1"]  # the newest always stays


def test_prune_selection_never_deletes_the_snapshot_just_taken() -> None:
    # Start times reported in whole seconds tie; the one this run took must be the one kept.
    snaps = [_snap("old", 0), _snap("other", 5), _snap("new", 5)]
    assert beyond_keep(snaps, 1, taken=["new"]) == ["other", "old"]
    assert beyond_keep(snaps, 2, taken=["new"]) == ["old"]
