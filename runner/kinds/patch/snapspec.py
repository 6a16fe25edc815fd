"""Pre-patch EBS snapshots, the pure part: the ``aws_snapshot`` settings, which EC2 instance a host
is, which volumes belong to it and how its snapshots are tagged. ``awssnap`` does the AWS calls.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.catalogue.durations import parse_duration

PURPOSE = "pre-patch"
DEFAULT_VAR = "instance_id"  # what the amazon.aws.aws_ec2 inventory plugin sets
DEFAULT_TIMEOUT = "10m"
INSTANCE_ID = re.compile(r"i-[0-9a-f]{8}(?:[0-9a-f]{9})?")


@dataclass(frozen=True, kw_only=True)
class SnapshotSpec:
    """``pre_patch.aws_snapshot`` of a patch item (already checked by the kind-patch schema)."""

    region: str | None = None
    instance_id_var: str = DEFAULT_VAR
    keep: int | None = None  # None: never delete older pre-patch snapshots
    timeout: float = 600.0  # seconds to wait for a batch's snapshots to complete

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any] | None) -> SnapshotSpec:
        conf = dict(raw or {})
        keep = conf.get("keep")
        return cls(
            region=str(conf["region"]) if conf.get("region") else None,
            instance_id_var=str(conf.get("instance_id_var") or DEFAULT_VAR),
            keep=int(keep) if keep is not None else None,
            timeout=parse_duration(str(conf.get("timeout") or DEFAULT_TIMEOUT)).total_seconds(),
        )


@dataclass(frozen=True, kw_only=True)
class Volume:
    """One EBS volume attached to a host's instance, at ``device``."""

    volume_id: str
    device: str


def instance_ids(
    hosts: Sequence[str], var: str, hostvars: Mapping[str, Mapping[str, Any]], from_aws: Collection[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Each host's EC2 instance id, and host -> why it has none.

    Hosts resolved from AWS tags (``from_aws``) are named by their instance id, so that is the answer
    whatever their variables say; any other host needs the inventory variable ``var``.
    """
    found: dict[str, str] = {}
    failed: dict[str, str] = {}
    for host in hosts:
        value = host if host in from_aws else hostvars.get(host, {}).get(var)
        text = "" if value is None else str(value).strip()
        if not text:
            failed[host] = f"no EC2 instance id (hostvar {var})"
        elif not INSTANCE_ID.fullmatch(text):
            failed[host] = f"hostvar {var} is {text!r}, not an EC2 instance id (i-...)"
        else:
            found[host] = text
    return found, failed


def attached_volumes(volumes: Iterable[Mapping[str, Any]], instances: Collection[str]) -> dict[str, list[Volume]]:
    """Instance id -> its attached volumes (``describe_volumes`` output), ordered by device."""
    out: dict[str, list[Volume]] = {}
    for vol in volumes:
        for att in vol.get("Attachments") or ():
            iid = att.get("InstanceId")
            # Everything on the instance but a volume already gone from it: a volume still attaching or
            # detaching holds the host's data as much as an attached one.
            if iid in instances and att.get("State") != "detached":
                volume = Volume(volume_id=str(vol["VolumeId"]), device=str(att.get("Device", "")))
                out.setdefault(iid, []).append(volume)
    for vols in out.values():
        vols.sort(key=lambda v: (v.device, v.volume_id))
    return out


def selector_tags(item_id: str) -> dict[str, str]:
    """The tags that make a snapshot one of this item's pre-patch snapshots (what ``keep`` counts)."""
    return {"maintctl:item": item_id, "maintctl:purpose": PURPOSE}


def snapshot_tags(*, item_id: str, run_id: str, host: str, instance_id: str, volume: Volume) -> dict[str, str]:
    """Every tag of a pre-patch snapshot: who made it, for which host, instance and device."""
    return {
        **selector_tags(item_id),
        "maintctl:run": run_id,
        "maintctl:host": host,
        "maintctl:instance": instance_id,
        "maintctl:device": volume.device,
    }


def description(host: str, instance_id: str, volume: Volume, item_id: str) -> str:
    where = f"{volume.volume_id} ({volume.device}) on {host} ({instance_id})"
    return f"maintctl pre-patch snapshot of {where}, item {item_id}"
