"""Per-host patch compliance after a run (pure): what was installed, what is still missing.

A host is ``compliant`` when every approved update is installed at (or beyond) the approved
version and no reboot is pending; ``pending_reboot`` when only the reboot is missing; otherwise
``non_compliant`` (approved updates missing) or ``failed`` (the install itself failed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from runner.kinds.patch.baseline import Decision

State = Literal["compliant", "pending_reboot", "non_compliant", "failed", "unknown"]


@dataclass(frozen=True, kw_only=True)
class PackageChange:
    """One package's version before and after the install."""

    name: str
    before: str | None
    after: str | None
    approved: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "before": self.before, "after": self.after, "approved": self.approved}


@dataclass(frozen=True, kw_only=True)
class HostCompliance:
    """A host's compliance with its baseline after a run."""

    host: str
    state: State
    installed: tuple[PackageChange, ...] = ()
    missing: tuple[PackageChange, ...] = ()
    not_approved: tuple[tuple[str, str, str], ...] = ()  # (name, candidate, reason)
    pending_reboot: bool = False
    rebooted: bool = False
    message: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "state": self.state,
            "installed": [c.as_dict() for c in self.installed],
            "missing": [c.as_dict() for c in self.missing],
            "not_approved": [{"name": n, "candidate": c, "reason": r} for n, c, r in self.not_approved],
            "pending_reboot": self.pending_reboot,
            "rebooted": self.rebooted,
            "message": self.message,
        }


def assess(
    host: str,
    decisions: Sequence[Decision],
    *,
    before: Mapping[str, str],
    after: Mapping[str, str],
    install_failed: bool,
    pending_reboot: bool,
    rebooted: bool = False,
    message: str = "",
) -> HostCompliance:
    """Compare approved versions with what the host reports after the run."""
    installed: list[PackageChange] = []
    missing: list[PackageChange] = []
    for d in decisions:
        if not d.approved:
            continue
        u = d.update
        change = PackageChange(name=u.name, before=before.get(u.name, u.installed), after=after.get(u.name),
                               approved=u.candidate)
        (installed if after.get(u.name) == u.candidate else missing).append(change)
    not_approved = tuple((d.update.name, d.update.candidate, d.reason) for d in decisions if not d.approved)
    state: State
    if install_failed:
        state = "failed"
    elif missing:
        state = "non_compliant"
    elif pending_reboot:
        state = "pending_reboot"
    else:
        state = "compliant"
    return HostCompliance(host=host, state=state, installed=tuple(installed), missing=tuple(missing),
                          not_approved=not_approved, pending_reboot=pending_reboot, rebooted=rebooted,
                          message=message)
