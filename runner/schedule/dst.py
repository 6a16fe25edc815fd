"""The DST rule: how a local wall-clock time a rule produces becomes one instant.

Windows and recurring freezes are evaluated on local wall-clock time in their IANA zone. Around a
daylight-saving transition a wall-clock time can be missing or doubled; maintctl resolves it so:

* A local time that does not exist (the spring-forward gap) runs at the first valid instant after
  the gap. 02:30 on Berlin's spring-forward day (2026-03-29) runs at 03:00 CEST; 02:15 on Lord Howe's
  (2026-10-04, a 30-minute shift) runs at 02:30 +11:00.
* A local time that occurs twice (fall back) runs once, at its first occurrence (``fold=0``): 02:30 on
  Berlin's fall-back day (2026-10-25) runs at 02:30 CEST, never again at 02:30 CET.
* Several wall-clock times that resolve to the same instant (02:00, 02:15, 02:30 and 02:45 inside one
  gap) fire once: occurrences are strictly increasing and never doubled.
* A window's duration is elapsed (absolute) time: a 3-hour window that starts at 01:00 on
  spring-forward day ends at 05:00 local, three real hours later.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)


def resolve_local(naive: datetime, tz: ZoneInfo) -> datetime:
    """Return the instant (aware, in ``tz``) at which the wall-clock time ``naive`` runs.

    Applies the DST rule of this module: gaps move forward to the end of the gap, folds take the
    first occurrence. The result's ``tzinfo`` is ``tz``.
    """
    naive = naive.replace(fold=0)  # the rule decides gaps and folds, not a fold the caller's value carries
    aware = naive.replace(tzinfo=tz)
    offset = aware.utcoffset()
    if offset == aware.replace(fold=1).utcoffset():
        return aware  # the common case: neither in a gap nor in a fold
    first = aware.astimezone(UTC)
    local = first.astimezone(tz)
    if local.replace(tzinfo=None) == naive:
        return local
    return _gap_end(naive, tz).astimezone(tz)


def _gap_end(naive: datetime, tz: ZoneInfo) -> datetime:
    """The first valid instant (UTC) after the gap that swallows ``naive``.

    With the offsets before (``fold=0``) and after (``fold=1``) the gap, the transition instant lies in
    ``(naive - after, naive - before]``; a binary search on whole seconds finds the first instant whose
    offset is already the new one. Transitions in the tz database fall on whole seconds.
    """
    before = naive.replace(tzinfo=tz, fold=0).utcoffset()
    after = naive.replace(tzinfo=tz, fold=1).utcoffset()
    assert before is not None and after is not None
    plain = naive.replace(tzinfo=UTC)
    lo, hi = plain - after, plain - before  # offset(lo) is the old one, offset(hi) the new one
    while hi - lo > _SECOND:
        mid = lo + (hi - lo) // 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + _SECOND
        if mid.astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def exists(naive: datetime, tz: ZoneInfo) -> bool:
    """Whether the wall-clock time ``naive`` exists in ``tz`` (is not inside a spring-forward gap)."""
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def is_ambiguous(naive: datetime, tz: ZoneInfo) -> bool:
    """Whether the wall-clock time ``naive`` occurs twice in ``tz`` (inside a fall-back fold)."""
    if not exists(naive, tz):
        return False
    return naive.replace(tzinfo=tz, fold=0).utcoffset() != naive.replace(tzinfo=tz, fold=1).utcoffset()


class ZoneDays:
    """:func:`resolve_local` for many wall-clock times in one zone, as ``(local, utc)`` instants.

    A local day whose UTC offset is the same at both its ends, before and after any fold, holds no
    transition (no zone in the tz database changes offset twice within a day), so its times convert by
    plain arithmetic with that offset; only the few days with a transition take the full rule. This is
    the plan's inner loop (a year of 10,000 items): ``datetime.replace`` costs more than the rest.
    """

    __slots__ = ("_tz", "_days")

    def __init__(self, tz: ZoneInfo) -> None:
        self._tz = tz
        # local day -> the naive wall-clock time of the UTC epoch in that day's offset, None on a
        # transition day: ``_EPOCH_UTC + (naive - base)`` is then the instant of ``naive``.
        self._days: dict[date, datetime | None] = {}

    @classmethod
    @lru_cache(maxsize=256)
    def of(cls, tz: ZoneInfo) -> ZoneDays:
        """One per zone, shared by every window in it (most windows fire once a day)."""
        return cls(tz)

    def resolve(self, naive: datetime) -> tuple[datetime, datetime]:
        tz = self._tz
        day = naive.date()
        try:
            base = self._days[day]
        except KeyError:
            offset = _steady_offset(day, tz)
            base = self._days[day] = None if offset is None else _EPOCH_NAIVE + offset
        if base is None:
            local = resolve_local(naive, tz)
            return local, local.astimezone(UTC)
        utc = _EPOCH_UTC + (naive - base)
        return utc.astimezone(tz), utc


_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)


def _steady_offset(day: date, tz: ZoneInfo) -> timedelta | None:
    """The UTC offset in force all through the local ``day``, or None if it changes within it."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = start + _DAY  # wall-clock arithmetic: the next local midnight
    offsets = {
        start.utcoffset(),
        start.replace(fold=1).utcoffset(),
        end.utcoffset(),
        end.replace(fold=1).utcoffset(),
    }
    if len(offsets) != 1:
        return None
    return offsets.pop()
