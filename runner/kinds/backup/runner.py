"""The backup kind for the engine: per host, back up and (on schedule) prove the restore;
per run, AWS-native snapshots of EBS volumes and RDS instances with a temporary-restore check.

A failed verification fails the host (or, for AWS snapshots, the run), so the change record closes
unsuccessful and the evidence names what differed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from runner.engine.kind import HostResult, RunContext
from runner.errors import RunFailed
from runner.kinds.backup.hostflow import HostFlow
from runner.kinds.backup.plans import Plan, plan_for_item
from runner.kinds.backup.schedule import restore_due
from runner.kinds.backup.shell import LocalShell, Shell, SshShell
from runner.kinds.backup.store import BackupStore


def shell_for(ctx: RunContext, host: str) -> Shell:
    """SSH to inventory hosts (host keys checked); hosts with ansible_connection=local run here."""
    from runner.engine import tools

    hostvars = {**ctx.catalogue.inventory.hostvars.get(host, {}), **ctx.options.get("hostvars", {}).get(host, {})}
    if hostvars.get("ansible_connection") == "local":
        return LocalShell(host=host)
    return SshShell.from_target(tools.ssh_target(ctx, host))


class BackupRunner:
    name = "backup"

    def __init__(self) -> None:
        self._plan: Plan | None = None
        self._store: BackupStore | None = None
        self._run_number = 0
        self._verify = False
        self._checked = False

    def needs_change_record(self, ctx: RunContext) -> bool:
        return ctx.mode == "apply"

    def before(self, ctx: RunContext) -> None:
        self._plan = plan_for_item(ctx.catalogue, ctx.item)
        self._store = BackupStore.for_run(ctx)
        self._run_number = self._store.next_run(ctx.item.id)
        last = (self._store.status(ctx.item.id).get("last_verified_restore") or {}).get("at")
        self._verify = restore_due(
            self._plan.verify, self._run_number, now=datetime.now(UTC),
            last_verified=datetime.fromisoformat(last) if last else None,
            forced=bool(ctx.options.get("restore_test")),
        )  # fmt: skip
        repo = self._plan.repository.url if self._plan.repository else None
        ctx.evidence.record(ctx.bundle_id, "backup.plan", {
            "plan": self._plan.name, "file": self._plan.file, "run_number": self._run_number,
            "restore_test_due": self._verify, "repository": repo,
        })  # fmt: skip

    def run_batch(self, ctx: RunContext, hosts: Sequence[str]) -> list[HostResult]:
        assert self._plan is not None and self._store is not None
        out = []
        for host in hosts:
            if ctx.cancel():
                out.append(HostResult(host=host, status="not_started", message="run cancelled"))
                continue
            if not (self._plan.paths or self._plan.databases):
                out.append(HostResult(host=host, status="skipped", message="plan has no files or databases"))
                continue
            check = self._plan.verify.restic_check and not self._checked and self._verify
            self._checked = self._checked or check
            flow = HostFlow(ctx=ctx, plan=self._plan, store=self._store, shells=lambda h: shell_for(ctx, h),
                            run_number=self._run_number, verify_now=self._verify, check_now=check)  # fmt: skip
            result = flow.run(host)
            ctx.evidence.record(ctx.bundle_id, "backup.host", {"host": host, "status": result.status,
                                                                "message": result.message, **result.data})  # fmt: skip
            out.append(result)
        return out

    def after(self, ctx: RunContext, results: Sequence[HostResult]) -> dict[str, Any]:
        assert self._plan is not None
        summary: dict[str, Any] = {"plan": self._plan.name, "run_number": self._run_number,
                                   "restore_tested": self._verify,
                                   "hosts": {r.host: r.status for r in results}}  # fmt: skip
        if self._plan.ebs or self._plan.rds:
            from runner.kinds.backup.awsflow import aws_backups

            reports = aws_backups(ctx, self._plan, verify_now=self._verify, store=self._store)
            summary["aws"] = [r.to_dict() for r in reports]
            bad = [r for r in reports if not r.ok]
            if bad:
                raise RunFailed(
                    "AWS snapshot verification failed: "
                    + "; ".join(f"{r.kind} {r.snapshot_id}: {r.error or ', '.join(r.differences[:3])}" for r in bad)
                )
        if self._store is not None:
            self._store.close()
        return summary
