"""Property tests of the DST rule over real transitions in four zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from runner.catalogue.model import Window
from runner.schedule import occurrences
from runner.schedule.dst import ZoneDays, exists, is_ambiguous, resolve_local

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
# Transition days of 2026 (and Kolkata, which has none, on the same dates).
TRANSITIONS = {
    "Europe/Berlin": (date(2026, 3, 29), date(2026, 10, 25)),
    "America/New_York": (date(2026, 3, 8), date(2026, 11, 1)),
    "Australia/Lord_Howe": (date(2026, 4, 5), date(2026, 10, 4)),
    "Asia/Kolkata": (date(2026, 3, 29), date(2026, 10, 25)),
}

zones = st.sampled_from(ZONES)
daily_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 29, 30, 45, 59]))


def _around(zone: str, pick: int, shift: int) -> date:
    return TRANSITIONS[zone][pick] + timedelta(days=shift)


@settings(max_examples=300, deadline=None)
@given(zones, st.integers(0, 1), st.integers(-3, 3), daily_times)
def test_resolved_instant_is_valid_and_follows_rule(zone: str, pick: int, shift: int, at: time) -> None:
    tz = ZoneInfo(zone)
    naive = datetime.combine(_around(zone, pick, shift), at)
    got = resolve_local(naive, tz)
    local = got.replace(tzinfo=None)
    # The result is a real instant whose wall-clock time round-trips.
    assert got.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local
    if exists(naive, tz):
        assert local == naive
        if is_ambiguous(naive, tz):
            # First occurrence: the earlier of the two instants.
            later = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
            assert got.astimezone(UTC) < later
    else:
        # Nonexistent: the first valid instant after the gap, i.e. the transition itself.
        assert local > naive
        just_before = got.astimezone(UTC) - timedelta(seconds=1)
        assert just_before.astimezone(tz).replace(tzinfo=None) < naive
        assert got.utcoffset() != just_before.astimezone(tz).utcoffset()


@settings(max_examples=150, deadline=None)
@given(zones, st.integers(0, 1), daily_times, st.integers(1, 6 * 60))
def test_daily_window_fires_once_per_day_across_transitions(zone: str, pick: int, at: time, minutes: int) -> None:
    day = TRANSITIONS[zone][pick]
    window = Window(
        name="w",
        timezone=zone,
        cron=f"{at.minute} {at.hour} * * *",
        duration=timedelta(minutes=minutes),
    )
    tz = ZoneInfo(zone)
    lo = datetime.combine(day - timedelta(days=3), time(), tz)
    hi = datetime.combine(day + timedelta(days=4), time(), tz)
    occ = occurrences(window, lo, hi)
    assert [o.start.date() for o in occ] == [day + timedelta(days=d) for d in range(-3, 4)]
    starts = [o.start_utc for o in occ]
    assert starts == sorted(set(starts))
    for o in occ:
        assert o.end_utc - o.start_utc == timedelta(minutes=minutes)  # elapsed time
        assert o.start == resolve_local(datetime.combine(o.start.date(), at), tz)
        assert o.start.tzinfo is not None and o.start_utc.tzinfo is not None


@settings(max_examples=100, deadline=None)
@given(zones, st.integers(0, 1), st.sampled_from(["*/15 * * * *", "0 * * * *", "30 1-3 * * *", "*/20 2 * * *"]))
def test_subdaily_rules_never_double_fire(zone: str, pick: int, cron: str) -> None:
    day = TRANSITIONS[zone][pick]
    tz = ZoneInfo(zone)
    window = Window(name="w", timezone=zone, cron=cron, duration=timedelta(minutes=10))
    occ = occurrences(window, datetime.combine(day, time(), tz), datetime.combine(day + timedelta(days=1), time(), tz))
    starts = [o.start_utc for o in occ]
    assert starts == sorted(set(starts)), "strictly increasing, no instant twice"
    keys = [o.key for o in occ]
    assert len(keys) == len(set(keys))
    for o in occ:
        assert o.start == resolve_local(o.nominal, tz)
        # Every wall-clock time that exists on this day and matches the rule fires.
    wall = {o.nominal for o in occ}
    for o in occ:
        if exists(o.nominal, tz):
            assert o.start.replace(tzinfo=None) == o.nominal
    assert all(n.date() == day for n in wall)


@settings(max_examples=100, deadline=None)
@given(zones, st.integers(0, 1), daily_times, st.integers(0, 6))
def test_rrule_and_cron_agree_on_transition_days(zone: str, pick: int, at: time, offset: int) -> None:
    day = TRANSITIONS[zone][pick]
    tz = ZoneInfo(zone)
    common = {"name": "w", "timezone": zone, "duration": timedelta(hours=1), "offset_days": offset}
    cron = Window(cron=f"{at.minute} {at.hour} * * *", **common)  # type: ignore[arg-type]
    rrule = Window(rrule=f"FREQ=DAILY;BYHOUR={at.hour};BYMINUTE={at.minute}", **common)  # type: ignore[arg-type]
    lo = datetime.combine(day - timedelta(days=2), time(), tz)
    hi = datetime.combine(day + timedelta(days=2), time(), tz)
    a, b = occurrences(cron, lo, hi), occurrences(rrule, lo, hi)
    assert [o.start_utc for o in a] == [o.start_utc for o in b]
    assert [o.key for o in a] == [o.key for o in b]


# Zones with transitions at local midnight (Santiago, Havana) and a half-hour shift (Lord Howe) test the
# per-day shortcut's edges; Kolkata has no transitions at all.
FAST_PATH_ZONES = (*ZONES, "America/Santiago", "America/Havana", "Asia/Beirut", "Pacific/Chatham")


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(FAST_PATH_ZONES),
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)),
)
@example("America/New_York", datetime(2028, 3, 12, 2, 0, fold=1))  # a fold flag on a time in a gap
@example("America/New_York", datetime(2028, 11, 5, 1, 30, fold=1))  # and on a time in a fold
def test_zone_days_matches_the_rule(zone: str, naive: datetime) -> None:
    """The plan's per-day shortcut gives exactly the instants of :func:`resolve_local`, transition days too."""
    tz = ZoneInfo(zone)
    local, utc = ZoneDays(tz).resolve(naive)
    want = resolve_local(naive, tz)
    assert (local, local.utcoffset(), local.tzinfo) == (want, want.utcoffset(), tz)
    # compared in UTC: an instant in a fold compares unequal to any other zone's (PEP 495)
    assert utc == want.astimezone(UTC) and utc.tzinfo is UTC
    assert local.replace(tzinfo=None) == want.replace(tzinfo=None)


@pytest.mark.parametrize("zone", FAST_PATH_ZONES)
def test_zone_days_on_every_transition_day(zone: str) -> None:
    """Every quarter hour of every day of two years, against the rule (transition days included)."""
    tz = ZoneInfo(zone)
    days = ZoneDays(tz)
    naive = datetime(2026, 1, 1)
    while naive < datetime(2028, 1, 1):
        local, utc = days.resolve(naive)
        want = resolve_local(naive, tz)
        assert (local.replace(tzinfo=None), local.utcoffset(), utc) == (
            want.replace(tzinfo=None), want.utcoffset(), want.astimezone(UTC),
        ), naive
        naive += timedelta(minutes=15)
