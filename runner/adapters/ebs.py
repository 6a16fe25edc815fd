"""EBS snapshots through boto3: take, wait until completed, and keep only the newest per volume.

Shared by the backup kind (plans that snapshot volumes) and the patch kind (pre-patch snapshots).
``ec2`` is a client from ``AwsSessions.client("ec2")``. Starting and waiting are separate so a caller
can start every snapshot of a batch first and then wait for all of them against one deadline.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from runner.adapters.aws import aws_call, tag_list, wait_for


def start_snapshot(ec2: Any, volume_id: str, tags: Mapping[str, str], description: str) -> str:
    """Start a tagged snapshot of ``volume_id``; return its id (it is usually still ``pending``)."""
    snap = aws_call(
        ec2.create_snapshot,
        "create_snapshot",
        VolumeId=volume_id,
        Description=description,
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": tag_list(tags)}],
    )
    return str(snap["SnapshotId"])


def describe_snapshot(ec2: Any, snapshot_id: str) -> dict[str, Any]:
    out = aws_call(ec2.describe_snapshots, "describe_snapshots", SnapshotIds=[snapshot_id])
    return dict(out["Snapshots"][0])


def wait_snapshot(ec2: Any, snapshot_id: str, timeout: float) -> dict[str, Any]:
    """Wait until the snapshot is ``completed`` and return its description; ``AdapterError`` otherwise."""

    def state() -> str:
        return str(describe_snapshot(ec2, snapshot_id)["State"])

    wait_for(f"EBS snapshot {snapshot_id}", state, "completed", timeout)
    return describe_snapshot(ec2, snapshot_id)


def ebs_snapshot(
    ec2: Any, volume: Mapping[str, Any], tags: Mapping[str, str], timeout: float = 300, description: str = ""
) -> dict[str, Any]:
    """Snapshot one volume, tagged, and wait until it is completed."""
    vid = str(volume["VolumeId"])
    sid = start_snapshot(ec2, vid, tags, description or f"maintctl backup of {vid}")
    return wait_snapshot(ec2, sid, timeout)


def beyond_keep(snapshots: Sequence[Mapping[str, Any]], keep: int, taken: Collection[str] = ()) -> list[str]:
    """Ids of the snapshots to delete so that the newest ``keep`` (at least 1) remain.

    Snapshots in ``taken`` (just made by this run) count as the newest whatever their ``StartTime``:
    start times can tie (some endpoints report whole seconds), and a prune must never delete the
    snapshot that makes the current run safe.
    """
    ranked = sorted(snapshots, key=lambda s: (s["SnapshotId"] in taken, s["StartTime"]), reverse=True)
    return [str(s["SnapshotId"]) for s in ranked[max(keep, 1):]]


def prune_ebs(
    ec2: Any, tags: Mapping[str, str], volume_id: str, keep: int, taken: Collection[str] = ()
) -> list[str]:
    """Delete the snapshots of ``volume_id`` carrying every tag in ``tags`` beyond the newest ``keep``.

    ``maintctl:run`` is left out of the selection: it differs for every run by design.
    """
    filters = [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items() if k != "maintctl:run"]
    filters.append({"Name": "volume-id", "Values": [volume_id]})
    snaps = aws_call(ec2.describe_snapshots, "describe_snapshots", OwnerIds=["self"], Filters=filters)["Snapshots"]
    old = beyond_keep(snaps, keep, taken)
    for sid in old:
        aws_call(ec2.delete_snapshot, "delete_snapshot", SnapshotId=sid)
    return old
