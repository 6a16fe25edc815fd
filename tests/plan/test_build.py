"""build_plan: occurrences per item, hosts, and each kind of conflict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runner.catalogue.model import Catalogue, Inventory, Window
from runner.errors import CatalogueError, UsageError
from runner.plan import build_plan
from runner.plan.overlaps import Times, window_overlaps
from runner.schedule import occurrences

from .conftest import item

DEC = (datetime(2026, 12, 26, tzinfo=UTC), datetime(2027, 1, 3, tzinfo=UTC))


def _codes(plan: object, item_id: str) -> list[set[str]]:
    planned = plan.planned(item_id)  # type: ignore[attr-defined]
    return [{f.code for f in e.flags} for e in planned.entries()]


def test_hosts_from_groups_and_patterns(catalogue: Catalogue) -> None:
    plan = build_plan(catalogue, *DEC)
    assert plan.planned("web-patch").hosts == ("web1", "web2")
    assert plan.planned("db-backup").hosts == ("db1", "db2")
    assert plan.planned("lonely").hosts == ("cache1",)
    assert plan.disabled == ("off",)
    assert "off" not in {p.item.id for p in plan.items}


def test_occurrences_are_shared_per_window(catalogue: Catalogue) -> None:
    plan = build_plan(catalogue, *DEC)
    assert plan.planned("web-patch").occurrences is plan.planned("db-backup").occurrences
    assert len(plan.planned("web-patch").occurrences) == 8


def test_overlap_same_hosts_overlapping_windows(catalogue: Catalogue) -> None:
    plan = build_plan(catalogue, *DEC)
    pairs = {(o.a, o.b): o for o in plan.overlaps}
    # web-patch (01:00 Berlin = 00:00Z, 2h) overlaps web-drift (00:30Z, 1h) on web1 only.
    overlap = pairs[("web-patch", "web-drift")]
    assert overlap.hosts == ("web1",)
    assert overlap.count == 8
    # same window, disjoint hosts: no overlap; db-emergency and lonely share a window but no host.
    assert ("web-patch", "db-backup") not in pairs
    assert ("db-emergency", "lonely") not in pairs
    assert all(codes >= {"OVERLAP"} for codes in _codes(plan, "web-drift"))
    entry = next(plan.planned("web-drift").entries())
    (flag,) = [f for f in entry.flags if f.code == "OVERLAP"]
    assert flag.ref == "web-patch" and "web1" in flag.detail


def test_two_items_in_one_window_on_one_host_overlap() -> None:
    windows = {"w": Window(name="w", timezone="UTC", cron="0 3 * * *", duration=timedelta(hours=1))}
    items = (item("a", "w", hosts=("h1", "h2")), item("b", "w", hosts=("h2",)), item("c", "w", hosts=("h3",)))
    cat = Catalogue(root=".", windows=windows, freezes=(), items=items, inventory=Inventory(groups={}))
    plan = build_plan(cat, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC))
    assert [(o.a, o.b, o.hosts, o.count) for o in plan.overlaps] == [("a", "b", ("h2",), 2)]


def test_freeze_blocks_and_emergency_overrides_visibly(catalogue: Catalogue) -> None:
    plan = build_plan(catalogue, *DEC)
    by_day = {e.occurrence.start.date().day: e for e in plan.planned("web-patch").entries()}
    assert by_day[31].blocked and by_day[1].blocked and not by_day[30].blocked
    assert {f.ref for f in by_day[31].flags if f.code == "FROZEN"} == {"new-year"}
    emergency = {e.occurrence.start.date().day: e for e in plan.planned("db-emergency").entries()}
    assert not emergency[31].blocked
    assert {f.code for f in emergency[31].flags} == {"EMERGENCY-OVERRIDE"}


def test_group_freeze_reaches_items_targeting_hosts_of_the_group(catalogue: Catalogue) -> None:
    plan = build_plan(catalogue, *DEC)
    # db-backup names hosts by pattern, not the group; the db-sundays freeze still covers it.
    sunday = [e for e in plan.planned("db-backup").entries() if e.occurrence.start.weekday() == 6]
    assert sunday and all(any(f.ref == "db-sundays" for f in e.flags) for e in sunday)
    assert not any(f.ref == "db-sundays" for e in plan.planned("web-patch").entries() for f in e.flags)


def test_too_short_compares_usable_span(catalogue: Catalogue) -> None:
    plan = build_plan(catalogue, *DEC)
    planned = plan.planned("db-backup")  # needs 2h, window 2h minus 30m cutoff
    assert [f.code for f in planned.item_flags] == ["TOO-SHORT"]
    assert "1h30m" in planned.item_flags[0].detail
    assert not plan.planned("web-patch").item_flags


def test_never_fires(catalogue: Catalogue) -> None:
    plan = build_plan(catalogue, *DEC)
    assert set(plan.never_fires) == {"feb30"}
    assert [f.code for f in plan.planned("never").item_flags] == ["NEVER-FIRES"]
    assert plan.planned("never").occurrences == ()


def test_leap_day_and_ended_windows() -> None:
    windows = {
        "leap": Window(name="leap", timezone="UTC", cron="0 2 29 2 *", duration=timedelta(hours=1)),
        "ended": Window(
            name="ended",
            timezone="UTC",
            cron="0 2 * * *",
            duration=timedelta(hours=1),
            end_date=datetime(2025, 1, 1).date(),
        ),
    }
    items = (item("a", "leap", hosts=("h",)), item("b", "ended", hosts=("h",)))
    cat = Catalogue(root=".", windows=windows, freezes=(), items=items)
    plan = build_plan(cat, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert "leap" not in plan.never_fires  # fires again on 2028-02-29
    assert plan.never_fires["ended"] == "ended on 2025-01-01"


def test_statically_empty_rrule_says_why() -> None:
    windows = {
        "w": Window(name="w", timezone="UTC", rrule="FREQ=DAILY;BYDAY=TU;BYSETPOS=2", duration=timedelta(hours=1))
    }
    cat = Catalogue(root=".", windows=windows, freezes=(), items=(item("a", "w", hosts=("h",)),))
    plan = build_plan(cat, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert "BYSETPOS=2 exceeds" in plan.never_fires["w"]


def test_item_filter_keeps_conflicts_with_hidden_items(catalogue: Catalogue) -> None:
    plan = build_plan(catalogue, *DEC, item_id="web-drift")
    assert [p.item.id for p in plan.items] == ["web-drift"]
    assert [(o.a, o.b) for o in plan.overlaps] == [("web-patch", "web-drift")]


def test_bad_arguments(catalogue: Catalogue) -> None:
    with pytest.raises(UsageError, match="unknown item 'nope'"):
        build_plan(catalogue, *DEC, item_id="nope")
    with pytest.raises(UsageError, match="empty"):
        build_plan(catalogue, DEC[1], DEC[0])
    with pytest.raises(UsageError):
        build_plan(catalogue, datetime(2026, 1, 1), datetime(2026, 2, 1))


def test_unknown_window_is_a_catalogue_error(catalogue: Catalogue) -> None:
    broken = Catalogue(root=".", windows={}, freezes=(), items=(item("x", "missing", hosts=("h",)),))
    with pytest.raises(CatalogueError, match="unknown window 'missing'"):
        build_plan(broken, *DEC)


def test_sweep_equals_brute_force() -> None:
    windows = [
        Window(name=f"w{i}", timezone=tz, cron=cron, duration=timedelta(minutes=m))
        for i, (tz, cron, m) in enumerate(
            [
                ("UTC", "0 */3 * * *", 90),
                ("Europe/Berlin", "30 1 * * *", 240),
                ("America/New_York", "0 22 * * 1-5", 300),
                ("Asia/Kolkata", "15 5 * * *", 60),
                ("UTC", "0 0 * * *", 60 * 30),  # longer than its period: overlaps itself
            ]
        )
    ]
    lo, hi = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 15, tzinfo=UTC)
    occs = {w.name: occurrences(w, lo, hi) for w in windows}
    keys = window_overlaps({n: Times.of(o) for n, o in occs.items()})
    for a in occs:
        for b in occs:
            brute = {
                i
                for i, x in enumerate(occs[a])
                if any(x.start_utc < y.end_utc and y.start_utc < x.end_utc for y in occs[b])
            }
            mask = keys[a].get(b, 0)
            assert {i for i in range(len(occs[a])) if mask >> i & 1} == brute, (a, b)
    assert keys["w4"]["w4"] == (1 << len(occs["w4"])) - 1


def test_flag_counts_match_the_entries(catalogue: Catalogue) -> None:
    plan = build_plan(catalogue, *DEC)
    for planned in plan.items:
        per_code: dict[str, int] = {}
        for entry in planned.entries():
            for code in {f.code for f in entry.flags}:
                per_code[code] = per_code.get(code, 0) + 1
        if not planned.occurrences:
            per_code = {f.code: 1 for f in planned.item_flags}
        assert planned.flag_counts == per_code, planned.item.id
    assert plan.has_conflicts and plan.overlap_count == len(plan.overlaps)
