"""The late-start rule: where an occurrence stands at a given instant.

An occurrence may start from its start until ``max_start_delay`` later, and never at or after its
cutoff (``end - cutoff``: no new work starts after it). Once that chance has passed without a run, the
occurrence is *missed*: it is recorded, never caught up later, so a runner that was down for a day
does not fire a storm of stale work when it comes back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from runner.catalogue.model import Window
from runner.schedule.occurrence import Occurrence, occurrences


class Status(StrEnum):
    UPCOMING = "upcoming"  # not started yet
    OPEN = "open"  # may start now
    MISSED = "missed"  # inside the window, but too late to start
    CLOSED = "closed"  # the window has ended


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


def classify(occurrence: Occurrence, now: datetime) -> Status:
    """Where ``occurrence`` stands at ``now`` (aware) for a run that has not started yet.

    ``OPEN`` while ``start <= now <= start + max_start_delay`` and ``now < cutoff_at``; ``MISSED``
    after that until the end; ``CLOSED`` from the end on.
    """
    now = _aware(now)
    if now < occurrence.start_utc:
        return Status.UPCOMING
    if now >= occurrence.end_utc:
        return Status.CLOSED
    if now <= occurrence.start_utc + occurrence.max_start_delay and now < occurrence.cutoff_at:
        return Status.OPEN
    return Status.MISSED


def accepts_new_work(occurrence: Occurrence, now: datetime) -> bool:
    """Whether a run of ``occurrence`` that has started may begin new work (a batch) at ``now``."""
    now = _aware(now)
    return occurrence.start_utc <= now < occurrence.cutoff_at


def due(window: Window, now: datetime) -> Occurrence | None:
    """The occurrence of ``window`` that may start at ``now``, or None.

    If occurrences overlap (a window longer than its period), the latest open one wins.
    """
    now = _aware(now)
    reach = max(window.max_start_delay, timedelta(0))
    found = [o for o in occurrences(window, now - reach, now + timedelta(seconds=1)) if classify(o, now) is Status.OPEN]
    return found[-1] if found else None


def missed_between(window: Window, since: datetime, now: datetime) -> list[Occurrence]:
    """Occurrences that started at or after ``since`` whose chance to start has passed by ``now``.

    A runner that comes back after downtime records these as missed instead of running them.
    """
    now = _aware(now)
    return [o for o in occurrences(window, _aware(since), now) if now > o.latest_start]
