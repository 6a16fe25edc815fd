"""Waivers: accepted findings, each with a justification and an expiry date. Pure: ``now`` is given.

A waiver hides a drift, unknown or unmanaged finding through its ``expires`` date (inclusive, UTC).
After that the finding counts again and says which waiver expired when. Errors are never waived:
a check that failed to run is not a finding anyone accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from fnmatch import fnmatchcase

from runner.kinds.drift.findings import DIRTY, Finding
from runner.kinds.drift.settings import Waiver


def matches(waiver: Waiver, finding: Finding) -> bool:
    """Whether ``waiver`` covers ``finding``. Empty fields match anything; host and resource are globs."""
    if finding.source == "aws":
        if not waiver.resource or not fnmatchcase(finding.target, waiver.resource):
            return False
        return not waiver.check or waiver.check == finding.check
    if waiver.resource or not (waiver.host or waiver.task):
        return False
    if waiver.host and not fnmatchcase(finding.target, waiver.host):
        return False
    return not waiver.task or waiver.task == finding.check


def _today(now: datetime | date) -> date:
    return now.date() if isinstance(now, datetime) else now


def apply(findings: Iterable[Finding], waivers: Sequence[Waiver], now: datetime | date) -> list[Finding]:
    """Mark findings covered by a live waiver as waived; note expired waivers on findings they no longer hide."""
    today = _today(now)
    out: list[Finding] = []
    for f in findings:
        if f.status not in DIRTY:
            out.append(f)
            continue
        covering = [w for w in waivers if matches(w, f)]
        live = [w for w in covering if today <= w.expires]
        if live:
            w = max(live, key=lambda x: x.expires)
            note = f"waived by {w.id} until {w.expires.isoformat()}: {w.justification}"
            out.append(f.with_status("waived", note=note, waiver=w.id))
        elif covering:
            w = max(covering, key=lambda x: x.expires)
            note = f"waiver expired on {w.expires.isoformat()} ({w.id}: {w.justification})"
            out.append(f.with_status(f.status, note=note, waiver=w.id))
        else:
            out.append(f)
    return out


def unused(findings: Iterable[Finding], waivers: Sequence[Waiver]) -> list[str]:
    """Ids of waivers that cover no finding at all (stale entries worth removing)."""
    used = {f.waiver for f in findings if f.waiver}
    return sorted(w.id for w in waivers if w.id not in used)
