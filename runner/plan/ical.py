"""iCalendar (RFC 5545) export of a plan: one VEVENT per occurrence of each item.

Written by hand because it is small and exact: CRLF line endings, lines folded at 75 octets (never
inside a UTF-8 sequence), TEXT values escaped, times in UTC. UIDs are stable (item + occurrence key),
so a subscribed calendar updates events in place instead of duplicating them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from runner.plan.model import Entry, Plan

PRODID = "-//maintctl//maintctl plan//EN"


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Fold one content line to at most 75 octets per physical line (RFC 5545 3.1), CRLF-terminated."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    parts: list[bytes] = []
    limit = 75
    while data:
        cut = min(limit, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:  # do not split a UTF-8 sequence
            cut -= 1
        parts.append(data[:cut])
        data = data[cut:]
        limit = 74  # continuation lines start with one space
    return "\r\n ".join(p.decode("utf-8") for p in parts) + "\r\n"


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def uid(entry: Entry) -> str:
    """A stable UID: the same item and occurrence always give the same UID."""
    digest = hashlib.sha256(f"{entry.item}\0{entry.occurrence.key}".encode()).hexdigest()[:32]
    return f"{digest}@maintctl"


def _event(entry: Entry, hosts: tuple[str, ...], kind: str, dtstamp: str) -> Iterator[str]:
    occ = entry.occurrence
    lines = [
        "Hosts: " + (", ".join(hosts) if hosts else "(none)"),
        f"Window: {occ.window} ({occ.timezone}) {occ.start.isoformat()} .. {occ.end.isoformat()}",
        f"No new work after: {occ.cutoff_at.isoformat()}",
        f"Occurrence: {occ.key}",
    ]
    lines += [f"{f.code}: {f.detail}" for f in entry.flags]
    categories = ["maintenance", kind] + sorted({f.code for f in entry.flags})
    summary = f"{entry.item} ({kind})" + ("".join(f" [{c}]" for c in sorted({f.code for f in entry.flags})))
    yield "BEGIN:VEVENT"
    yield f"UID:{uid(entry)}"
    yield f"DTSTAMP:{dtstamp}"
    yield f"DTSTART:{_stamp(occ.start_utc)}"
    yield f"DTEND:{_stamp(occ.end_utc)}"
    yield f"SUMMARY:{escape_text(summary)}"
    yield f"DESCRIPTION:{escape_text(chr(10).join(lines))}"
    yield "CATEGORIES:" + ",".join(escape_text(c) for c in categories)
    yield "STATUS:" + ("CANCELLED" if entry.blocked else "CONFIRMED")
    yield "TRANSP:OPAQUE"
    yield "END:VEVENT"


def to_ics(plan: Plan, *, generated: datetime | None = None) -> str:
    """The plan as an iCalendar document. ``generated`` sets DTSTAMP (default: the plan's start)."""
    dtstamp = _stamp(generated or plan.start)
    return "".join(fold(line) for line in _lines(plan, dtstamp))


def _lines(plan: Plan, dtstamp: str) -> Iterable[str]:
    yield "BEGIN:VCALENDAR"
    yield "VERSION:2.0"
    yield f"PRODID:{PRODID}"
    yield "CALSCALE:GREGORIAN"
    yield "METHOD:PUBLISH"
    yield "X-WR-CALNAME:maintctl plan"
    for planned in plan.items:
        for entry in planned.entries():
            yield from _event(entry, planned.hosts, planned.item.kind, dtstamp)
    yield "END:VCALENDAR"
