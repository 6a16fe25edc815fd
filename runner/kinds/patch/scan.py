"""Scanning hosts for pending updates through the patch-scan playbook and deciding approvals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from runner.kinds.patch import apt, dnf
from runner.kinds.patch.baseline import Decision, Rules, decide_all
from runner.kinds.patch.hostcmds import scan_commands
from runner.kinds.patch.updates import Update

if TYPE_CHECKING:
    from runner.engine.kind import HostResult, RunContext
    from runner.kinds.patch.store import PatchStore

SCAN_PLAYBOOK = "patch-scan.yml"


@dataclass(frozen=True, kw_only=True)
class HostScan:
    """What the scan found on one host and what the baseline decided about it."""

    host: str
    ok: bool
    updates: tuple[Update, ...] = ()
    decisions: tuple[Decision, ...] = ()
    reboot_required: bool = False
    message: str = ""

    @property
    def approved(self) -> list[Update]:
        return [d.update for d in self.decisions if d.approved]


def captured(result: HostResult, task: str) -> str | None:
    """The stdout of the host's ``capture: <task>`` step, if it ran."""
    for step in result.steps:
        if step.name == f"capture: {task}" and step.status in ("ok", "changed"):
            return str(step.data.get("stdout", ""))
    return None


def parse_scan(manager: str, text: str) -> list[Update]:
    if manager == "dnf":
        check, _, info = text.partition("### updateinfo")
        return dnf.merge_advisories(dnf.parse_check_update(check, {}), dnf.parse_updateinfo(info))
    return apt.parse_simulation(text)


def scan_hosts(
    ctx: RunContext, hosts: Sequence[str], rules: Rules, store: PatchStore, now: datetime
) -> dict[str, HostScan]:
    """Run the scan playbook on ``hosts``; record first sightings; decide every update."""
    from runner.engine import tools

    result = tools.playbook(
        ctx, hosts, SCAN_PLAYBOOK, extravars={"maintctl_hosts": scan_vars(rules, hosts)},
        check=False, label="patch-scan",
    )
    return decide_scans(result.hosts, hosts, rules, store, now)


def scan_vars(rules: Rules, hosts: Sequence[str]) -> dict[str, dict[str, str]]:
    """The scan playbook's ``maintctl_hosts``: the scan commands of the baseline's package manager."""
    cmds = scan_commands(rules.package_manager)
    return {h: cmds for h in hosts}


def decide_scans(
    results: Mapping[str, HostResult], hosts: Sequence[str], rules: Rules, store: PatchStore, now: datetime
) -> dict[str, HostScan]:
    """Parse each host's scan output; record first sightings; decide every update against ``rules``."""
    scans: dict[str, HostScan] = {}
    for host in hosts:
        hr = results[host]
        out = captured(hr, "scan")
        flag = captured(hr, "reboot required")
        if out is None or hr.failed:
            scans[host] = HostScan(host=host, ok=False, message=hr.message or "scan did not complete")
            continue
        updates = parse_scan(rules.package_manager, out)
        seen = store.first_seen(host, [(u.name, u.candidate) for u in updates], now)
        decisions = decide_all(updates, rules, now=now, first_seen=seen)
        scans[host] = HostScan(host=host, ok=True, updates=tuple(updates), decisions=tuple(decisions),
                               reboot_required=(flag or "").strip() == "yes")
    return scans


def scan_summary(scan: HostScan) -> Mapping[str, object]:
    return {
        "host": scan.host,
        "ok": scan.ok,
        "message": scan.message,
        "reboot_required": scan.reboot_required,
        "updates": [
            {"name": d.update.name, "installed": d.update.installed, "candidate": d.update.candidate,
             "security": d.update.security, "approved": d.approved, "reason": d.reason}
            for d in scan.decisions
        ],
    }
