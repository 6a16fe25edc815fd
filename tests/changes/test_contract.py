"""The ChangeBackend contract, run against every backend."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from runner.changes.base import ChangeBackend, ChangeRequest, ChangeType
from runner.errors import ChangeError

from .conftest import Reviewer

T0 = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


def request(type_: ChangeType = "normal", hosts: tuple[str, ...] = ("web1", "web2"), start: datetime = T0,
            hours: int = 2, item: str = "patch-web") -> ChangeRequest:  # fmt: skip
    return ChangeRequest(
        item_id=item, run_id=f"run-{item}", type=type_, short_description=f"{item}: monthly patching",
        description="apt upgrades from baseline ubuntu-2404", hosts=hosts, planned_start=start,
        planned_end=start + timedelta(hours=hours), requested_by="alice@runner1",
    )  # fmt: skip


FAST = timedelta(milliseconds=20)


def test_standard_is_pre_approved(backend: ChangeBackend) -> None:
    rec = backend.open(request("standard"))
    assert rec.id and rec.state == "scheduled" and rec.approval == "approved" and rec.type == "standard"
    assert backend.wait_for_approval(rec.id, timedelta(0), FAST) == "approved"


def test_normal_waits_for_approval_then_times_out(backend: ChangeBackend) -> None:
    rec = backend.open(request("normal"))
    assert rec.state in ("new", "assess") and rec.approval == "requested"
    started = time.monotonic()
    assert backend.wait_for_approval(rec.id, timedelta(milliseconds=150), FAST) == "timeout"
    assert time.monotonic() - started >= 0.14
    with pytest.raises(ChangeError):
        backend.implement(rec.id)  # not approved: work must not start


def test_normal_approved_while_waiting(backend: ChangeBackend, reviewer: Reviewer) -> None:
    rec = backend.open(request("normal"))
    timer = threading.Timer(0.1, reviewer.approve, args=(rec.id, "bob"))
    timer.start()
    try:
        assert backend.wait_for_approval(rec.id, timedelta(seconds=10), FAST) == "approved"
    finally:
        timer.join()
    got = backend.get(rec.id)
    assert got.approver == "bob" and got.approval == "approved" and got.state == "scheduled"


def test_normal_rejected(backend: ChangeBackend, reviewer: Reviewer) -> None:
    rec = backend.open(request("normal"))
    reviewer.reject(rec.id, "carol")
    assert backend.wait_for_approval(rec.id, timedelta(seconds=1), FAST) == "rejected"
    got = backend.get(rec.id)
    assert got.approval == "rejected" and got.state == "cancelled"
    with pytest.raises(ChangeError):
        backend.implement(rec.id)
    assert backend.conflicts(["web1"], T0, T0 + timedelta(hours=1)) == []


def test_emergency_proceeds_and_is_approved_afterwards(backend: ChangeBackend, reviewer: Reviewer) -> None:
    rec = backend.open(request("emergency"))
    assert backend.wait_for_approval(rec.id, timedelta(0), FAST) == "approved"
    assert backend.implement(rec.id).state == "implement"
    closed = backend.close(rec.id, "successful", "patched", "evidence:20261128T220000Z-patch-web-abc123")
    assert closed.state == "closed" and closed.approval == "requested"
    reviewer.approve(rec.id, "cab-chair")
    assert backend.get(rec.id).approval == "approved" and backend.get(rec.id).approver == "cab-chair"


@pytest.mark.parametrize("code", ["successful", "successful_with_issues", "unsuccessful"])
def test_full_lifecycle(backend: ChangeBackend, code: str) -> None:
    rec = backend.open(request("standard"))
    assert backend.implement(rec.id).state == "implement"
    link = "evidence:bundle-1"
    closed = backend.close(rec.id, code, "2 hosts patched", link)  # type: ignore[arg-type]
    got = (closed.state, closed.close_code, closed.close_notes, closed.evidence_link)
    assert got == ("closed", code, "2 hosts patched", link)
    assert backend.get(rec.id) == closed
    assert len(closed.history) >= 3
    with pytest.raises(ChangeError):
        backend.close(rec.id, "successful", "again", link)


def test_cancel_before_implementation(backend: ChangeBackend) -> None:
    rec = backend.open(request("normal"))
    with pytest.raises(ChangeError):
        backend.close(rec.id, "successful", "never ran", "")
    assert backend.close(rec.id, "cancelled", "approval timed out", "evidence:b").state == "cancelled"


def test_conflicts_on_shared_hosts_and_overlapping_time(backend: ChangeBackend) -> None:
    a = backend.open(request("standard", hosts=("web1", "web2")))
    backend.open(request("standard", hosts=("db1",), item="patch-db"))
    later = backend.open(request("standard", hosts=("web2",), start=T0 + timedelta(hours=2), item="late"))
    hit = backend.conflicts(["web2", "web9"], T0 + timedelta(hours=1), T0 + timedelta(hours=3))
    assert [r.id for r in hit] == [a.id, later.id]
    # [start, end) is half-open: touching ends do not overlap.
    assert backend.conflicts(["web1"], T0 + timedelta(hours=2), T0 + timedelta(hours=3)) == []
    assert [r.id for r in backend.conflicts(["web1"], T0, T0 + timedelta(hours=1), exclude_id=None)] == [a.id]
    assert backend.conflicts(["web1"], T0, T0 + timedelta(hours=1), exclude_id=a.id) == []
    backend.implement(a.id)
    backend.close(a.id, "successful", "", "")
    assert backend.conflicts(["web1"], T0, T0 + timedelta(hours=1)) == []


def test_get_unknown_and_list(backend: ChangeBackend) -> None:
    with pytest.raises(ChangeError):
        backend.get("CHG-nope")
    ids = [backend.open(request("standard", item=f"i{n}")).id for n in range(3)]
    assert [r.id for r in backend.list()] == ids
    assert len(set(ids)) == 3


def test_rejects_naive_times_and_empty_window(backend: ChangeBackend) -> None:
    with pytest.raises(ChangeError):
        backend.open(request(start=datetime(2026, 11, 28, 22, 0)))
    with pytest.raises(ChangeError):
        backend.open(request(hours=0))
