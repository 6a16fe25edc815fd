"""The run lifecycle end to end on local-connection hosts: real ansible-playbook, SQLite state,
the evidence ledger and local change records."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest

from runner.catalogue.model import ChangePolicy, Check, Rollout
from runner.engine.run import RunRequest
from runner.errors import LeaseHeld, UsageError
from runner.evidence.query import bundle_records, bundle_states
from runner.state.base import NewRun, OccurrenceTaken

from .conftest import T_OPEN, LocalEstate


def evidence_events(estate: LocalEstate, bundle: str) -> list[str]:
    from runner.estate import state_dir

    out = []
    for _n, rec in bundle_records(state_dir(estate.root) / "evidence", bundle):
        data = rec.get("data") or rec.get("payload") or {}
        out.append(str(rec.get("type") if rec.get("type") != "event" else data.get("event")))
    return out


def test_scheduled_run_in_batches_with_canary(estate: LocalEstate) -> None:
    engine = estate.engine()
    rec = engine.run(RunRequest(item_id="demo"))
    assert rec.status == "succeeded", rec.message
    assert rec.occurrence.startswith("nightly@2026-03-10T02:00")
    assert rec.idempotency_key == f"demo|{rec.occurrence}"
    assert sorted(p.name for p in estate.out.iterdir()) == ["l1", "l2", "l3"]
    batches = engine.store.batches(rec.id)
    assert [b.hosts for b in batches] == [("l1",), ("l2",), ("l3",)]
    assert all(b.status == "done" for b in batches)
    assert {h.host: h.status for h in engine.store.hosts(rec.id)} == {"l1": "changed", "l2": "changed",
                                                                       "l3": "changed"}
    assert [s.name for s in engine.store.steps(rec.id, "l1")] == ["write marker", "maybe fail", "nap"]
    # evidence: bundle closed, with the change record around the batches
    assert rec.bundle_id and bundle_states(engine.evidence.ledger.root)[rec.bundle_id] == "closed"  # type: ignore[attr-defined]
    kinds = evidence_events(estate, rec.bundle_id)
    assert kinds.index("change.opened") < kinds.index("batch.started") < kinds.index("change.closed")
    assert kinds.count("host.result") == 3 and kinds[-1] == "bundle.closed"
    change = engine.changes.get(rec.change_id)  # type: ignore[union-attr,arg-type]
    assert change.close_code == "successful" and change.evidence_link == f"evidence:{rec.bundle_id}"
    # progress events, canary first
    started = [e["hosts"] for e in estate.events if e["event"] == "batch.started"]
    assert started == [["l1"], ["l2"], ["l3"]]
    # the occurrence runs at most once
    with pytest.raises(OccurrenceTaken):
        estate.engine().run(RunRequest(item_id="demo"))


def test_max_errors_halts_and_leaves_the_rest(estate: LocalEstate) -> None:
    s = dict(estate.catalogue.items[0].settings)
    s["extravars"] = {**s["extravars"], "fail_hosts": ["l2"]}
    estate.item(settings=s)
    engine = estate.engine()
    rec = engine.run(RunRequest(item_id="demo"))
    assert rec.status == "halted" and "max_errors" in rec.message
    assert dict(rec.summary["hosts"]) == {"l1": "done", "l2": "failed", "l3": "skipped"}
    assert not (estate.out / "l3").exists()
    assert engine.changes.get(rec.change_id).close_code == "unsuccessful"  # type: ignore[union-attr,arg-type]


def test_cutoff_starts_no_new_batch(estate: LocalEstate) -> None:
    engine = estate.engine()
    deadline = T_OPEN.replace(minute=0) + timedelta(hours=2, minutes=30)

    def jump(event: str, data: dict[str, object]) -> None:
        if event == "batch.finished" and data["index"] == 0:
            estate.clock.set(deadline)

    capture = engine.reporter
    engine.reporter = lambda e, d: (capture(e, d), jump(e, dict(d)))  # type: ignore[assignment,func-returns-value]
    rec = engine.run(RunRequest(item_id="demo"))
    assert rec.status == "cancelled" and "cutoff" in rec.message
    assert dict(rec.summary["hosts"]) == {"l1": "done", "l2": "not_started", "l3": "not_started"}
    assert [h.status for h in engine.store.hosts(rec.id)] == ["changed", "not_started", "not_started"]
    assert engine.changes.get(rec.change_id).close_code == "successful_with_issues"  # type: ignore[union-attr,arg-type]


def test_on_cutoff_cancel_stops_the_running_batch(estate: LocalEstate) -> None:
    s = dict(estate.catalogue.items[0].settings)
    s["extravars"] = {**s["extravars"], "nap": 60}
    estate.item(settings=s, rollout=Rollout(batch_size="100%", on_cutoff="cancel"))
    engine = estate.engine()
    deadline = T_OPEN.replace(minute=0) + timedelta(hours=2, minutes=30)
    capture = engine.reporter

    def hook(event: str, data: object) -> None:
        capture(event, data)  # type: ignore[arg-type]
        if event == "batch.started":
            estate.clock.set(deadline - timedelta(seconds=8))

    engine.reporter = hook  # type: ignore[assignment]
    rec = engine.run(RunRequest(item_id="demo"))
    assert rec.status == "cancelled", [(e["event"], e.get("status"), e.get("name")) for e in estate.events]
    # the hosts began the play: partially applied is reported as failed, never as done
    states = dict(rec.summary["hosts"])
    assert set(states.values()) <= {"failed", "not_started"} and "failed" in states.values()
    assert all("partially" in h.message for h in engine.store.hosts(rec.id) if h.status == "failed")
    assert rec.finished is not None and rec.finished < deadline + timedelta(seconds=30)  # not after the 60 s nap


def test_failed_pre_check_halts_before_touching_hosts(estate: LocalEstate) -> None:
    estate.item(rollout=Rollout(batch_size="1", pre_checks=(Check(kind="command", command="exit 1", on="runner",
                                                                  name="gate"),)))
    rec = estate.engine().run(RunRequest(item_id="demo"))
    assert rec.status == "halted" and "pre-check gate failed" in rec.message
    assert list(estate.out.iterdir()) == []
    assert set(dict(rec.summary["hosts"]).values()) == {"skipped"}


def test_post_check_failure_halts(estate: LocalEstate) -> None:
    estate.item(rollout=Rollout(batch_size="1", post_checks=(
        Check(kind="command", command=f"test ! -e {estate.out}/l2", on="runner", name="no-l2"),)))
    rec = estate.engine().run(RunRequest(item_id="demo"))
    assert rec.status == "halted" and "post-check no-l2" in rec.message
    assert dict(rec.summary["hosts"]) == {"l1": "done", "l2": "done", "l3": "skipped"}


def test_outside_window_needs_force_and_reason(estate: LocalEstate) -> None:
    estate.clock.set(T_OPEN + timedelta(hours=6))
    engine = estate.engine()
    with pytest.raises(UsageError, match="not open"):
        engine.run(RunRequest(item_id="demo"))
    with pytest.raises(UsageError, match="--reason"):
        engine.run(RunRequest(item_id="demo", force=True))
    rec = engine.run(RunRequest(item_id="demo", force=True, reason="hotfix CVE-2026-1"))
    assert rec.status == "succeeded" and rec.adhoc and rec.reason == "hotfix CVE-2026-1"
    assert rec.occurrence == f"adhoc:{rec.id}" and rec.deadline is None
    with pytest.raises(UsageError, match="unknown item"):
        engine.run(RunRequest(item_id="nope"))


def test_late_start_is_recorded_as_missed(estate: LocalEstate) -> None:
    estate.clock.set(T_OPEN + timedelta(minutes=20))  # 25 min after the start, limit 15 min
    engine = estate.engine()
    with pytest.raises(UsageError, match="missed"):
        engine.run(RunRequest(item_id="demo"))
    (rec,) = engine.store.list_runs()
    assert rec.status == "missed" and "max_start_delay" in rec.message
    assert bundle_states(engine.evidence.ledger.root)[rec.bundle_id] == "closed"  # type: ignore[attr-defined,index]
    assert list(estate.out.iterdir()) == []


def test_change_not_approved_in_time_cancels(estate: LocalEstate) -> None:
    estate.item(change=ChangePolicy(type="normal", approval_timeout=timedelta(seconds=1), on_timeout="cancel"))
    engine = estate.engine()
    rec = engine.run(RunRequest(item_id="demo"))
    assert rec.status == "cancelled" and "not approved" in rec.message
    assert list(estate.out.iterdir()) == []
    assert engine.changes.get(rec.change_id).close_code == "cancelled"  # type: ignore[union-attr,arg-type]


def test_lease_held_by_a_live_runner(estate: LocalEstate) -> None:
    engine = estate.engine()
    assert engine.store.acquire("item/demo", "elsewhere:1:1:x", timedelta(minutes=5), estate.clock())
    with pytest.raises(LeaseHeld, match="elsewhere"):
        engine.run(RunRequest(item_id="demo"))


def test_dead_runner_is_marked_interrupted_and_resumed_without_repeats(estate: LocalEstate) -> None:
    import socket

    engine = estate.engine()
    dead = subprocess.Popen(["true"])
    dead.wait()
    owner = f"{socket.gethostname()}:{dead.pid}:0:dead"
    now = estate.clock()
    occ = "nightly@2026-03-10T02:00:00+00:00"
    engine.store.acquire("item/demo", owner, timedelta(minutes=5), now)
    engine.store.create_run(NewRun(id="old-run", item_id="demo", occurrence=occ, idempotency_key=f"demo|{occ}",
                                   kind="patch", owner=owner, lease_key="item/demo", created=now,
                                   status="running", deadline=now + timedelta(hours=2)))
    bundle = engine.evidence.open_bundle(run_id="old-run", item_id="demo", occurrence=occ, asked={})
    engine.store.update_run("old-run", bundle_id=bundle)
    from runner.state.base import HostRecord

    engine.store.record_host(HostRecord(run_id="old-run", host="l1", batch=0, status="changed"))
    engine.store.record_host(HostRecord(run_id="old-run", host="l2", batch=1, status="running"))
    (found,) = engine.recover()
    assert found.id == "old-run" and found.status == "interrupted" and "process" in found.message
    assert bundle_states(engine.evidence.ledger.root)[bundle] == "closed"  # type: ignore[attr-defined]
    assert [h.status for h in engine.store.hosts("old-run")] == ["changed", "interrupted"]
    # the same occurrence is not run again; its lease is left to expire
    with pytest.raises(LeaseHeld):
        engine.run(RunRequest(item_id="demo"))
    estate.clock.set(now + timedelta(minutes=6))
    with pytest.raises(OccurrenceTaken):
        engine.run(RunRequest(item_id="demo", occurrence=_occurrence(estate)))
    # explicit resumption runs only the host that never started
    rec = engine.run(RunRequest(item_id="demo", resume="old-run"))
    assert rec.status == "succeeded" and rec.resumed_from == "old-run"
    assert [p.name for p in estate.out.iterdir()] == ["l3"]
    assert dict(rec.summary["excluded"]) == {"l1": "changed", "l2": "interrupted"}
    with pytest.raises(OccurrenceTaken):
        engine.run(RunRequest(item_id="demo", resume="old-run"))


def _occurrence(estate: LocalEstate) -> object:
    from runner.schedule import occurrences

    window = estate.catalogue.windows["nightly"]
    return occurrences(window, T_OPEN - timedelta(hours=1), T_OPEN)[0]
