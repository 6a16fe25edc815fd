"""Raw, already validated catalogue data -> the frozen model (pure: no I/O)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from runner.catalogue.durations import parse_duration
from runner.catalogue.model import (
    BackupPlan,
    Baseline,
    ChangePolicy,
    Check,
    Freeze,
    FreezeRange,
    Item,
    Location,
    Rollout,
    Settings,
    Targets,
    Window,
)
from runner.catalogue.yamlsafe import YamlDoc


def _where(file: str, doc: YamlDoc, path: tuple[str | int, ...]) -> Location:
    line, col = doc.locate(path, key=True)
    return Location(file=file, line=line, column=col)


def _dur(value: Any, default: timedelta) -> timedelta:
    return parse_duration(value) if isinstance(value, str) else default


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def window(name: str, spec: dict[str, Any], file: str, doc: YamlDoc) -> Window:
    return Window(
        name=name,
        timezone=spec["timezone"],
        duration=parse_duration(spec["duration"]),
        cron=spec.get("cron"),
        rrule=spec.get("rrule"),
        cutoff=_dur(spec.get("cutoff"), timedelta(0)),
        offset_days=int(spec.get("offset_days", 0)),
        start_date=_day(spec.get("start_date")),
        end_date=_day(spec.get("end_date")),
        max_start_delay=_dur(spec.get("max_start_delay"), timedelta(minutes=15)),
        description=spec.get("description", ""),
        location=_where(file, doc, ("windows", name)),
    )


def freeze_bound(value: str, tz: str) -> datetime:
    """A freeze bound: an RFC 3339 date-time, or a date meaning midnight in the freeze's time zone."""
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=ZoneInfo(tz))
    return datetime.fromisoformat(value)


def freeze(name: str, spec: dict[str, Any], file: str, doc: YamlDoc) -> Freeze:
    tz = spec.get("timezone", "UTC")
    ranges = tuple(
        FreezeRange(start=freeze_bound(r["start"], tz), end=freeze_bound(r["end"], tz))
        for r in spec.get("ranges", ())
    )
    return Freeze(
        name=name,
        reason=spec.get("reason", ""),
        groups=tuple(spec.get("groups", ())),
        ranges=ranges,
        cron=spec.get("cron"),
        rrule=spec.get("rrule"),
        timezone=tz,
        duration=_dur(spec.get("duration"), timedelta(0)),
        location=_where(file, doc, ("freezes", name)),
    )


def check(spec: dict[str, Any]) -> Check:
    return Check(
        kind=spec["kind"],
        name=spec.get("name", ""),
        command=spec.get("command", ""),
        url=spec.get("url", ""),
        expect_status=spec.get("expect_status", 200),
        port=spec.get("port", 0),
        host=spec.get("host", ""),
        timeout=_dur(spec.get("timeout"), timedelta(seconds=10)),
        on=spec.get("on", "each_host"),
    )


def rollout(spec: dict[str, Any]) -> Rollout:
    return Rollout(
        batch_size=str(spec.get("batch_size", "100%")),
        canary=spec.get("canary", 0),
        max_errors=str(spec.get("max_errors", "0")),
        on_cutoff=spec.get("on_cutoff", "continue"),
        pre_checks=tuple(check(c) for c in spec.get("pre_checks", ())),
        post_checks=tuple(check(c) for c in spec.get("post_checks", ())),
    )


def change(spec: dict[str, Any]) -> ChangePolicy:
    return ChangePolicy(
        type=spec.get("type", "standard"),
        approval_timeout=_dur(spec.get("approval_timeout"), timedelta(hours=1)),
        on_timeout=spec.get("on_timeout", "cancel"),
    )


_DEFAULT_ROLLOUT = Rollout()
_DEFAULT_CHANGE = ChangePolicy()


def item(index: int, spec: dict[str, Any], file: str, doc: YamlDoc) -> Item:
    targets = spec["targets"]
    kind = spec["kind"]
    return Item(
        id=spec["id"],
        kind=kind,
        targets=Targets(
            groups=tuple(targets.get("groups", ())),
            hosts=tuple(targets.get("hosts", ())),
            aws_tags=dict(targets.get("aws_tags", {})),
        ),
        window=spec["window"],
        expected_duration=parse_duration(spec["expected_duration"]),
        description=spec.get("description", ""),
        emergency=spec.get("emergency", False),
        enabled=spec.get("enabled", True),
        rollout=rollout(spec["rollout"]) if "rollout" in spec else _DEFAULT_ROLLOUT,
        change=change(spec["change"]) if "change" in spec else _DEFAULT_CHANGE,
        settings=dict(spec.get(kind, {})),
        secrets=tuple(spec.get("secrets", ())),
        location=_where(file, doc, ("items", index)),
    )


def baseline(name: str, spec: dict[str, Any], file: str, doc: YamlDoc) -> Baseline:
    defaults = {"approve": "all", "approve_after_days": 0, "include": [], "exclude": [], "hold": []}
    return Baseline(name=name, settings={**defaults, **spec}, location=_where(file, doc, ("baselines", name)))


def plan(name: str, spec: dict[str, Any], file: str, doc: YamlDoc) -> BackupPlan:
    return BackupPlan(name=name, settings=dict(spec), location=_where(file, doc, ("plans", name)))


def settings(spec: dict[str, Any]) -> Settings:
    return Settings(
        evidence=dict(spec.get("evidence", {})),
        changes=dict(spec.get("changes", {})),
        state=dict(spec.get("state", {})),
        ansible=dict(spec.get("ansible", {})),
        aws=dict(spec.get("aws", {})),
        secrets=tuple(spec.get("secrets", ())),
    )
