"""The late-start rule (classify, due, missed) and freezes (absolute, recurring, global, per group)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from runner.catalogue.model import Freeze, FreezeRange, Location, Window
from runner.errors import CatalogueError
from runner.schedule import Status, accepts_new_work, classify, due, freezes_covering, missed_between, occurrences
from runner.schedule.freeze import freeze_intervals

BERLIN = ZoneInfo("Europe/Berlin")
WINDOW = Window(
    name="nightly",
    timezone="Europe/Berlin",
    cron="0 2 * * *",
    duration=timedelta(hours=3),
    cutoff=timedelta(minutes=30),
    max_start_delay=timedelta(minutes=15),
)


def _first() -> object:
    return occurrences(WINDOW, datetime(2026, 6, 1, tzinfo=BERLIN), datetime(2026, 6, 2, tzinfo=BERLIN))[0]


@pytest.mark.parametrize(
    ("local", "status"),
    [
        ("2026-06-01T01:59:59", Status.UPCOMING),
        ("2026-06-01T02:00:00", Status.OPEN),
        ("2026-06-01T02:15:00", Status.OPEN),
        ("2026-06-01T02:15:01", Status.MISSED),
        ("2026-06-01T04:59:59", Status.MISSED),
        ("2026-06-01T05:00:00", Status.CLOSED),
    ],
)
def test_classify(local: str, status: Status) -> None:
    (occ,) = occurrences(WINDOW, datetime(2026, 6, 1, tzinfo=BERLIN), datetime(2026, 6, 2, tzinfo=BERLIN))
    assert classify(occ, datetime.fromisoformat(local).replace(tzinfo=BERLIN)) is status


def test_cutoff_stops_new_work_and_late_starts() -> None:
    window = Window(
        name="w",
        timezone="UTC",
        cron="0 2 * * *",
        duration=timedelta(hours=1),
        cutoff=timedelta(minutes=50),
        max_start_delay=timedelta(minutes=30),
    )
    (occ,) = occurrences(window, datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC))
    assert occ.cutoff_at == datetime(2026, 6, 1, 2, 10, tzinfo=UTC)
    assert occ.latest_start == occ.cutoff_at  # the cutoff comes before the start delay runs out
    assert classify(occ, datetime(2026, 6, 1, 2, 9, 59, tzinfo=UTC)) is Status.OPEN
    assert classify(occ, datetime(2026, 6, 1, 2, 10, tzinfo=UTC)) is Status.MISSED
    assert accepts_new_work(occ, datetime(2026, 6, 1, 2, 9, tzinfo=UTC))
    assert not accepts_new_work(occ, datetime(2026, 6, 1, 2, 10, tzinfo=UTC))


def test_due_returns_the_open_occurrence_only() -> None:
    assert due(WINDOW, datetime(2026, 6, 1, 2, 5, tzinfo=BERLIN)) is not None
    assert due(WINDOW, datetime(2026, 6, 1, 2, 20, tzinfo=BERLIN)) is None
    assert due(WINDOW, datetime(2026, 6, 1, 1, 59, tzinfo=BERLIN)) is None
    occ = due(WINDOW, datetime(2026, 6, 1, 2, 5, tzinfo=BERLIN))
    assert occ is not None and occ.key == "nightly@2026-06-01T02:00:00+02:00"


def test_no_catch_up_after_downtime() -> None:
    # The runner was down three days; coming back at 02:05 it may run today's, the others are missed.
    now = datetime(2026, 6, 4, 2, 5, tzinfo=BERLIN)
    missed = missed_between(WINDOW, datetime(2026, 6, 1, tzinfo=BERLIN), now)
    assert [o.start.day for o in missed] == [1, 2, 3]
    assert due(WINDOW, now) is not None


def test_naive_now_is_refused() -> None:
    (occ,) = occurrences(WINDOW, datetime(2026, 6, 1, tzinfo=BERLIN), datetime(2026, 6, 2, tzinfo=BERLIN))
    with pytest.raises(ValueError):
        classify(occ, datetime(2026, 6, 1, 2, 5))


def test_keys_are_stable_and_unique() -> None:
    a = occurrences(WINDOW, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    b = occurrences(WINDOW, datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert len({o.key for o in a}) == len(a)
    assert {o.key for o in b} <= {o.key for o in a}


def test_unknown_zone_and_bad_rule_name_their_file() -> None:
    where = Location(file="maintenance/windows.yml", line=7, column=3)
    bad_zone = Window(name="x", timezone="Mars/Olympus", cron="0 2 * * *", duration=timedelta(hours=1), location=where)
    with pytest.raises(CatalogueError, match=r"maintenance/windows.yml:7:3.*Mars/Olympus"):
        occurrences(bad_zone, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    bad_cron = Window(name="x", timezone="UTC", cron="0 25 * * *", duration=timedelta(hours=1), location=where)
    with pytest.raises(CatalogueError, match="cron"):
        occurrences(bad_cron, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))


YEAR_END = Freeze(
    name="year-end",
    reason="holidays",
    ranges=(FreezeRange(start=datetime(2026, 12, 20, tzinfo=BERLIN), end=datetime(2027, 1, 2, tzinfo=BERLIN)),),
)
DB_WEEKENDS = Freeze(
    name="db-weekends",
    groups=("db",),
    rrule="FREQ=WEEKLY;BYDAY=SA;BYHOUR=0;BYMINUTE=0",
    timezone="Europe/Berlin",
    duration=timedelta(days=2),
)


def _on(day: date) -> object:
    (occ,) = occurrences(
        WINDOW, datetime.combine(day, datetime.min.time(), BERLIN), datetime.combine(day, datetime.max.time(), BERLIN)
    )
    return occ


def test_global_absolute_freeze_covers_every_group() -> None:
    occ = _on(date(2026, 12, 24))
    assert [iv.freeze.name for iv in freezes_covering(occ, {"web"}, [YEAR_END, DB_WEEKENDS])] == ["year-end"]
    assert freezes_covering(_on(date(2026, 12, 19)), {"web"}, [YEAR_END]) == []


def test_recurring_group_freeze_covers_only_its_group() -> None:
    saturday = _on(date(2026, 6, 6))
    assert [iv.freeze.name for iv in freezes_covering(saturday, {"db"}, [DB_WEEKENDS])] == ["db-weekends"]
    assert freezes_covering(saturday, {"web"}, [DB_WEEKENDS]) == []
    assert freezes_covering(_on(date(2026, 6, 8)), {"db"}, [DB_WEEKENDS]) == []  # Monday


def test_recurring_freeze_spans_follow_local_time_across_dst() -> None:
    spans = freeze_intervals(DB_WEEKENDS, datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    (span,) = spans
    assert span.start == datetime(2026, 3, 28, tzinfo=BERLIN)
    assert span.end - span.start == timedelta(days=2)  # elapsed: ends 01:00 local on Monday


def test_planner_freeze_search_matches_direct_search() -> None:
    from runner.plan.build import _frozen
    from runner.plan.overlaps import Times

    lo, hi = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 10, tzinfo=UTC)
    spans = freeze_intervals(YEAR_END, lo, hi) + freeze_intervals(DB_WEEKENDS, lo, hi)
    occs = occurrences(WINDOW, lo, datetime(2027, 1, 5, tzinfo=UTC))
    indexed = _frozen(Times.of(occs), spans)
    for i, occ in enumerate(occs):
        direct = {iv.start for iv in freezes_covering(occ, {"db"}, [YEAR_END, DB_WEEKENDS])}
        assert {iv.start for iv in indexed.get(i, ())} == direct


def test_overlapping_range_includes_occurrences_already_running() -> None:
    now = datetime(2026, 6, 1, 3, 0, tzinfo=BERLIN)
    assert occurrences(WINDOW, now, now + timedelta(hours=1)) == []
    (running,) = occurrences(WINDOW, now, now + timedelta(hours=1), overlapping=True)
    assert running.start == datetime(2026, 6, 1, 2, 0, tzinfo=BERLIN)
    assert (
        occurrences(WINDOW, datetime(2026, 6, 1, 5, 0, tzinfo=BERLIN), now + timedelta(hours=3), overlapping=True) == []
    )
