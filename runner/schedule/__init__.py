"""Window math: rules, the DST rule, occurrences, the late-start rule and freezes. Pure: no I/O, no clock."""

from __future__ import annotations

from runner.schedule.dst import resolve_local
from runner.schedule.freeze import FreezeInterval, freeze_intervals, freezes_covering
from runner.schedule.occurrence import Occurrence, compile_rule, occurrences, zone
from runner.schedule.status import Status, accepts_new_work, classify, due, missed_between

__all__ = [
    "FreezeInterval",
    "Occurrence",
    "Status",
    "accepts_new_work",
    "classify",
    "compile_rule",
    "due",
    "freeze_intervals",
    "freezes_covering",
    "missed_between",
    "occurrences",
    "resolve_local",
    "zone",
]
