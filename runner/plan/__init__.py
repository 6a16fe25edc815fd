"""The plan: what would run, where and when, with conflicts; and its iCalendar export. Pure logic."""

from __future__ import annotations

from runner.plan.build import build_plan
from runner.plan.model import Entry, Flag, Overlap, Plan, PlannedItem

__all__ = ["Entry", "Flag", "Overlap", "Plan", "PlannedItem", "build_plan"]
