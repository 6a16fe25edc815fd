"""RFC 5545 RRULEs as generators of local wall-clock times (dateutil.rrule on naive datetimes).

The rule is evaluated on naive local time; :mod:`runner.schedule.dst` turns each value into an instant.
A rule counts from its anchor (``DTSTART`` in the text, else the window's ``start_date``, else Monday
2000-01-03 00:00): the anchor fixes INTERVAL's phase and, as RFC 5545 says, supplies the parts the rule
leaves out (``FREQ=WEEKLY`` alone fires on the anchor's weekday, at the anchor's time of day).

dateutil walks every period from the anchor, so a daily rule anchored in 2000 costs thousands of steps
per query. Those defaults are therefore written into the rule explicitly, which makes the rule
independent of its anchor except for INTERVAL's phase; the anchor can then jump forward by whole
periods to just before the query. Rules with COUNT always start from their true anchor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

DEFAULT_ANCHOR = datetime(2000, 1, 3)
_FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY")
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class RRuleSyntaxError(ValueError):
    """The text is not an RRULE maintctl supports."""


@dataclass(frozen=True, slots=True)
class RRule:
    """A parsed RRULE with its anchor and its parts made explicit."""

    text: str
    parts: tuple[tuple[str, str], ...]
    anchor: datetime
    freq: int  # index into _FREQS, as in dateutil (YEARLY = 0)
    interval: int
    counted: bool
    empty: str = ""  # why the rule can never fire ("" if it may)

    @classmethod
    def parse(cls, text: str, start_date: date | None = None) -> RRule:
        """Parse ``text`` (``FREQ=...``, ``RRULE:FREQ=...``, optionally preceded by a ``DTSTART`` line)."""
        anchor = datetime.combine(start_date, datetime.min.time()) if start_date else DEFAULT_ANCHOR
        rule_line = ""
        for raw in text.replace("\r\n", "\n").split("\n"):
            line = raw.strip()
            if not line:
                continue
            upper = line.upper()
            if upper.startswith("DTSTART"):
                anchor = _parse_dtstart(line, text)
            elif upper.startswith("RRULE:") or upper.startswith("FREQ=") or "=" in line:
                if rule_line:
                    raise RRuleSyntaxError(f"rrule {text!r}: only one RRULE line is supported")
                rule_line = line.split(":", 1)[1] if upper.startswith("RRULE:") else line
            else:
                raise RRuleSyntaxError(f"rrule {text!r}: only DTSTART and RRULE lines are supported")
        parts = _split(rule_line, text)
        keys = dict(parts)
        freq = keys.get("FREQ", "")
        if freq not in _FREQS:
            raise RRuleSyntaxError(f"rrule {text!r}: FREQ must be one of {', '.join(_FREQS)}")
        explicit = _with_defaults(parts, _FREQS.index(freq), anchor)
        rule = cls(
            text=text,
            parts=explicit,
            anchor=anchor,
            freq=_FREQS.index(freq),
            interval=int(keys.get("INTERVAL", "1") or "1"),
            counted="COUNT" in keys,
            empty=_never_fires(dict(explicit), _FREQS.index(freq)),
        )
        rule.build(anchor)  # let dateutil reject what it cannot evaluate, now rather than at plan time
        return rule

    def build(self, anchor: datetime) -> rrule:
        """A dateutil rule anchored at ``anchor`` (which must be a whole number of periods from ours)."""
        line = "RRULE:" + ";".join(f"{k}={v}" for k, v in self.parts)
        try:
            built = rrulestr(line, dtstart=anchor, ignoretz=True)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise RRuleSyntaxError(f"rrule {self.text!r} is invalid: {exc}") from exc
        assert isinstance(built, rrule)
        return built

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Yield every naive wall-clock time the rule names in ``[start, end)``, in order."""
        if self.empty:
            return  # dateutil would search period after period up to year 9999
        anchor = self.anchor if self.counted else self._anchor_before(start)
        for value in self.build(anchor).xafter(start, inc=True):
            if value >= end:
                return
            yield value

    def _anchor_before(self, start: datetime) -> datetime:
        """The latest anchor, a whole number of periods after ours, at least one period before ``start``."""
        anchor, n = self.anchor, self.interval
        if start <= anchor:
            return anchor
        if self.freq == 0:
            k = (start.year - anchor.year) // n - 1
            return anchor.replace(year=anchor.year + k * n, month=1, day=1) if k > 0 else anchor
        if self.freq == 1:
            months = (start.year - anchor.year) * 12 + start.month - anchor.month
            k = months // n - 1
            return anchor.replace(day=1) + relativedelta(months=k * n) if k > 0 else anchor
        step = (
            timedelta(weeks=n),
            timedelta(days=n),
            timedelta(hours=n),
            timedelta(minutes=n),
            timedelta(seconds=n),
        )[self.freq - 2]
        k = (start - anchor) // step - 1
        return anchor + step * k if k > 0 else anchor


def _parse_dtstart(line: str, text: str) -> datetime:
    value = line.split(":", 1)[-1].strip().rstrip("Zz")
    for fmt in ("%Y%m%dT%H%M%S", "%Y%m%d"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise RRuleSyntaxError(f"rrule {text!r}: DTSTART {value!r} is not YYYYMMDD or YYYYMMDDTHHMMSS")


def _split(rule_line: str, text: str) -> tuple[tuple[str, str], ...]:
    parts: list[tuple[str, str]] = []
    for chunk in rule_line.strip().strip(";").split(";"):
        if "=" not in chunk:
            raise RRuleSyntaxError(f"rrule {text!r}: {chunk!r} is not NAME=VALUE")
        key, value = chunk.split("=", 1)
        key = key.strip().upper()
        if any(k == key for k, _ in parts):
            raise RRuleSyntaxError(f"rrule {text!r}: {key} is given twice")
        parts.append((key, value.strip().upper()))
    return tuple(parts)


def _with_defaults(parts: tuple[tuple[str, str], ...], freq: int, anchor: datetime) -> tuple[tuple[str, str], ...]:
    """Write the parts RFC 5545 (and dateutil) take from the anchor into the rule itself."""
    keys = {k for k, _ in parts}
    extra: list[tuple[str, str]] = []
    if not keys & {"BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYEASTER"}:
        if freq == 0:
            if "BYMONTH" not in keys:
                extra.append(("BYMONTH", str(anchor.month)))
            extra.append(("BYMONTHDAY", str(anchor.day)))
        elif freq == 1:
            extra.append(("BYMONTHDAY", str(anchor.day)))
        elif freq == 2:
            extra.append(("BYDAY", _WEEKDAYS[anchor.weekday()]))
    for key, coarser_than, value in (
        ("BYHOUR", 4, anchor.hour),
        ("BYMINUTE", 5, anchor.minute),
        ("BYSECOND", 6, anchor.second),
    ):
        if key not in keys and freq < coarser_than:
            extra.append((key, str(value)))
    return parts + tuple(extra)


_DAYS_PER_PERIOD = (366, 31, 7, 1, 1, 1, 1)
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _ints(value: str | None) -> list[int]:
    if not value:
        return []
    try:
        return [int(v) for v in value.split(",")]
    except ValueError:
        return []


def _never_fires(parts: dict[str, str], freq: int) -> str:
    """Why the rule can never fire, for the patterns dateutil would search for until year 9999.

    dateutil checks UNTIL only against results, so a rule that is empty in every period never
    returns. Two shapes cover the realistic mistakes: BYSETPOS beyond the largest possible set of a
    period (``FREQ=DAILY;BYDAY=TU;BYSETPOS=2``) and days of month that none of the months has.
    """
    months = _ints(parts.get("BYMONTH")) or list(range(1, 13))
    monthdays = _ints(parts.get("BYMONTHDAY"))
    if monthdays and not parts.get("BYYEARDAY") and not parts.get("BYWEEKNO"):
        longest = max(_MONTH_DAYS[m - 1] for m in months if 1 <= m <= 12) if months else 31
        if all(abs(d) > longest for d in monthdays):
            return f"no month among BYMONTH has day {','.join(map(str, monthdays))}"
    setpos = _ints(parts.get("BYSETPOS"))
    if setpos:
        days = _DAYS_PER_PERIOD[freq]
        byday = parts.get("BYDAY", "")
        if byday and freq <= 2:
            per_weekday = (53, 5, 1)[freq]
            days = min(days, per_weekday * len(byday.split(",")))
        if monthdays:
            days = min(days, len(monthdays) * (12 if freq == 0 else 1))
        size = days
        for key, limit, finer in (("BYHOUR", 24, 4), ("BYMINUTE", 60, 5), ("BYSECOND", 60, 6)):
            if freq < finer:
                size *= len(_ints(parts.get(key))) or limit
        if all(abs(p) > size for p in setpos):
            return f"BYSETPOS={parts['BYSETPOS']} exceeds the at most {size} instant(s) of each period"
    return ""
