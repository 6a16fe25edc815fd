from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runner.kinds.patch.baseline import Rules, decide, decide_all
from runner.kinds.patch.updates import Update

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def up(name: str, security: bool = False, published: datetime | None = None) -> Update:
    return Update(name=name, installed="1.0", candidate="1.1", security=security, published=published)


@pytest.mark.parametrize(
    ("rules", "update", "approved", "reason"),
    [
        (Rules(), up("a"), True, "approved update"),
        (Rules(approve="security"), up("a"), False, "not a security update"),
        (Rules(approve="security"), up("a", security=True), True, "approved security update"),
        (Rules(approve="security", include=("a*",)), up("abc"), True, "included (a*)"),
        (Rules(approve="none", include=("a*",)), up("abc"), True, "included (a*)"),
        (Rules(approve="none", include=("a*",)), up("b", security=True), False, "not in the baseline's include"),
        (Rules(exclude=("lab-*",)), up("lab-tool"), False, "excluded (lab-*)"),
        (Rules(include=("lab-*",), exclude=("lab-tool",)), up("lab-tool"), False, "excluded (lab-tool)"),
        (Rules(hold=("lab-tool",), include=("lab-*",)), up("lab-tool"), False, "held (lab-tool)"),
        (Rules(approve_after_days=7), up("a", published=NOW - timedelta(days=8)), True, "approved update"),
        (Rules(approve_after_days=7), up("a", published=NOW - timedelta(days=2)), False, "waiting"),
        (Rules(approve_after_days=7), up("a"), False, "age unknown"),
    ],
)
def test_decide(rules: Rules, update: Update, approved: bool, reason: str) -> None:
    d = decide(update, rules, now=NOW)
    assert d.approved is approved
    assert d.reason.startswith(reason)


def test_first_seen_counts_for_apt() -> None:
    rules = Rules(approve_after_days=3)
    ups = [up("a"), up("b")]
    seen = {("a", "1.1"): NOW - timedelta(days=4), ("b", "1.1"): NOW - timedelta(days=1)}
    assert [d.approved for d in decide_all(ups, rules, now=NOW, first_seen=seen)] == [True, False]


def test_rules_from_settings() -> None:
    r = Rules.from_settings({"approve": "security", "approve_after_days": 2, "hold": ["x"], "package_manager": "dnf"})
    assert r == Rules(package_manager="dnf", approve="security", approve_after_days=2, hold=("x",))
