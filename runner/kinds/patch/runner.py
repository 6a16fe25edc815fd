"""The patch kind: scan against the baseline, then per batch protect, install, reboot, assess.

The whole rollout is one Ansible session (``runner.adapters.ansible_session``), as a plain Ansible
user would run it with ``serial``: the scan playbook lists every host's pending updates at once (it
changes nothing), then the install play waits at its gate before each batch. Meanwhile the baseline
decides what is approved and, per batch, the optional pre-patch protection runs (a backup plan,
commands, EBS snapshots) on hosts about to change; the gate then lets each host through with its
exact commands (approved versions, holds) or keeps it out. The install play installs, reboots per
the item's policy and reports versions before and after; compliance per host is assessed, stored
and recorded.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from runner.adapters.ansible_session import Decision, Go, PlaybookSession, Skip
from runner.catalogue.durations import parse_duration
from runner.engine.kind import HostResult, RunContext, StepResult
from runner.errors import UsageError
from runner.kinds.patch import apt
from runner.kinds.patch.baseline import Rules
from runner.kinds.patch.compliance import HostCompliance, assess
from runner.kinds.patch.hostcmds import apply_commands
from runner.kinds.patch.protect import protect
from runner.kinds.patch.scan import SCAN_PLAYBOOK, HostScan, captured, decide_scans, scan_summary, scan_vars
from runner.kinds.patch.store import PatchStore

APPLY_PLAYBOOK = "patch-apply.yml"


def rules_for(ctx: RunContext) -> Rules:
    name = str(ctx.item.settings.get("baseline", ""))
    baseline = ctx.catalogue.baselines.get(name)
    if baseline is None:
        raise UsageError(f"item {ctx.item.id}: patch.baseline: no baseline named {name!r} in patching/")
    return Rules.from_settings(baseline.settings)


class PatchRunner:
    name = "patch"

    def __init__(self) -> None:
        self.compliance: dict[str, HostCompliance] = {}
        self.scans: dict[str, HostScan] = {}
        self.session: PlaybookSession | None = None

    def needs_change_record(self, ctx: RunContext) -> bool:
        return ctx.mode == "apply"

    def prepare(self, ctx: RunContext) -> None:
        """Start the session held before its first play: Ansible loads while the engine claims the run."""
        self.session = self._start(ctx, rules_for(ctx), held=True)

    def unprepare(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            session.close()
            for folder in session.data_dirs():
                shutil.rmtree(folder, ignore_errors=True)

    def before(self, ctx: RunContext) -> None:
        """Start (or release) the rollout's session; scan every host once, in parallel (a scan changes nothing)."""
        from runner.engine import tools

        rules = rules_for(ctx)  # fail before any host is touched if the baseline is missing
        if self.session is None:
            self.session = self._start(ctx, rules)
        else:
            tools.release(self.session, ctx)
        scanned = self.session.wait_lead()
        store = PatchStore.for_run(ctx)
        try:
            self.scans = decide_scans(scanned.hosts, list(ctx.hosts), rules, store, datetime.now(UTC))
        finally:
            store.close()
        for scan in self.scans.values():
            ctx.evidence.record(ctx.bundle_id, "patch.scan", scan_summary(scan))

    def _start(self, ctx: RunContext, rules: Rules, *, held: bool = False) -> PlaybookSession:
        from runner.engine import tools

        reboot = str(ctx.item.settings.get("reboot", "if_needed"))
        timeout = parse_duration(str(ctx.item.settings.get("reboot_timeout", "10m")))
        extravars = {"maintctl_hosts": scan_vars(rules, ctx.hosts), "maintctl_reboot": reboot,
                     "maintctl_reboot_timeout": int(timeout.total_seconds())}
        return tools.session(ctx, APPLY_PLAYBOOK, lead=[SCAN_PLAYBOOK], extravars=extravars, check=False, held=held)

    def run_batch(self, ctx: RunContext, hosts: Sequence[str]) -> list[HostResult]:
        if self.session is None:
            raise UsageError(f"item {ctx.item.id}: patch batch before the scan")
        rules = rules_for(ctx)
        store = PatchStore.for_run(ctx)
        try:
            missing = HostScan(host="", ok=False, message="host was not scanned")
            scans = {h: self.scans.get(h, missing) for h in hosts}
            results = {h: HostResult(host=h, status="failed", message=scans[h].message)
                       for h in hosts if not scans[h].ok}
            todo = self._protect(ctx, [h for h in hosts if scans[h].ok], scans, results)
            results.update(self._apply(ctx, self.session, list(hosts), todo, scans, rules, store))
            return [results[h] for h in hosts]
        finally:
            store.close()

    def close(self, ctx: RunContext) -> None:
        """End the session (a play waiting at its gate stops there) and keep Ansible's output."""
        if self.session is None:
            return
        session, self.session = self.session, None
        session.close()
        for name, data in session.logs():
            ctx.evidence.artifact(ctx.bundle_id, f"patch-{name}", data)

    def _protect(self, ctx: RunContext, hosts: list[str], scans: dict[str, HostScan],
                 results: dict[str, HostResult]) -> list[str]:
        """Run pre-patch protection on hosts that will change; a host whose protection fails is not patched."""
        spec = ctx.item.settings.get("pre_patch")
        changing = [h for h in hosts if scans[h].approved]
        if not spec or not changing:
            return hosts
        failed = protect(ctx, changing, spec)
        for host, message in failed.items():
            results[host] = HostResult(host=host, status="failed", message=f"pre-patch protection failed: {message}")
        return [h for h in hosts if h not in failed]

    def _apply(self, ctx: RunContext, session: PlaybookSession, batch: list[str], hosts: list[str],
               scans: dict[str, HostScan], rules: Rules, store: PatchStore) -> dict[str, HostResult]:
        """Let ``hosts`` of ``batch`` through the gate with their commands, keep the others out, assess."""
        decisions: dict[str, Decision] = {h: Skip("not patched in this batch") for h in batch}
        for h in hosts:
            approved = scans[h].approved
            decisions[h] = Go({"commands": apply_commands(
                rules.package_manager,
                install=[(u.name, u.candidate) for u in approved if u.installed is not None],
                hold=rules.hold,
                query=[u.name for u in scans[h].updates],
            )})
        index = session.batch_index(batch)
        session.open_batch(index, decisions)
        if not hosts:
            return {}
        result = session.wait_batch(index)
        out: dict[str, HostResult] = {}
        now = datetime.now(UTC)
        for h in hosts:
            hr = result.hosts[h]
            comp = self._assess(h, hr, scans[h])
            self.compliance[h] = comp
            store.put_compliance(h, ctx.item.id, ctx.run_id, now, comp.state, comp.as_dict())
            ctx.evidence.record(ctx.bundle_id, "patch.compliance", comp.as_dict())
            hr.data["compliance"] = comp.as_dict()
            if comp.state == "failed" and not hr.failed:
                hr.status = "failed"
            if comp.state == "failed" and not hr.message:
                hr.message = "approved updates failed to install"
            out[h] = hr
        return out

    @staticmethod
    def _assess(host: str, hr: HostResult, scan: HostScan) -> HostCompliance:
        before = apt.parse_installed(captured(hr, "versions before") or "")
        after = apt.parse_installed(captured(hr, "versions after") or "")
        flag = captured(hr, "reboot required after") or captured(hr, "reboot required") or ""
        rebooted = any(s.name == "Reboot" and s.status == "changed" for s in hr.steps)
        install_failed = any(s.name == "Install approved updates" and s.status in ("failed", "unreachable")
                             for s in hr.steps) or hr.status == "unreachable"
        return assess(host, scan.decisions, before=before, after=after, install_failed=install_failed,
                      pending_reboot=flag.strip() == "yes", rebooted=rebooted, message=hr.message)

    def after(self, ctx: RunContext, results: Sequence[HostResult]) -> dict[str, Any]:
        states: dict[str, int] = {}
        for comp in self.compliance.values():
            states[comp.state] = states.get(comp.state, 0) + 1
        return {
            "compliance": {h: c.state for h, c in sorted(self.compliance.items())},
            "counts": dict(sorted(states.items())),
            "pending_reboot": sorted(h for h, c in self.compliance.items() if c.pending_reboot),
        }


def step(name: str, status: str, message: str = "") -> StepResult:
    now = datetime.now(UTC)
    return StepResult(name=name, status=status, started=now, finished=now, message=message)  # type: ignore[arg-type]
