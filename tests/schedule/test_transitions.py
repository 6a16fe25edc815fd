"""Hand-picked cases on the exact transition days, as data: (zone, cron, day) -> expected local starts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from runner.catalogue.model import Window
from runner.schedule import occurrences

CASES = [
    # Berlin spring forward 02:00 CET -> 03:00 CEST
    ("Europe/Berlin", "30 2 * * *", date(2026, 3, 29), ["2026-03-29T03:00:00+02:00"]),
    ("Europe/Berlin", "0 2 * * *", date(2026, 3, 29), ["2026-03-29T03:00:00+02:00"]),
    ("Europe/Berlin", "0 3 * * *", date(2026, 3, 29), ["2026-03-29T03:00:00+02:00"]),
    ("Europe/Berlin", "59 1 * * *", date(2026, 3, 29), ["2026-03-29T01:59:00+01:00"]),
    ("Europe/Berlin", "0,30 2,3 * * *", date(2026, 3, 29), ["2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"]),
    # Berlin fall back 03:00 CEST -> 02:00 CET: 02:xx happens twice, runs at the first
    ("Europe/Berlin", "30 2 * * *", date(2026, 10, 25), ["2026-10-25T02:30:00+02:00"]),
    ("Europe/Berlin", "0 2,3 * * *", date(2026, 10, 25), ["2026-10-25T02:00:00+02:00", "2026-10-25T03:00:00+01:00"]),
    # New York spring forward 02:00 EST -> 03:00 EDT; fall back 02:00 EDT -> 01:00 EST
    ("America/New_York", "30 2 * * *", date(2026, 3, 8), ["2026-03-08T03:00:00-04:00"]),
    ("America/New_York", "30 1 * * *", date(2026, 11, 1), ["2026-11-01T01:30:00-04:00"]),
    ("America/New_York", "0 1,2 * * *", date(2026, 11, 1), ["2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00"]),
    # Lord Howe: 30-minute shift. Spring forward 02:00 -> 02:30 (+10:30 -> +11); fall back 02:00 -> 01:30
    ("Australia/Lord_Howe", "15 2 * * *", date(2026, 10, 4), ["2026-10-04T02:30:00+11:00"]),
    (
        "Australia/Lord_Howe",
        "0,15,30,45 2 * * *",
        date(2026, 10, 4),
        ["2026-10-04T02:30:00+11:00", "2026-10-04T02:45:00+11:00"],
    ),
    ("Australia/Lord_Howe", "45 1 * * *", date(2026, 4, 5), ["2026-04-05T01:45:00+11:00"]),
    (
        "Australia/Lord_Howe",
        "45 1,2 * * *",
        date(2026, 4, 5),
        ["2026-04-05T01:45:00+11:00", "2026-04-05T02:45:00+10:30"],
    ),
    # Kolkata: no DST at all
    ("Asia/Kolkata", "30 2 * * *", date(2026, 3, 29), ["2026-03-29T02:30:00+05:30"]),
]


@pytest.mark.parametrize(("zone", "cron", "day", "expected"), CASES)
def test_transition_day(zone: str, cron: str, day: date, expected: list[str]) -> None:
    tz = ZoneInfo(zone)
    window = Window(name="w", timezone=zone, cron=cron, duration=timedelta(hours=1))
    got = occurrences(window, datetime.combine(day, time(), tz), datetime.combine(day + timedelta(days=1), time(), tz))
    assert [o.start.isoformat() for o in got] == expected


def test_rrule_evaluates_on_local_time_too() -> None:
    window = Window(
        name="w", timezone="Europe/Berlin", rrule="FREQ=DAILY;BYHOUR=2;BYMINUTE=30", duration=timedelta(hours=1)
    )
    tz = ZoneInfo("Europe/Berlin")
    got = occurrences(window, datetime(2026, 3, 28, tzinfo=tz), datetime(2026, 3, 31, tzinfo=tz))
    assert [o.start.isoformat() for o in got] == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]
    assert got[1].shifted and got[1].nominal == datetime(2026, 3, 29, 2, 30)


def test_duration_is_elapsed_time_across_spring_forward() -> None:
    window = Window(name="w", timezone="Europe/Berlin", cron="0 1 * * *", duration=timedelta(hours=3))
    tz = ZoneInfo("Europe/Berlin")
    (occ,) = occurrences(window, datetime(2026, 3, 29, tzinfo=tz), datetime(2026, 3, 29, 12, tzinfo=tz))
    assert occ.end.isoformat() == "2026-03-29T05:00:00+02:00"
    assert occ.end_utc - occ.start_utc == timedelta(hours=3)
