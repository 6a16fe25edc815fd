"""Occurrences of a window: every time its rule fires, as instants in its zone and in UTC.

A rule (cron or RRULE) names local wall-clock times; ``offset_days`` moves each to a later date at the
same local time (Patch Tuesday + 4 days); the DST rule (:mod:`runner.schedule.dst`) turns the result into
an instant; ``start_date``/``end_date`` bound the local date the occurrence starts on (inclusive).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runner.catalogue.model import Window
from runner.errors import CatalogueError, Problem
from runner.schedule.cron import CronRule, CronSyntaxError
from runner.schedule.dst import ZoneDays
from runner.schedule.rrule import RRule, RRuleSyntaxError

Rule = CronRule | RRule


class Occurrence(NamedTuple):
    """One firing of a window. ``start``/``end`` are aware in the window's zone; ``*_utc`` in UTC.

    ``nominal`` is the wall-clock time the rule (plus offset) named, before the DST rule; it differs
    from ``start`` only inside a spring-forward gap. ``key`` is stable and unique per window, fit to
    be an idempotency key. An immutable tuple because a year's plan makes tens of thousands of them
    (a frozen dataclass costs six times as much to build).
    """

    window: str
    timezone: str
    nominal: datetime
    start: datetime
    start_utc: datetime
    duration: timedelta
    cutoff: timedelta
    max_start_delay: timedelta

    @property
    def key(self) -> str:
        return f"{self.window}@{self.start.isoformat()}"

    @property
    def end_utc(self) -> datetime:
        return self.start_utc + self.duration

    @property
    def end(self) -> datetime:
        """Local end: ``duration`` of elapsed time after the start, shown in the window's zone."""
        tz = self.start.tzinfo
        assert tz is not None
        return self.end_utc.astimezone(tz)

    @property
    def cutoff_at(self) -> datetime:
        """No new work starts after this instant (UTC): ``end - cutoff``."""
        return self.end_utc - self.cutoff

    @property
    def latest_start(self) -> datetime:
        """The last instant (UTC) at which a run of this occurrence may still begin."""
        return min(self.start_utc + self.max_start_delay, self.cutoff_at)

    @property
    def shifted(self) -> bool:
        """Whether the DST rule moved this occurrence out of a spring-forward gap."""
        return self.start.replace(tzinfo=None) != self.nominal


def zone(name: str, where: str = "", field: str = "timezone") -> ZoneInfo:
    """The IANA zone ``name``; a :class:`CatalogueError` naming ``where`` if it is unknown."""
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CatalogueError([Problem(file=where, path=field, message=f"unknown IANA timezone {name!r}")]) from exc


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def compile_rule(cron: str | None, rrule: str | None, start_date: date | None = None, where: str = "") -> Rule:
    """Parse a window's or freeze's rule once; a :class:`CatalogueError` naming ``where`` if invalid."""
    try:
        return _compile(cron, rrule, start_date)
    except (CronSyntaxError, RRuleSyntaxError) as exc:
        field = "cron" if cron else "rrule"
        raise CatalogueError([Problem(file=where, path=field, message=str(exc))]) from exc


@lru_cache(maxsize=4096)
def _compile(cron: str | None, rrule: str | None, start_date: date | None) -> Rule:
    if (cron is None) == (rrule is None):
        raise CronSyntaxError("exactly one of cron and rrule must be set")
    if cron is not None:
        return CronRule.parse(cron)
    assert rrule is not None
    return RRule.parse(rrule, start_date)


def local_starts(
    rule: Rule,
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    *,
    offset_days: int = 0,
    first_date: date | None = None,
    last_date: date | None = None,
) -> Iterator[tuple[datetime, datetime, datetime]]:
    """Yield ``(nominal, local, utc)`` for every firing whose instant is in ``[start, end)``.

    ``nominal`` is naive local wall-clock time (rule + offset), ``local`` the instant aware in ``tz``,
    ``utc`` the same instant in UTC. Firings are strictly increasing: values that the DST rule maps
    onto an instant already yielded are dropped.
    """
    offset = timedelta(days=offset_days)
    start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
    # Local wall-clock bounds with slack either side: UTC offsets stay within a day.
    lo = start_utc.replace(tzinfo=None) - timedelta(days=2)
    hi = end_utc.replace(tzinfo=None) + timedelta(days=2)
    if first_date is not None:
        lo = max(lo, datetime.combine(first_date, datetime.min.time()))
    if last_date is not None:
        hi = min(hi, datetime.combine(last_date + timedelta(days=1), datetime.min.time()))
    if lo >= hi:
        return
    previous: datetime | None = None
    resolve = ZoneDays.of(tz).resolve
    for value in rule.between(lo - offset, hi - offset):
        nominal = value + offset
        local, utc = resolve(nominal)
        if utc < start_utc or (previous is not None and utc <= previous):
            continue
        if utc >= end_utc or (last_date is not None and local.date() > last_date):
            return
        previous = utc
        yield nominal, local, utc


def occurrences(window: Window, start: datetime, end: datetime, *, overlapping: bool = False) -> list[Occurrence]:
    """Every occurrence of ``window`` starting in ``[start, end)`` (aware instants), in order.

    With ``overlapping``, every occurrence whose ``[start, end)`` intersects the range instead.
    """
    where = str(window.location)
    tz = zone(window.timezone, where)
    rule = compile_rule(window.cron, window.rrule, window.start_date, where)
    lo = start - window.duration if overlapping else start
    out: list[Occurrence] = []
    name, timezone, duration = window.name, window.timezone, window.duration
    cutoff, max_delay = window.cutoff, window.max_start_delay
    for nominal, local, utc in local_starts(
        rule,
        tz,
        lo,
        end,
        offset_days=window.offset_days,
        first_date=window.start_date,
        last_date=window.end_date,
    ):
        occ = Occurrence(name, timezone, nominal, local, utc, duration, cutoff, max_delay)
        if overlapping and occ.end_utc <= start:
            continue
        out.append(occ)
    return out
