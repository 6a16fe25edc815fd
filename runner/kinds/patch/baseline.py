"""Patch baselines: which pending updates are approved, and why (pure).

Rules, in order of precedence:
1. ``hold``: the package stays at its installed version (and is pinned on the host).
2. ``exclude``: never approved (fnmatch patterns).
3. ``include``: always approved, regardless of the other rules (fnmatch patterns).
4. ``approve``: ``all``, ``security`` (only updates from a security archive / advisory) or ``none``
   (only what ``include`` names).
5. ``approve_after_days``: an update is approved only once it has been available that long. The age
   is counted from the repository's publication date where the package manager reports one (dnf
   updateinfo) and otherwise from the first time a maintctl scan saw that candidate version (apt
   repositories carry no per-package date), which the caller passes as ``first_seen``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any, Literal

from runner.kinds.patch.updates import Update

Approve = Literal["all", "security", "none"]


@dataclass(frozen=True, kw_only=True)
class Rules:
    """A baseline's approval rules, parsed from patching/."""

    package_manager: Literal["apt", "dnf"] = "apt"
    approve: Approve = "all"
    approve_after_days: int = 0
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    hold: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Rules:
        return cls(
            package_manager=settings.get("package_manager", "apt"),
            approve=settings.get("approve", "all"),
            approve_after_days=int(settings.get("approve_after_days", 0)),
            include=tuple(settings.get("include", ())),
            exclude=tuple(settings.get("exclude", ())),
            hold=tuple(settings.get("hold", ())),
        )


@dataclass(frozen=True, kw_only=True)
class Decision:
    """Whether one pending update is approved, and why."""

    update: Update
    approved: bool
    reason: str


def _matches(name: str, patterns: tuple[str, ...]) -> str | None:
    for p in patterns:
        if fnmatchcase(name, p):
            return p
    return None


def decide(update: Update, rules: Rules, *, now: datetime, first_seen: datetime | None = None) -> Decision:
    """Decide one update against the rules."""
    if (p := _matches(update.name, rules.hold)) is not None:
        return Decision(update=update, approved=False, reason=f"held ({p})")
    if (p := _matches(update.name, rules.exclude)) is not None:
        return Decision(update=update, approved=False, reason=f"excluded ({p})")
    if (p := _matches(update.name, rules.include)) is not None:
        return Decision(update=update, approved=True, reason=f"included ({p})")
    if rules.approve == "none":
        return Decision(update=update, approved=False, reason="not in the baseline's include list")
    if rules.approve == "security" and not update.security:
        return Decision(update=update, approved=False, reason="not a security update")
    if rules.approve_after_days > 0:
        since = update.published or first_seen
        if since is None:
            return Decision(update=update, approved=False, reason="age unknown: not yet seen by a scan")
        age = now - since
        wait = timedelta(days=rules.approve_after_days)
        if age < wait:
            days = age.total_seconds() / 86400
            return Decision(
                update=update,
                approved=False,
                reason=f"waiting: available {days:.1f} days, approved after {rules.approve_after_days}",
            )
    kind = "security update" if update.security else "update"
    return Decision(update=update, approved=True, reason=f"approved {kind}")


def decide_all(
    updates: list[Update],
    rules: Rules,
    *,
    now: datetime,
    first_seen: Mapping[tuple[str, str], datetime] | None = None,
) -> list[Decision]:
    """Decide every update; ``first_seen`` maps (name, candidate) to when a scan first saw it."""
    seen = first_seen or {}
    return [decide(u, rules, now=now, first_seen=seen.get((u.name, u.candidate))) for u in updates]
