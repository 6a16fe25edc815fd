"""Pre-patch protection: before a host changes, back it up, run commands on it or snapshot its disks.

``pre_patch`` in the item's patch settings, any of (run in this order; a host that fails one step
gets no further step):
  ``{backup_plan: NAME}``  back up the host with that plan (restic / pg_dump, as the backup kind does);
  ``{commands: [CMD, ...]}``  run each command on the host over SSH (e.g. an LVM or ZFS snapshot);
  ``{aws_snapshot: {...}}``  snapshot every EBS volume of the host's EC2 instance (``awssnap``), last
  so the snapshots are as close to the patch as possible.
A host whose protection fails is not patched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runner.engine.kind import RunContext
from runner.errors import MaintctlError


def protect(ctx: RunContext, hosts: Sequence[str], spec: Mapping[str, Any]) -> dict[str, str]:
    """Protect each host; return host -> why protection failed (hosts that passed are absent)."""
    failed: dict[str, str] = {}
    details: dict[str, dict[str, Any]] = {}
    plan = spec.get("backup_plan")
    if plan:
        failed.update(_backup(ctx, hosts, str(plan)))
    for command in spec.get("commands") or ():
        for host in hosts:
            if host in failed:
                continue
            try:
                from runner.engine import tools

                tools.ssh(ctx, host, str(command), timeout=600)
            except MaintctlError as exc:
                failed[host] = f"{command}: {exc}"
    remaining = [h for h in hosts if h not in failed]
    if spec.get("aws_snapshot") is not None and remaining:  # {} is a valid request: every default
        from runner.kinds.patch.awssnap import aws_snapshots

        snap_failed, snaps = aws_snapshots(ctx, remaining, spec["aws_snapshot"])
        failed.update(snap_failed)
        details.update({h: {"aws_snapshot": d} for h, d in snaps.items()})
    for host in hosts:
        ctx.evidence.record(ctx.bundle_id, "patch.protect", {"host": host, "ok": host not in failed,
                                                              "message": failed.get(host, ""), **details.get(host, {})})
    return failed


def _backup(ctx: RunContext, hosts: Sequence[str], plan_name: str) -> dict[str, str]:
    """Back each host up with the named plan (no restore test: that is the backup item's schedule)."""
    from pathlib import Path

    from runner.kinds.backup.hostflow import HostFlow
    from runner.kinds.backup.plans import parse_plan
    from runner.kinds.backup.runner import shell_for
    from runner.kinds.backup.store import BackupStore

    declared = ctx.catalogue.plans.get(plan_name)
    if declared is None:
        return {h: f"no backup plan named {plan_name!r} in backup/" for h in hosts}
    plan = parse_plan(plan_name, declared.settings, Path(ctx.catalogue.root), str(declared.location))
    store = BackupStore.for_run(ctx)
    failed: dict[str, str] = {}
    try:
        for host in hosts:
            flow = HostFlow(ctx=ctx, plan=plan, store=store, shells=lambda h: shell_for(ctx, h),
                            run_number=0, verify_now=False, check_now=False)
            result = flow.run(host)
            if result.failed:
                failed[host] = result.message or "backup failed"
    finally:
        store.close()
    return failed
