"""``build_plan``: every occurrence per item in a range, with hosts resolved and conflicts flagged."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from runner.catalogue.model import Catalogue, Freeze, Item, Window
from runner.errors import CatalogueError, Problem, UsageError
from runner.plan.model import Flag, OverlapBook, Plan, PlannedItem, count_codes
from runner.plan.overlaps import Times, Toucher, item_pairs, window_overlaps
from runner.plan.targets import HostResolver
from runner.schedule import FreezeInterval, compile_rule, freeze_intervals, occurrences, zone
from runner.schedule.freeze import applies_to
from runner.schedule.occurrence import local_starts
from runner.schedule.rrule import RRule

NEVER_FIRES_HORIZON = timedelta(days=8 * 366)  # long enough for 29 February


def build_plan(catalogue: Catalogue, start: datetime, end: datetime, item_id: str | None = None) -> Plan:
    """Plan ``[start, end)`` (aware instants) for every enabled item, or only ``item_id``.

    Conflicts are computed across all enabled items even when one item is asked for: an overlap with
    an item that is not shown is still an overlap.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise UsageError("plan range must be timezone-aware")
    if end <= start:
        raise UsageError(f"plan range is empty: --to ({end.isoformat()}) is not after --from ({start.isoformat()})")
    if item_id is not None and all(it.id != item_id for it in catalogue.items):
        known = ", ".join(sorted(it.id for it in catalogue.items)[:20])
        raise UsageError(f"unknown item {item_id!r}; known items: {known}")
    items = [it for it in catalogue.items if it.enabled]
    windows = _windows_of(catalogue, items)
    schedules = {name: tuple(occurrences(w, start, end)) for name, w in windows.items()}
    never = {name: why for name, w in windows.items() if not schedules[name] and (why := _never_fires(w, start))}
    resolver = HostResolver(catalogue.inventory)
    planned = [PlannedItem(item=it, hosts=resolver.hosts(it.targets), occurrences=schedules[it.window]) for it in items]
    for p in planned:
        p.item_flags = _item_flags(p.item, windows[p.item.window], never)
    times = {name: Times.of(occs) for name, occs in schedules.items()}
    _flag_freezes(planned, catalogue.freezes, times, resolver, start, end, windows)
    book = _flag_overlaps(planned, times)
    shown = tuple(p for p in planned if item_id is None or p.item.id == item_id)
    return Plan(
        start=start,
        end=end,
        items=shown,
        windows=schedules,
        book=book,
        only=item_id,
        never_fires=never,
        disabled=tuple(it.id for it in catalogue.items if not it.enabled),
    )


def _windows_of(catalogue: Catalogue, items: Sequence[Item]) -> dict[str, Window]:
    out: dict[str, Window] = {}
    problems: list[Problem] = []
    for it in items:
        window = catalogue.windows.get(it.window)
        if window is None:
            problems.append(
                Problem(
                    file=it.location.file,
                    line=it.location.line,
                    column=it.location.column,
                    path=f"items.{it.id}.window",
                    message=f"unknown window {it.window!r}",
                )
            )
        else:
            out[it.window] = window
    if problems:
        raise CatalogueError(problems)
    return out


def _never_fires(window: Window, start: datetime) -> str:
    """Why ``window`` will never fire from ``start`` on, or "" if it fires within the horizon."""
    if window.end_date is not None and window.end_date < start.date():
        return f"ended on {window.end_date.isoformat()}"
    where = str(window.location)
    rule = compile_rule(window.cron, window.rrule, window.start_date, where)
    if isinstance(rule, RRule) and rule.empty:
        return f"its rule can never fire: {rule.empty}"
    tz = zone(window.timezone, where)
    until = start + NEVER_FIRES_HORIZON
    found = local_starts(
        rule,
        tz,
        start,
        until,
        offset_days=window.offset_days,
        first_date=window.start_date,
        last_date=window.end_date,
    )
    if next(found, None) is not None:
        return ""
    return f"its rule has no occurrence between {start.date().isoformat()} and {until.date().isoformat()}"


def _item_flags(item: Item, window: Window, never: Mapping[str, str]) -> tuple[Flag, ...]:
    flags: list[Flag] = []
    usable = window.duration - window.cutoff
    if item.expected_duration > usable:
        flags.append(
            Flag(
                code="TOO-SHORT",
                ref=window.name,
                detail=f"expects {_hm(item.expected_duration)} but window {window.name} allows {_hm(usable)} "
                f"before its cutoff",
            )
        )
    if window.name in never:
        flags.append(Flag(code="NEVER-FIRES", ref=window.name, detail=f"window {window.name}: {never[window.name]}"))
    return tuple(flags)


def _hm(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _flag_freezes(
    planned: Sequence[PlannedItem],
    freezes: Sequence[Freeze],
    times: Mapping[str, Times],
    resolver: HostResolver,
    start: datetime,
    end: datetime,
    windows: Mapping[str, Window],
) -> None:
    if not freezes:
        return
    longest = max((w.duration for w in windows.values()), default=timedelta(0))
    spans: list[FreezeInterval] = []
    for freeze in freezes:
        spans.extend(freeze_intervals(freeze, start, end + longest))
    hits = {name: _frozen(t, spans) for name, t in times.items()}
    relevant = {name: {iv.freeze.name: iv.freeze for ivs in f.values() for iv in ivs} for name, f in hits.items()}
    which: dict[tuple[str, frozenset[str]], tuple[str, ...]] = {}
    covers: dict[tuple[str, frozenset[str]], bool] = {}
    shared: dict[tuple[str, bool, tuple[str, ...]], dict[int, list[Flag]]] = {}
    counted: dict[tuple[str, bool, tuple[str, ...]], dict[str, int]] = {}
    for p in planned:
        frozen = hits.get(p.item.window)
        if not frozen:
            continue
        groups = resolver.groups_of(p.item.targets)
        applicable = which.get((p.item.window, groups))
        if applicable is None:
            names = relevant[p.item.window]
            applicable = tuple(sorted(n for n in names if _covers(covers, names[n], groups)))
            which[(p.item.window, groups)] = applicable
        if not applicable:
            continue
        key = (p.item.window, p.item.emergency, applicable)
        if key not in shared:
            shared[key] = _freeze_flags(frozen, set(applicable), p.item.emergency)
            counted[key] = count_codes(shared[key])
        p.occurrence_flags = shared[key]  # shared, never mutated
        p.occurrence_flag_counts = counted[key]


def _covers(cache: dict[tuple[str, frozenset[str]], bool], freeze: Freeze, groups: frozenset[str]) -> bool:
    found = cache.get((freeze.name, groups))
    if found is None:
        found = cache[(freeze.name, groups)] = applies_to(freeze, groups)
    return found


def _frozen(times: Times, spans: Sequence[FreezeInterval]) -> dict[int, tuple[FreezeInterval, ...]]:
    """Occurrence index -> the freeze spans overlapping it, by binary search per span."""
    out: dict[int, list[FreezeInterval]] = {}
    for span in spans:
        lo = bisect_right(times.ends, span.start.timestamp())
        hi = bisect_left(times.starts, span.end.timestamp())
        for i in range(lo, hi):
            out.setdefault(i, []).append(span)
    return {i: tuple(v) for i, v in out.items()}


def _freeze_flags(
    frozen: Mapping[int, tuple[FreezeInterval, ...]], applicable: set[str], emergency: bool
) -> dict[int, list[Flag]]:
    out: dict[int, list[Flag]] = {}
    for i, ivs in frozen.items():
        for iv in ivs:
            if iv.freeze.name not in applicable:
                continue
            reason = f": {iv.freeze.reason}" if iv.freeze.reason else ""
            span = f"{iv.start.isoformat()} .. {iv.end.isoformat()}"
            if emergency:
                flag = Flag(
                    code="EMERGENCY-OVERRIDE",
                    ref=iv.freeze.name,
                    detail=f"runs inside freeze {iv.freeze.name} ({span}){reason} because the item is emergency",
                )
            else:
                flag = Flag(
                    code="FROZEN", ref=iv.freeze.name, detail=f"blocked by freeze {iv.freeze.name} ({span}){reason}"
                )
            out.setdefault(i, []).append(flag)
    return out


def _flag_overlaps(planned: Sequence[PlannedItem], times: Mapping[str, Times]) -> OverlapBook:
    keys = window_overlaps(times)
    touchers = [Toucher(i, p.item.window, p.hosts) for i, p in enumerate(planned) if p.hosts]
    book = OverlapBook(planned, item_pairs(touchers, keys), keys, times)
    for p in planned:
        p.book = book
    return book
