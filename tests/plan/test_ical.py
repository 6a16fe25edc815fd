"""iCalendar export: parse it back line by line (unfold, unescape), check CRLF and 75-octet folding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runner.catalogue.model import Catalogue, Inventory, Window
from runner.plan import build_plan
from runner.plan.ical import escape_text, fold, to_ics

from .conftest import item

DEC = (datetime(2026, 12, 26, tzinfo=UTC), datetime(2027, 1, 3, tzinfo=UTC))


def _unfold(text: str) -> list[str]:
    assert text.endswith("\r\n")
    physical = text.split("\r\n")[:-1]
    assert all("\n" not in line and "\r" not in line for line in physical), "bare LF or CR"
    assert all(len(line.encode()) <= 75 for line in physical), "line longer than 75 octets"
    logical: list[str] = []
    for line in physical:
        if line.startswith(" "):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return logical


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _events(lines: list[str]) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            assert current is not None
            events.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = value
    return events


def test_calendar_round_trip(catalogue: Catalogue) -> None:
    plan = build_plan(catalogue, *DEC)
    text = to_ics(plan, generated=datetime(2026, 12, 1, tzinfo=UTC))
    lines = _unfold(text)
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"] and lines[-1] == "END:VCALENDAR"
    events = _events(lines)
    assert len(events) == sum(len(p.occurrences) for p in plan.items)
    uids = [e["UID"] for e in events]
    assert len(set(uids)) == len(uids)
    first = next(e for e in events if e["SUMMARY"].startswith("web-patch"))
    assert first["DTSTART"] == "20261226T000000Z" and first["DTEND"] == "20261226T020000Z"
    description = _unescape(first["DESCRIPTION"])
    assert "Hosts: web1, web2" in description and "OVERLAP: overlaps web-drift" in description
    assert first["CATEGORIES"].split(",")[:2] == ["maintenance", "patch"]
    frozen = [e for e in events if e["SUMMARY"].startswith("web-patch") and "FROZEN" in e["SUMMARY"]]
    assert frozen and all(e["STATUS"] == "CANCELLED" for e in frozen)
    # Stable: the same plan gives the same UIDs.
    again = _events(_unfold(to_ics(build_plan(catalogue, *DEC), generated=datetime(2026, 12, 2, tzinfo=UTC))))
    assert [e["UID"] for e in again] == uids


def test_fold_never_splits_utf8_and_escape() -> None:
    line = "DESCRIPTION:" + "Wartung über Nacht, ✓; " * 10
    folded = fold(line)
    assert folded.endswith("\r\n")
    parts = folded[:-2].split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert "".join([parts[0]] + [p[1:] for p in parts[1:]]) == line
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    assert fold("SHORT:x") == "SHORT:x\r\n"


def test_hosts_with_special_characters_are_escaped() -> None:
    windows = {"w": Window(name="w", timezone="UTC", cron="0 3 * * *", duration=timedelta(hours=1))}
    cat = Catalogue(
        root=".",
        windows=windows,
        freezes=(),
        items=(item("a", "w", hosts=("h;1", "h,2")),),
        inventory=Inventory(groups={}),
    )
    plan = build_plan(cat, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))
    (event,) = _events(_unfold(to_ics(plan)))
    assert "Hosts: h;1, h,2" in _unescape(event["DESCRIPTION"])
    assert "h\\;1\\, h\\,2" in event["DESCRIPTION"]
