"""Pre-patch protection by EBS snapshot (``pre_patch.aws_snapshot``).

For each host about to be patched: find its EC2 instance (the inventory variable, or the host itself
when it was resolved from AWS tags), snapshot every EBS volume attached to it, wait until every
snapshot is completed, then delete this item's pre-patch snapshots of those volumes beyond ``keep``.
A batch's snapshots are all started before any is awaited, against one deadline, so a batch waits
about as long as its slowest snapshot rather than the sum of them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from runner.adapters.aws import aws_call, wait_for
from runner.adapters.ebs import prune_ebs, start_snapshot
from runner.engine.kind import RunContext
from runner.errors import AdapterError
from runner.kinds.patch import snapspec as sp

FILTER_VALUES = 100  # instance ids per describe_volumes call, well inside EC2's limit on filter values


def aws_snapshots(
    ctx: RunContext, hosts: Sequence[str], raw: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Snapshot each host's volumes; return host -> why it failed, and host -> evidence of what was done."""
    from runner.engine import tools

    spec = sp.SnapshotSpec.from_settings(raw)
    ids, failed = _instance_ids(ctx, hosts, spec.instance_id_var)
    details: dict[str, dict[str, Any]] = {h: {"instance_id": iid, "snapshots": []} for h, iid in ids.items()}
    if not ids:
        return failed, details
    try:
        ec2 = tools.aws(ctx).client("ec2", region=spec.region)
        volumes = sp.attached_volumes(_describe_volumes(ec2, sorted(set(ids.values()))), set(ids.values()))
    except AdapterError as exc:
        failed.update({h: str(exc) for h in ids})
        return failed, details
    region = str(ec2.meta.region_name)
    for host in ids:
        details[host]["region"] = region
    _start(ctx, ec2, ids, volumes, details, failed)
    _wait(ec2, [h for h in ids if h not in failed], details, failed, spec.timeout, ctx.cancel)
    if spec.keep:
        _prune(ctx, ec2, [h for h in ids if h not in failed], details, spec.keep)
    return failed, details


def _instance_ids(ctx: RunContext, hosts: Sequence[str], var: str) -> tuple[dict[str, str], dict[str, str]]:
    """Host -> EC2 instance id, and host -> why it has none. Variables come from the run's inventory as
    Ansible reads it (group_vars and inventory plugins such as amazon.aws.aws_ec2 included)."""
    from runner.adapters.inventory import host_vars
    from runner.engine import tools

    from_aws = set(ctx.options.get("hostvars") or {})  # hosts the engine resolved from AWS tags
    sources = tools.inventory_sources(ctx)
    known: dict[str, Mapping[str, Any]] = {}
    failed: dict[str, str] = {}
    for host in hosts:
        if host not in from_aws:
            try:
                known[host] = host_vars(sources, host, [var])
            except AdapterError as exc:
                failed[host] = str(exc)
    ids, missing = sp.instance_ids([h for h in hosts if h not in failed], var, known, from_aws)
    return ids, {**failed, **missing}


def _describe_volumes(ec2: Any, instance_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Every volume attached to any of ``instance_ids``, in as few calls as EC2 allows."""
    out: list[dict[str, Any]] = []
    for i in range(0, len(instance_ids), FILTER_VALUES):
        kwargs: dict[str, Any] = {"Filters": [{"Name": "attachment.instance-id",
                                               "Values": list(instance_ids[i:i + FILTER_VALUES])}]}
        while True:
            page = aws_call(ec2.describe_volumes, "describe_volumes", **kwargs)
            out.extend(page.get("Volumes", []))
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    return out


def _start(ctx: RunContext, ec2: Any, ids: Mapping[str, str], volumes: Mapping[str, list[sp.Volume]],
           details: dict[str, dict[str, Any]], failed: dict[str, str]) -> None:
    """Start one snapshot per volume of every host; a host with no volume, or whose start fails, fails."""
    for host, iid in ids.items():
        vols = volumes.get(iid, [])
        if not vols:
            failed[host] = f"no EBS volume attached to EC2 instance {iid} (region {details[host]['region']})"
            continue
        for vol in vols:
            tags = sp.snapshot_tags(item_id=ctx.item.id, run_id=ctx.run_id, host=host, instance_id=iid, volume=vol)
            try:
                sid = start_snapshot(ec2, vol.volume_id, tags, sp.description(host, iid, vol, ctx.item.id))
            except AdapterError as exc:
                # Snapshots already started for this host stay (tagged, named in the evidence);
                # the next successful run's prune counts them like any other.
                failed[host] = f"snapshot of {vol.volume_id} ({vol.device}): {exc}"
                break
            details[host]["snapshots"].append({"snapshot_id": sid, "volume_id": vol.volume_id,
                                               "device": vol.device, "state": "pending"})


def _wait(ec2: Any, hosts: Collection[str], details: dict[str, dict[str, Any]], failed: dict[str, str],
          timeout: float, cancel: Callable[[], bool] = lambda: False) -> None:
    """Poll every started snapshot of the batch in one call until each is completed or in error, the
    batch's ``timeout`` is over or the run is cancelled; a host with a snapshot not completed fails."""
    snaps = {s["snapshot_id"]: (host, s) for host in hosts for s in details[host]["snapshots"]}
    stopped: list[str] = []  # why the wait ended early, if it did

    def probe() -> str:
        pending = [sid for sid, (_, s) in snaps.items() if s["state"] not in ("completed", "error")]
        if pending and cancel():
            stopped.append("the run was cancelled while its pre-patch snapshots were pending")
            return "failed"
        if pending:
            try:
                out = aws_call(ec2.describe_snapshots, "describe_snapshots", SnapshotIds=pending)
            except AdapterError as exc:
                stopped.append(str(exc))
                return "failed"  # ends the wait: every host still pending fails with this error
            for found in out["Snapshots"]:
                host, snap = snaps[found["SnapshotId"]]
                snap["state"] = str(found["State"])
                snap["started"] = found["StartTime"].isoformat() if found.get("StartTime") else None
                if snap["state"] == "error":
                    failed.setdefault(host, f"EBS snapshot {found['SnapshotId']} of {snap['volume_id']} failed: "
                                            f"{found.get('StateMessage') or 'state error'}")
        # "pending" keeps wait_for polling: an error on one host must not stop the wait for the others.
        return "pending" if any(s["state"] not in ("completed", "error") for _, s in snaps.values()) else "done"

    try:
        wait_for(f"the pre-patch snapshots of {len(snaps)} volume(s)", probe, "done", timeout)
    except AdapterError:
        for sid, (host, snap) in snaps.items():
            if snap["state"] != "completed":
                late = (f"EBS snapshot {sid} of {snap['volume_id']} is {snap['state']}, not completed after "
                        f"{timeout:g}s (pre_patch.aws_snapshot.timeout)")
                failed.setdefault(host, stopped[0] if stopped else late)


def _prune(ctx: RunContext, ec2: Any, hosts: Collection[str], details: dict[str, dict[str, Any]], keep: int) -> None:
    """Delete this item's older pre-patch snapshots of each volume. The host is protected already, so
    a failed prune is reported (evidence and progress) but does not stop its patch."""
    selector = sp.selector_tags(ctx.item.id)
    for host in hosts:
        pruned: list[str] = []
        try:
            for snap in details[host]["snapshots"]:
                pruned += prune_ebs(ec2, selector, snap["volume_id"], keep, taken=[snap["snapshot_id"]])
        except AdapterError as exc:
            details[host]["prune_error"] = str(exc)
            ctx.emit("run.message", {"text": f"  {host}: pre-patch snapshots taken, pruning older ones failed: {exc}"})
        details[host]["pruned"] = pruned
