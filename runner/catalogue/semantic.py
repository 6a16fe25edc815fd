"""Checks JSON Schema cannot express: cron and RRULE syntax, time zones, duration and date order.

They read the raw data of one file and tolerate values the schema already rejected (those are
skipped here, the schema's message is enough).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from runner.catalogue.durations import format_duration, parse_duration
from runner.catalogue.model import KINDS
from runner.catalogue.schema import format_path
from runner.catalogue.yamlsafe import DataPath, YamlDoc
from runner.errors import Problem


class Reporter:
    """Collects located problems for one file."""

    def __init__(self, file: str, doc: YamlDoc | None, problems: list[Problem]) -> None:
        self.file = file
        self.doc = doc
        self.problems = problems

    def add(self, path: DataPath, message: str, *, key: bool = False) -> None:
        line, col = self.doc.locate(path, key=key) if self.doc is not None else (0, 0)
        self.problems.append(Problem(file=self.file, line=line, column=col, path=format_path(path), message=message))


def duration(value: Any) -> timedelta | None:
    """The duration a raw value means, or None when it is not one (the schema reports that)."""
    if not isinstance(value, str):
        return None
    try:
        return parse_duration(value)
    except ValueError:
        return None


def day(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@cache
def timezone_problem(name: str) -> str | None:
    """None if ``name`` is an IANA time zone, else a message."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {name!r} (expected an IANA name like Europe/Berlin or UTC)"
    return None


@cache
def cron_problem(expr: str) -> str | None:
    """None if ``expr`` is a valid five-field cron expression, else a message."""
    from croniter import croniter

    fields = expr.split()
    if len(fields) != 5:
        return f"cron expression {expr!r} has {len(fields)} fields; expected 5 (minute hour day month weekday)"
    try:
        ok = croniter.is_valid(expr)
    except Exception:  # noqa: BLE001 - croniter raises assorted types for garbage
        ok = False
    if not ok:
        return f"invalid cron expression {expr!r}"
    # The scheduler evaluates cron itself (for its DST rule); accept only what it can evaluate.
    from runner.schedule.cron import CronRule, CronSyntaxError

    try:
        CronRule.parse(expr)
    except CronSyntaxError as exc:
        return f"unsupported cron expression {expr!r}: {exc}"
    return None


@cache
def rrule_problem(text: str) -> str | None:
    """None if ``text`` is one valid RFC 5545 RRULE (without DTSTART), else a message."""
    from dateutil.rrule import rrulestr

    body = text.strip()
    upper = body.upper()
    if "DTSTART" in upper or "\n" in body:
        return "rrule holds one RRULE only; set the first day with start_date, not DTSTART"
    if upper.startswith("RRULE:"):
        body = body[6:]
    try:
        rrulestr(body, dtstart=datetime(2000, 1, 1))
    except Exception as exc:  # noqa: BLE001 - dateutil raises ValueError, TypeError, KeyError, IndexError
        reason = str(exc) or type(exc).__name__
        return f"invalid RRULE {text!r}: {reason}"
    return None


def check_rule(rep: Reporter, path: DataPath, spec: dict[str, Any]) -> None:
    """cron / rrule / timezone of a window or recurring freeze."""
    for key, check in (("cron", cron_problem), ("rrule", rrule_problem), ("timezone", timezone_problem)):
        value = spec.get(key)
        if isinstance(value, str):
            message = check(value)
            if message:
                rep.add((*path, key), message)


def check_window(rep: Reporter, name: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    path: DataPath = ("windows", name)
    check_rule(rep, path, spec)
    length = duration(spec.get("duration"))
    if length is not None and length <= timedelta(0):
        rep.add((*path, "duration"), "duration must be longer than 0")
    cutoff = duration(spec.get("cutoff"))
    if length is not None and cutoff is not None and length > timedelta(0) and cutoff >= length:
        rep.add(
            (*path, "cutoff"),
            f"cutoff {format_duration(cutoff)} must be shorter than the window's duration {format_duration(length)}",
        )
    start, end = day(spec.get("start_date")), day(spec.get("end_date"))
    if start and end and end < start:
        rep.add((*path, "end_date"), f"end_date {end} is before start_date {start}")


def check_freeze(rep: Reporter, name: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    path: DataPath = ("freezes", name)
    check_rule(rep, path, spec)
    length = duration(spec.get("duration"))
    if length is not None and length <= timedelta(0):
        rep.add((*path, "duration"), "duration must be longer than 0")
    ranges = spec.get("ranges")
    for index, entry in enumerate(ranges if isinstance(ranges, list) else []):
        if not isinstance(entry, dict):
            continue
        start, end = instant(entry.get("start")), instant(entry.get("end"))
        if start is not None and end is not None and end <= start:
            rep.add((*path, "ranges", index, "end"), f"end {entry['end']} is not after start {entry['start']}")


def instant(value: Any) -> datetime | None:
    """A freeze bound as a comparable UTC datetime (a bare date counts as midnight UTC here)."""
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return datetime.fromisoformat(value + "T00:00:00+00:00")
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def check_item(rep: Reporter, index: int, spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    path: DataPath = ("items", index)
    expected = duration(spec.get("expected_duration"))
    if expected is not None and expected <= timedelta(0):
        rep.add((*path, "expected_duration"), "expected_duration must be longer than 0")
    kind = spec.get("kind")
    if kind in KINDS and kind not in spec:
        rep.add(path, f"a {kind} item needs its settings block '{kind}:'")
    for other in KINDS:
        if other != kind and other in spec and kind in KINDS:
            rep.add((*path, other), f"settings block '{other}' does not belong to a {kind} item", key=True)
    rollout = spec.get("rollout")
    if isinstance(rollout, dict):
        check_rollout(rep, (*path, "rollout"), rollout)


def check_rollout(rep: Reporter, path: DataPath, rollout: dict[str, Any]) -> None:
    for group in ("pre_checks", "post_checks"):
        checks = rollout.get(group)
        for index, check in enumerate(checks if isinstance(checks, list) else []):
            if isinstance(check, dict):
                timeout = duration(check.get("timeout"))
                if timeout is not None and timeout <= timedelta(0):
                    rep.add((*path, group, index, "timeout"), "timeout must be longer than 0")


def check_maintenance(rep: Reporter, data: dict[str, Any]) -> None:
    """Every semantic check of one maintenance/ file."""
    windows = data.get("windows")
    if isinstance(windows, dict):
        for name, spec in windows.items():
            check_window(rep, str(name), spec)
    freezes = data.get("freezes")
    if isinstance(freezes, dict):
        for name, spec in freezes.items():
            check_freeze(rep, str(name), spec)
    items = data.get("items")
    if isinstance(items, list):
        for index, spec in enumerate(items):
            check_item(rep, index, spec)
