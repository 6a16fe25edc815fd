"""The catalogue as data: frozen, keyword-only dataclasses built by the loader.

Nothing here does I/O or reads the clock. Durations are ``timedelta``; instants are timezone-aware
``datetime``; local wall-clock values keep their window's IANA zone name alongside.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

Kind = Literal["patch", "backup", "certificate", "drift"]
KINDS: tuple[Kind, ...] = ("patch", "backup", "certificate", "drift")


@dataclass(frozen=True, kw_only=True)
class Location:
    """Where a value was declared (1-based line and column)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


@dataclass(frozen=True, kw_only=True)
class Window:
    """A recurring maintenance window.

    Exactly one of ``cron`` and ``rrule`` is set. An occurrence starts at the rule's local time plus
    ``offset_days`` and lasts ``duration``; no new work starts after ``end - cutoff``. An occurrence
    that would start more than ``max_start_delay`` late is skipped and recorded as missed.
    """

    name: str
    timezone: str
    duration: timedelta
    cron: str | None = None
    rrule: str | None = None
    cutoff: timedelta = timedelta(0)
    offset_days: int = 0
    start_date: date | None = None
    end_date: date | None = None
    max_start_delay: timedelta = timedelta(minutes=15)
    description: str = ""
    location: Location = field(default_factory=lambda: Location(file=""))


@dataclass(frozen=True, kw_only=True)
class FreezeRange:
    """An absolute freeze range, [start, end)."""

    start: datetime
    end: datetime


@dataclass(frozen=True, kw_only=True)
class Freeze:
    """A blackout. Global when ``groups`` is empty, else only for targets in those groups.

    Either ``ranges`` (absolute) or a recurring rule (``cron``/``rrule`` + ``timezone`` + ``duration``).
    """

    name: str
    reason: str = ""
    groups: tuple[str, ...] = ()
    ranges: tuple[FreezeRange, ...] = ()
    cron: str | None = None
    rrule: str | None = None
    timezone: str = "UTC"
    duration: timedelta = timedelta(0)
    location: Location = field(default_factory=lambda: Location(file=""))


@dataclass(frozen=True, kw_only=True)
class Targets:
    """What an item touches: inventory groups, host patterns, and (for cloud kinds) AWS tag selectors."""

    groups: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    aws_tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Check:
    """A pre- or post-check run per batch. ``kind`` is command, http or tcp."""

    kind: Literal["command", "http", "tcp"]
    name: str = ""
    command: str = ""
    url: str = ""
    expect_status: int = 200
    port: int = 0
    host: str = ""
    timeout: timedelta = timedelta(seconds=10)
    on: Literal["each_host", "runner"] = "each_host"


@dataclass(frozen=True, kw_only=True)
class Rollout:
    """How an item's hosts are rolled through. Sizes are a count (``"2"``) or a share (``"25%"``)."""

    batch_size: str = "100%"
    canary: int = 0
    max_errors: str = "0"
    on_cutoff: Literal["continue", "cancel"] = "continue"
    pre_checks: tuple[Check, ...] = ()
    post_checks: tuple[Check, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ChangePolicy:
    """How the item's change record is handled."""

    type: Literal["standard", "normal", "emergency", "none"] = "standard"
    approval_timeout: timedelta = timedelta(hours=1)
    on_timeout: Literal["cancel", "proceed"] = "cancel"


@dataclass(frozen=True, kw_only=True)
class Item:
    """One maintenance item. ``settings`` holds the kind's own settings, validated by its schema."""

    id: str
    kind: Kind
    targets: Targets
    window: str
    expected_duration: timedelta
    description: str = ""
    emergency: bool = False
    enabled: bool = True
    rollout: Rollout = field(default_factory=Rollout)
    change: ChangePolicy = field(default_factory=ChangePolicy)
    settings: Mapping[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    location: Location = field(default_factory=lambda: Location(file=""))


@dataclass(frozen=True, kw_only=True)
class Baseline:
    """A patch baseline from patching/; ``settings`` holds its rules."""

    name: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    location: Location = field(default_factory=lambda: Location(file=""))


@dataclass(frozen=True, kw_only=True)
class BackupPlan:
    """A backup plan from backup/; ``settings`` holds what, where, retention and verification."""

    name: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    location: Location = field(default_factory=lambda: Location(file=""))


@dataclass(frozen=True, kw_only=True)
class Inventory:
    """The estate's Ansible inventory, reduced to what planning needs: group name -> host names."""

    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    hostvars: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def hosts(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for members in self.groups.values():
            for h in members:
                seen.setdefault(h, None)
        return tuple(seen)


@dataclass(frozen=True, kw_only=True)
class SourceFile:
    """A catalogue input file and its SHA-256, for evidence."""

    path: str
    sha256: str


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Estate-wide settings (``settings:`` in a maintenance/ file)."""

    evidence: Mapping[str, Any] = field(default_factory=dict)
    changes: Mapping[str, Any] = field(default_factory=dict)
    state: Mapping[str, Any] = field(default_factory=dict)
    ansible: Mapping[str, Any] = field(default_factory=dict)
    aws: Mapping[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Catalogue:
    """Everything declared in an estate, validated and cross-referenced."""

    root: str
    windows: Mapping[str, Window]
    freezes: tuple[Freeze, ...]
    items: tuple[Item, ...]
    baselines: Mapping[str, Baseline] = field(default_factory=dict)
    plans: Mapping[str, BackupPlan] = field(default_factory=dict)
    inventory: Inventory = field(default_factory=Inventory)
    settings: Settings = field(default_factory=Settings)
    files: tuple[SourceFile, ...] = ()

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)
