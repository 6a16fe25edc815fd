"""Rule evaluation against the libraries themselves: our cron walk equals croniter on wall-clock time,
and the RRULE anchor jump equals dateutil iterating from the true anchor."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from croniter import croniter
from croniter.croniter import CroniterBadDateError
from dateutil.rrule import rrulestr
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from runner.schedule.cron import CronRule, CronSyntaxError
from runner.schedule.rrule import RRule, RRuleSyntaxError


def _field(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just("*"),
        st.integers(lo, hi).map(str),
        st.tuples(st.integers(lo, hi), st.integers(lo, hi)).map(lambda t: f"{min(t)}-{max(t)}"),
        st.integers(2, 9).map(lambda s: f"*/{s}"),
        st.lists(st.integers(lo, hi), min_size=2, max_size=3, unique=True).map(lambda v: ",".join(map(str, v))),
    )


crons = st.one_of(
    st.tuples(_field(0, 59), _field(0, 23), _field(1, 31), _field(1, 12), _field(0, 6)).map(" ".join),
    st.tuples(
        st.integers(0, 59), st.integers(0, 23), st.integers(0, 6), st.sampled_from(["1", "2", "3", "4", "L"])
    ).map(lambda t: f"{t[0]} {t[1]} * * {t[2]}#{t[3]}" if t[3] != "L" else f"{t[0]} {t[1]} * * L{t[2]}"),
    st.sampled_from(["@daily", "@weekly", "@monthly", "@yearly", "0 2 L * *", "0 2 1,L * *", "0 2 29 2 *"]),
)


@pytest.mark.timeout(120)
@settings(max_examples=200, deadline=None)
@given(crons, st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1)))
def test_cron_walk_equals_croniter_on_wall_clock(expr: str, start: datetime) -> None:
    start = start.replace(second=0, microsecond=0)
    ours = CronRule.parse(expr)
    end = start + timedelta(days=120)
    got = list(ours.between(start, end))[:40]
    # croniter on a UTC-labelled wall clock has no DST to adjust for: pure wall-clock semantics.
    it = croniter(expr, start.replace(tzinfo=UTC) - timedelta(minutes=1), max_years_between_matches=1)
    want: list[datetime] = []
    while len(want) < 40:
        try:
            nxt = it.get_next(datetime).replace(tzinfo=None)
        except CroniterBadDateError:
            break
        if nxt >= end:
            break
        want.append(nxt)
    assert got == want


@pytest.mark.parametrize(
    "expr",
    ["", "1 2 3", "0 0 0 0 0 0", "61 * * * *", "0 2 15W * *", "0 2 1 * 2#1", "nonsense here x y z", "0 25 * * *"],
)
def test_cron_rejects(expr: str) -> None:
    with pytest.raises(CronSyntaxError):
        CronRule.parse(expr)


rrules = st.tuples(
    st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"]),
    st.integers(1, 4),
    st.sampled_from(["", ";BYDAY=TU", ";BYDAY=MO,FR", ";BYMONTHDAY=1,15", ";BYDAY=TU;BYSETPOS=2", ";BYMONTH=3,10"]),
    st.sampled_from(["", ";BYHOUR=2;BYMINUTE=30", ";BYHOUR=0,12"]),
).map(lambda t: f"FREQ={t[0]};INTERVAL={t[1]}{t[2]}{t[3]}")


@settings(max_examples=200, deadline=None)
@given(
    rrules,
    st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 1, 1)),
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1)),
)
def test_rrule_anchor_jump_equals_dateutil(text: str, anchor_day: date, start: datetime) -> None:
    end = start + timedelta(days=60)
    anchor = datetime.combine(anchor_day, datetime.min.time())
    try:
        empty = RRule.parse(text, anchor_day).empty
    except RRuleSyntaxError:
        empty = ""
    # dateutil itself would search for an empty rule until year 9999; ours knows it is empty.
    assume(not empty)
    try:
        reference = rrulestr(text, dtstart=anchor)
    except ValueError:  # e.g. HOURLY;INTERVAL=3;BYHOUR=2 from midnight never fires: both must refuse
        with pytest.raises(RRuleSyntaxError):
            RRule.parse(text, anchor_day)
        return
    ours = RRule.parse(text, anchor_day)
    assert list(ours.between(start, end)) == [d for d in reference.between(start, end, inc=True) if d < end]


def test_rrule_anchor_jump_exact() -> None:
    text = "FREQ=WEEKLY;INTERVAL=3"
    ours = RRule.parse(text, date(2001, 5, 9))
    start, end = datetime(2027, 1, 1), datetime(2027, 6, 1)
    want = [d for d in rrulestr(text, dtstart=datetime(2001, 5, 9)).between(start, end, inc=True) if d < end]
    assert list(ours.between(start, end)) == want
    assert want and all(d.weekday() == 2 for d in want)


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=FORTNIGHTLY",
        "BYDAY=MO",
        "FREQ=DAILY;BYHOUR=24",
        "FREQ=DAILY;FREQ=WEEKLY",
        "EXDATE:20260101",
        "FREQ=DAILY;X",
    ],
)
def test_rrule_rejects(text: str) -> None:
    with pytest.raises(RRuleSyntaxError):
        RRule.parse(text)


def test_rrule_dtstart_line_sets_anchor() -> None:
    rule = RRule.parse("DTSTART:20260105T021500\nRRULE:FREQ=WEEKLY;INTERVAL=2")
    got = list(rule.between(datetime(2026, 1, 1), datetime(2026, 2, 10)))
    assert got == [datetime(2026, 1, 5, 2, 15), datetime(2026, 1, 19, 2, 15), datetime(2026, 2, 2, 2, 15)]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "text",
    [
        "FREQ=DAILY;BYDAY=TU;BYSETPOS=2",
        "FREQ=HOURLY;INTERVAL=3;BYDAY=TU;BYSETPOS=2",
        "FREQ=WEEKLY;BYDAY=TU;BYSETPOS=-2",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=31",
    ],
)
def test_rules_that_can_never_fire_are_known_empty_and_return_at_once(text: str) -> None:
    rule = RRule.parse(text)
    assert rule.empty
    assert list(rule.between(datetime(2026, 1, 1), datetime(2036, 1, 1))) == []


@pytest.mark.parametrize("text", ["FREQ=MONTHLY;BYDAY=MO;BYSETPOS=5", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"])
def test_rare_but_possible_rules_are_not_empty(text: str) -> None:
    rule = RRule.parse(text)
    assert not rule.empty
    assert list(rule.between(datetime(2026, 1, 1), datetime(2030, 1, 1)))
