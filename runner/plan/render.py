"""Plan rendering without I/O: a stable JSON document and plain aligned text rows.

The JSON shape (``version`` 1) is a contract for machines: keys and their meaning do not change
without a new version; items are in catalogue order, occurrences in time order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from runner.plan.model import Entry, Flag, Plan, PlannedItem

JSON_VERSION = 1
COLUMNS = ("local start", "local end", "utc start", "duration", "hosts", "flags")


def _iso(value: datetime) -> str:
    return value.isoformat()


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def _flag(flag: Flag) -> dict[str, str]:
    return {"code": flag.code, "ref": flag.ref, "detail": flag.detail}


def entry_json(entry: Entry) -> dict[str, Any]:
    occ = entry.occurrence
    return {
        "key": occ.key,
        "timezone": occ.timezone,
        "local_start": _iso(occ.start),
        "local_end": _iso(occ.end),
        "utc_start": _iso(occ.start_utc),
        "utc_end": _iso(occ.end_utc),
        "cutoff_at": _iso(occ.cutoff_at),
        "duration_s": _seconds(occ.duration),
        "dst_shifted": occ.shifted,
        "blocked": entry.blocked,
        "flags": [_flag(f) for f in entry.flags],
    }


def item_json(planned: PlannedItem) -> dict[str, Any]:
    it = planned.item
    return {
        "id": it.id,
        "kind": it.kind,
        "window": it.window,
        "emergency": it.emergency,
        "expected_duration_s": _seconds(it.expected_duration),
        "hosts": list(planned.hosts),
        "flags": [_flag(f) for f in planned.item_flags],
        "flag_counts": dict(sorted(planned.flag_counts.items())),
        "occurrences": [entry_json(e) for e in planned.entries()],
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    """The whole plan as JSON-ready data."""
    return {
        "version": JSON_VERSION,
        "from": _iso(plan.start),
        "to": _iso(plan.end),
        "has_conflicts": plan.has_conflicts,
        "items": [item_json(p) for p in plan.items],
        "conflicts": {
            "overlaps": [
                {
                    "a": o.a,
                    "b": o.b,
                    "windows": list(o.windows),
                    "hosts": list(o.hosts),
                    "overlapping_occurrences_of_a": o.count,
                }
                for o in plan.overlaps
            ],
            "never_fires": dict(sorted(plan.never_fires.items())),
        },
        "disabled": list(plan.disabled),
    }


def _hm(delta: timedelta) -> str:
    minutes = _seconds(delta) // 60
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _short(flag: Flag) -> str:
    if flag.code == "OVERLAP":
        return f"OVERLAP with {flag.ref}"
    if flag.code in ("FROZEN", "EMERGENCY-OVERRIDE"):
        return f"{flag.code} ({flag.ref})"
    return flag.code


def entry_row(entry: Entry, hosts: int) -> tuple[str, ...]:
    """One table row: local times with zone, UTC start, duration, host count, flags."""
    occ = entry.occurrence
    local = occ.start.strftime("%Y-%m-%d %H:%M %z")
    end = occ.end.strftime("%Y-%m-%d %H:%M %z")
    utc = occ.start_utc.strftime("%Y-%m-%d %H:%MZ")
    flags = ", ".join(dict.fromkeys(_short(f) for f in entry.flags))
    return (f"{local} {occ.timezone}", end, utc, _hm(occ.duration), str(hosts), flags)


def item_heading(planned: PlannedItem) -> str:
    it = planned.item
    extra = " emergency" if it.emergency else ""
    return (
        f"{it.id} ({it.kind}{extra}) window {it.window}, {len(planned.hosts)} host(s), "
        f"{len(planned.occurrences)} occurrence(s)"
    )


def text_lines(plan: Plan) -> Iterator[str]:
    """Plain aligned text: a heading and a table per item, then a conflict summary."""
    yield f"Plan {plan.start.isoformat()} .. {plan.end.isoformat()}"
    for planned in plan.items:
        yield ""
        yield item_heading(planned)
        for flag in planned.item_flags:
            yield f"  {flag.code}: {flag.detail}"
        rows = [entry_row(e, len(planned.hosts)) for e in planned.entries()]
        if not rows:
            yield "  (no occurrence in range)"
            continue
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
        yield "  " + "  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip()
        for row in rows:
            yield "  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
    yield ""
    yield summary_line(plan)


def summary_line(plan: Plan) -> str:
    counts: dict[str, int] = {}
    for planned in plan.items:
        for code, n in planned.flag_counts.items():
            counts[code] = counts.get(code, 0) + n
    if not counts:
        return "No conflicts."
    parts = ", ".join(f"{code} x{n}" for code, n in sorted(counts.items()))
    return f"Conflicts (occurrences flagged): {parts}"


def summary_lines(plan: Plan) -> Iterator[str]:
    """One line per item (occurrences, first start, flag counts), then the conflict totals."""
    yield f"Plan {plan.start.isoformat()} .. {plan.end.isoformat()}: {len(plan.items)} item(s)"
    rows = []
    firsts: dict[str, str] = {}  # per window: items share their window's occurrences
    for planned in plan.items:
        window = planned.item.window
        first = firsts.get(window)
        if first is None:
            occs = planned.occurrences
            first = firsts[window] = occs[0].start.strftime("%Y-%m-%d %H:%M %z") if occs else "-"
        counts = planned.flag_counts
        flags = ", ".join(f"{code} x{n}" for code, n in sorted(counts.items()))
        rows.append(
            (
                planned.item.id,
                planned.item.kind,
                window,
                str(len(planned.hosts)),
                str(len(planned.occurrences)),
                first,
                flags,
            )
        )
    header = ("item", "kind", "window", "hosts", "occurrences", "first start", "flags")
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    # One format string for every row: ten thousand rows of per-cell ljust and join add up.
    line = "  ".join(f"{{{i}:<{w}}}" for i, w in enumerate(widths))
    yield line.format(*header).rstrip()
    for row in rows:
        yield line.format(*row).rstrip()
    yield f"Overlapping item pairs: {plan.overlap_count}; windows that never fire: {len(plan.never_fires)}"
    yield summary_line(plan)
