"""Cron expressions as generators of local wall-clock times.

croniter parses the expression (names, ranges, steps, ``L``, ``#``); the matching is done here, day
by day, on naive wall-clock values. croniter's own iteration adjusts for DST in ways that differ from
maintctl's DST rule and costs ~40 µs per step; walking the calendar ourselves is both exact (every
wall-clock time the fields name, resolved later by :mod:`runner.schedule.dst`) and fast.

Day matching follows croniter (and cron): when both day-of-month and day-of-week are restricted,
a day matches either of them.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

_ONE_DAY = timedelta(days=1)


class CronSyntaxError(ValueError):
    """The expression is not a 5-field cron expression maintctl supports."""


@dataclass(frozen=True, slots=True)
class CronRule:
    """A parsed 5-field cron expression (minute hour day-of-month month day-of-week)."""

    expression: str
    times: tuple[time, ...]
    months: frozenset[int] | None
    days: frozenset[int] | None
    last_day: bool
    weekdays: frozenset[int] | None  # cron numbering: 0 = Sunday
    nth: tuple[tuple[int, frozenset[int | str]], ...]  # weekday -> {1..5, "l"}

    @classmethod
    def parse(cls, expression: str) -> CronRule:
        """Parse ``expression``; raise :class:`CronSyntaxError` with a user-facing reason."""
        text = " ".join(expression.split())
        fields = text.split(" ")
        if not text.startswith("@"):
            if len(fields) != 5:
                raise CronSyntaxError(
                    f"cron expression {expression!r} must have 5 fields (minute hour day month weekday)"
                )
            if "w" in fields[2].lower():
                raise CronSyntaxError(f"cron expression {expression!r}: 'W' (nearest weekday) is not supported")
        # Imported here: croniter's import runs `file -b` on the interpreter (platform.architecture),
        # which commands that never parse a rule (drift, runs, a cached catalogue) should not pay for.
        from croniter import croniter
        from croniter.croniter import CroniterError

        try:
            expanded, nth = croniter.expand(text)
        except (CroniterError, ValueError, KeyError) as exc:
            raise CronSyntaxError(f"cron expression {expression!r} is invalid: {exc}") from exc
        if len(expanded) != 5:
            raise CronSyntaxError(f"cron expression {expression!r} must have 5 fields")
        minutes, hours, doms, months, dows = expanded
        mins = range(60) if minutes == ["*"] else sorted(int(m) for m in minutes)
        hrs = range(24) if hours == ["*"] else sorted(int(h) for h in hours)
        dom_star = doms == ["*"]
        if nth and not dom_star:
            raise CronSyntaxError(
                f"cron expression {expression!r}: an nth weekday ('#' or 'L') cannot be combined with a day of month"
            )
        return cls(
            expression=expression,
            times=tuple(time(h, m) for h in hrs for m in mins),
            months=None if months == ["*"] else frozenset(int(m) for m in months),
            days=None if dom_star else frozenset(d for d in doms if isinstance(d, int)),
            last_day="l" in doms,
            weekdays=None if dows == ["*"] else frozenset(int(d) % 7 for d in dows),
            nth=_nth(nth),
        )

    def matches_day(self, day: date) -> bool:
        """Whether the rule fires on ``day`` (month, day-of-month and day-of-week fields)."""
        if self.months is not None and day.month not in self.months:
            return False
        if self.nth:
            return self._matches_nth(day)
        dom_star = self.days is None and not self.last_day
        if dom_star and self.weekdays is None:
            return True
        dow_ok = self.weekdays is not None and (day.isoweekday() % 7) in self.weekdays
        if dom_star:
            return dow_ok
        dom_ok = (self.days is not None and day.day in self.days) or (
            self.last_day and day.day == calendar.monthrange(day.year, day.month)[1]
        )
        if self.weekdays is None:
            return dom_ok
        return dom_ok or dow_ok

    def _matches_nth(self, day: date) -> bool:
        weekday = day.isoweekday() % 7
        for wd, which in self.nth:
            if wd != weekday:
                continue
            if (day.day - 1) // 7 + 1 in which:
                return True
            if "l" in which and day.day + 7 > calendar.monthrange(day.year, day.month)[1]:
                return True
        return False

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Yield every naive wall-clock time the rule names in ``[start, end)``, in order."""
        day = start.date()
        last = end.date()
        while day <= last:
            if self.matches_day(day):
                for t in self.times:
                    candidate = datetime.combine(day, t)
                    if candidate >= end:
                        return
                    if candidate >= start:
                        yield candidate
            day += _ONE_DAY


def _nth(raw: Mapping[Any, Collection[Any]]) -> tuple[tuple[int, frozenset[int | str]], ...]:
    """croniter's nth-weekday map as (cron weekday, {n, "l"}) pairs; its ``"*"`` key means every weekday."""
    merged: dict[int, set[int | str]] = {}
    for key, which in raw.items():
        days = range(7) if key == "*" else (int(str(key)) % 7,)
        for wd in days:
            merged.setdefault(wd, set()).update(w if w == "l" else int(str(w)) for w in which)
    return tuple((wd, frozenset(v)) for wd, v in sorted(merged.items()))
