"""Freezes (blackouts): absolute ranges and recurring rules, global or per inventory group.

A freeze covers an occurrence when their ``[start, end)`` intervals intersect: work must not run in any
part of a frozen span. A freeze with no groups (or the group ``all``) is global; otherwise it covers
only targets in one of its groups.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from runner.catalogue.model import Freeze
from runner.schedule.dst import resolve_local
from runner.schedule.occurrence import Occurrence, compile_rule, local_starts, zone


@dataclass(frozen=True, slots=True)
class FreezeInterval:
    """One span of a freeze, ``[start, end)`` in UTC."""

    freeze: Freeze
    start: datetime
    end: datetime


def applies_to(freeze: Freeze, groups: Collection[str]) -> bool:
    """Whether ``freeze`` covers targets in ``groups`` (global freezes cover everything)."""
    if not freeze.groups or "all" in freeze.groups:
        return True
    return any(g in groups for g in freeze.groups)


def _instant(value: datetime, freeze: Freeze) -> datetime:
    """Absolute range bounds are aware; a naive one is wall-clock time in the freeze's zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = resolve_local(value, zone(freeze.timezone, str(freeze.location)))
    return value.astimezone(UTC)


def freeze_intervals(freeze: Freeze, start: datetime, end: datetime) -> list[FreezeInterval]:
    """Every span of ``freeze`` that intersects ``[start, end)``, in order."""
    out: list[FreezeInterval] = []
    for r in freeze.ranges:
        lo, hi = _instant(r.start, freeze), _instant(r.end, freeze)
        if lo < end and hi > start:
            out.append(FreezeInterval(freeze=freeze, start=lo, end=hi))
    if freeze.cron or freeze.rrule:
        where = str(freeze.location)
        rule = compile_rule(freeze.cron, freeze.rrule, None, where)
        tz = zone(freeze.timezone, where)
        for _nominal, _local, lo in local_starts(rule, tz, start - freeze.duration, end):
            hi = lo + freeze.duration
            if hi > start:
                out.append(FreezeInterval(freeze=freeze, start=lo, end=hi))
    out.sort(key=lambda iv: (iv.start, iv.end))
    return out


def freezes_covering(
    occurrence: Occurrence, groups: Collection[str], freezes: Iterable[Freeze]
) -> list[FreezeInterval]:
    """The freeze spans that cover ``occurrence`` for targets in ``groups``."""
    hits: list[FreezeInterval] = []
    for freeze in freezes:
        if applies_to(freeze, groups):
            hits.extend(freeze_intervals(freeze, occurrence.start_utc, occurrence.end_utc))
    return hits
