"""Rollout arithmetic: batches, canary, max_errors, cutoff and final states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.engine.rollout import Rollout, final_states, make_batches, outcome, parse_size, tolerated_errors
from runner.errors import UsageError

NOW = datetime(2026, 3, 14, 2, 0, tzinfo=UTC)
HOSTS = [f"h{i:02d}" for i in range(10)]


def test_sizes() -> None:
    assert parse_size("3", 10) == 3
    assert parse_size("25%", 10) == 3  # rounds up
    assert parse_size("1%", 10) == 1  # at least one
    assert parse_size("100%", 7) == 7
    assert tolerated_errors("0", 10) == 0
    assert tolerated_errors("10%", 25) == 2  # rounds down
    assert tolerated_errors("2", 10) == 2
    for bad in ("x", "-1", "120%", "%"):
        with pytest.raises(UsageError, match="rollout"):
            parse_size(bad, 10)


def test_canary_then_batches() -> None:
    assert make_batches(HOSTS[:3], "1", canary=1) == [("h00",), ("h01",), ("h02",)]
    assert make_batches(HOSTS, "4", canary=1) == [
        ("h00",), ("h01", "h02", "h03", "h04"), ("h05", "h06", "h07", "h08"), ("h09",)]
    assert make_batches(HOSTS, "50%") == [tuple(HOSTS[:5]), tuple(HOSTS[5:])]
    assert make_batches([], "1") == []
    assert make_batches(["a", "b", "a"], "10") == [("a", "b")]


@given(
    hosts=st.lists(st.text(alphabet="abcdefgh0123456789", min_size=1, max_size=6), unique=True, max_size=60),
    size=st.one_of(st.integers(1, 70).map(str), st.integers(1, 100).map(lambda p: f"{p}%")),
    canary=st.integers(0, 10),
)
def test_batch_properties(hosts: list[str], size: str, canary: int) -> None:
    batches = make_batches(hosts, size, canary)
    flat = [h for b in batches for h in b]
    assert flat == hosts  # every host exactly once, order kept
    assert all(batches)  # no empty batch
    if hosts and 0 < canary < len(hosts):
        assert batches[0] == tuple(hosts[:canary])
    limit = parse_size(size, len(hosts)) if hosts else 0
    assert all(len(b) <= max(limit, canary) for b in batches)


def test_max_errors_halts_and_skips_the_rest() -> None:
    r = Rollout.plan(HOSTS[:3], "1", 1, "0")
    assert r.may_start(0, NOW, None)
    r.record("h00", "changed")
    assert not r.check_errors()
    assert r.may_start(1, NOW, None)
    r.record("h01", "failed")
    assert r.check_errors()
    assert not r.may_start(2, NOW, None)
    assert r.final_states() == {"h00": "done", "h01": "failed", "h02": "skipped"}
    assert r.outcome() == "halted"
    assert "max_errors" in r.stop_reason


def test_tolerated_failure_continues_and_fails_the_run() -> None:
    r = Rollout.plan(HOSTS[:4], "2", 0, "25%")
    r.record("h00", "unreachable")
    r.record("h01", "ok")
    assert not r.check_errors()
    assert r.may_start(1, NOW, None)
    r.record("h02", "ok")
    r.record("h03", "changed")
    assert r.outcome() == "failed"


def test_cutoff_starts_no_new_batch() -> None:
    r = Rollout.plan(HOSTS[:3], "1", 0, "0")
    deadline = NOW + timedelta(minutes=30)
    assert r.may_start(0, NOW, deadline)
    r.record("h00", "ok")
    assert not r.may_start(1, deadline, deadline)
    assert r.stopped == "cutoff"
    assert r.final_states() == {"h00": "done", "h01": "not_started", "h02": "not_started"}
    assert r.outcome() == "cancelled"


def test_final_states_table() -> None:
    res = {"a": "ok", "b": "changed", "c": "failed", "d": "unreachable", "e": "skipped", "f": "not_started"}
    assert final_states(list("abcdefg"), res, None) == {
        "a": "done", "b": "done", "c": "failed", "d": "failed", "e": "skipped", "f": "not_started",
        "g": "skipped"}
    assert outcome({"a": "done"}, None) == "succeeded"
    assert outcome({"a": "done"}, "cutoff") == "succeeded"  # cutoff after the last batch changes nothing
