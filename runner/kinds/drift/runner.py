"""The ``drift`` kind for the engine.

A drift run checks and changes nothing (no change record), unless it remediates: an apply-mode run
of an item with ``remediate: true``, or one asked for by ``maintctl drift ITEM --remediate``. Then
it checks, applies the playbooks to hosts with unwaived drift, and re-checks them, inside the item's
window and under the change record the engine opens because ``needs_change_record`` says so.

Evidence per host: its findings (``drift.host``) and its diffs as an artifact; per run: AWS findings
and the whole JSON report as an artifact. ``after`` returns the summary with the CI exit code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.engine.kind import HostResult, HostStatus, RunContext, StepResult
from runner.kinds.drift.findings import Finding, ItemReport, counts, exit_code

# Items whose remediation was asked for in this process (``maintctl drift --remediate``).
REMEDIATE_REQUESTED: set[str] = set()

_STEP_STATUS: dict[str, HostStatus] = {
    "in_sync": "ok",
    "waived": "ok",
    "not_applicable": "skipped",
    "unknown": "skipped",
    "drift": "changed",
    "unmanaged": "changed",
    "error": "failed",
}


def host_result(host: str, findings: Sequence[Finding]) -> HostResult:
    """Fold a host's findings into the engine's per-host result."""
    c = counts(findings)
    if any(f.status == "error" and f.message.startswith("unreachable") for f in findings):
        status: HostStatus = "unreachable"
    elif c["error"]:
        status = "failed"
    elif c["drift"]:
        status = "changed"
    else:
        status = "ok"
    steps = [
        StepResult(
            name=f.check,
            status=_STEP_STATUS[f.status],
            message=f.note or f.message,
            data={"drift": f.status, "location": f.location, "diff": f.diff},
        )
        for f in findings
    ]
    summary = ", ".join(f"{n} {k}" for k, n in c.items() if n)
    return HostResult(host=host, status=status, steps=steps, message=summary, data={"drift": c})


class DriftKind:
    """KindRunner for ``kind: drift``."""

    name = "drift"

    def __init__(self) -> None:
        self._findings: list[Finding] = []
        self._errors: list[str] = []

    def remediates(self, ctx: RunContext) -> bool:
        from runner.kinds.drift.check import settings_of

        if ctx.mode != "apply":
            return False
        return ctx.item.id in REMEDIATE_REQUESTED or settings_of(ctx.item, ctx.catalogue).remediate

    def needs_change_record(self, ctx: RunContext) -> bool:
        return self.remediates(ctx)

    def _now(self, ctx: RunContext) -> datetime:
        now = ctx.options.get("now")
        return now if isinstance(now, datetime) else datetime.now(UTC)

    def _options(self, ctx: RunContext) -> Any:
        from runner.adapters.ansible_events import step_from_event
        from runner.engine import tools
        from runner.estate import private_subdir
        from runner.kinds.drift.check import CheckOptions, spec_settings

        def stream(event: Mapping[str, Any]) -> None:
            produced = step_from_event(event)
            if produced is not None:
                ctx.on_step(*produced)

        root = Path(ctx.estate_root)
        return CheckOptions(
            estate_root=root,
            inventory=tools.inventory_sources(ctx),
            on_event=stream,
            cancel=ctx.cancel,
            work_dir=private_subdir(Path(ctx.state_dir), "runs", ctx.run_id),
            spec=spec_settings(ctx.catalogue, root),
            forks=int(ctx.catalogue.settings.ansible["forks"]) if "forks" in ctx.catalogue.settings.ansible else None,
        )

    def before(self, ctx: RunContext) -> None:
        self._findings, self._errors = [], []

    def run_batch(self, ctx: RunContext, hosts: Sequence[str]) -> list[HostResult]:
        from runner.kinds.drift import waivers
        from runner.kinds.drift.check import check_playbooks, remediate, settings_of

        s = settings_of(ctx.item, ctx.catalogue)
        opts = self._options(ctx)
        if self.remediates(ctx):
            found, errors = remediate(ctx.item, s, hosts, opts, self._now(ctx))
        else:
            found, errors = check_playbooks(ctx.item, s, hosts, opts)
        found = waivers.apply(found, s.waivers, self._now(ctx))
        self._findings += found
        self._errors += errors
        results = []
        for host in hosts:
            mine = [f for f in found if f.target == host]
            result = host_result(host, mine)
            if errors and not mine:
                result = HostResult(host=host, status="failed", message="; ".join(errors))
            self._record_host(ctx, result, mine)
            results.append(result)
        return results

    def _record_host(self, ctx: RunContext, result: HostResult, findings: Sequence[Finding]) -> None:
        diff = "".join(f"# {f.check} ({f.location})\n{f.diff}" for f in findings if f.diff)
        digest = (
            ctx.evidence.artifact(ctx.bundle_id, f"drift-{result.host}.diff", diff.encode(), "text/x-diff")
            if diff
            else ""
        )
        ctx.evidence.record(
            ctx.bundle_id,
            "drift.host",
            {
                "host": result.host,
                "status": result.status,
                "counts": result.data.get("drift", {}),
                "diff_sha256": digest,
                "findings": [
                    {"check": f.check, "status": f.status, "message": f.message, "note": f.note, "location": f.location}
                    for f in findings
                ],
            },
        )

    def after(self, ctx: RunContext, results: Sequence[HostResult]) -> dict[str, Any]:
        from runner.kinds.drift.check import check_aws, finish, settings_of
        from runner.kinds.drift.report import to_json

        s = settings_of(ctx.item, ctx.catalogue)
        aws_found, aws_errors = check_aws(ctx.item, s, ctx.catalogue)
        report = finish(ctx.item, s, self._findings + aws_found, self._errors + aws_errors, self._now(ctx))
        aws_final = [f for f in report.findings if f.source == "aws"]
        if aws_final or aws_errors:
            ctx.evidence.record(
                ctx.bundle_id,
                "drift.aws",
                {
                    "errors": aws_errors,
                    "findings": [
                        {"target": f.target, "check": f.check, "status": f.status, "message": f.message, "note": f.note}
                        for f in aws_final
                    ],
                },
            )
        body = to_json([report]).encode()
        digest = ctx.evidence.artifact(ctx.bundle_id, f"drift-report-{ctx.item.id}.json", body, "application/json")
        return self.summary(report, digest)

    @staticmethod
    def summary(report: ItemReport, digest: str) -> dict[str, Any]:
        return {
            "drift": counts(report.findings),
            "exit_code": exit_code([report]),
            "errors": list(report.errors),
            "notes": list(report.notes),
            "report_sha256": digest,
        }
