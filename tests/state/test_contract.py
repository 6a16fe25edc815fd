"""The StateStore contract, run against every implementation (SQLite file, PostgreSQL server)."""

from __future__ import annotations

import multiprocessing as mp
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runner.errors import StateError
from runner.state.base import BatchRecord, HostRecord, NewRun, OccurrenceTaken, StateStore, StepRecord

from .conftest import StoreSpec

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def new_run(run_id: str, key: str = "patch-web|2026-03-10T02:00Z", **kw: Any) -> NewRun:
    base: dict[str, Any] = dict(
        id=run_id, item_id="patch-web", occurrence="2026-03-10T02:00Z", idempotency_key=key,
        kind="patch", owner="host-a:1", lease_key="item/patch-web", created=T0,
    )
    base.update(kw)
    return NewRun(**base)


def test_create_get_update_list(store: StateStore) -> None:
    rec = store.create_run(new_run("r-0001", reason="because", adhoc=True, deadline=T0 + timedelta(hours=2)))
    assert rec.status == "pending" and rec.adhoc and rec.reason == "because"
    assert rec.deadline == T0 + timedelta(hours=2)
    upd = store.update_run("r-0001", status="running", started=T0, change_id="CHG1", summary={"n": 3})
    assert (upd.status, upd.started, upd.change_id, dict(upd.summary)) == ("running", T0, "CHG1", {"n": 3})
    assert store.get_run("r-00").id == "r-0001"  # unique prefix
    store.create_run(new_run("r-0002", key="other", created=T0 + timedelta(seconds=1), item_id="b"))
    assert [r.id for r in store.list_runs()] == ["r-0002", "r-0001"]
    assert [r.id for r in store.list_runs(item_id="patch-web")] == ["r-0001"]
    assert [r.id for r in store.list_runs(statuses=["running"])] == ["r-0001"]
    assert store.find_run("other") is not None and store.find_run("nope") is None
    with pytest.raises(StateError):
        store.get_run("r-")  # ambiguous
    with pytest.raises(StateError):
        store.update_run("missing", status="failed")


def test_idempotency_key_is_unique(store: StateStore) -> None:
    store.create_run(new_run("r-1"))
    with pytest.raises(OccurrenceTaken) as info:
        store.create_run(new_run("r-2"))
    assert info.value.run_id == "r-1"
    assert [r.id for r in store.list_runs()] == ["r-1"]


def test_missed_takes_the_key_once(store: StateStore) -> None:
    assert store.record_missed(new_run("m-1"), "started 40 min late (max 15 min)")
    assert not store.record_missed(new_run("m-2"), "again")
    rec = store.get_run("m-1")
    assert rec.status == "missed" and "late" in rec.message
    with pytest.raises(OccurrenceTaken):
        store.create_run(new_run("r-3"))


def test_hosts_steps_batches(store: StateStore) -> None:
    store.create_run(new_run("r-1"))
    store.record_batch(BatchRecord(run_id="r-1", index=0, hosts=("web1",), status="running", started=T0))
    store.record_batch(BatchRecord(run_id="r-1", index=0, hosts=("web1",), status="done", started=T0,
                                   finished=T0, checks=({"name": "tcp", "ok": True},)))
    store.record_batch(BatchRecord(run_id="r-1", index=1, hosts=("web2", "db1"), status="running"))
    for host, batch in (("web1", 0), ("web2", 1), ("db1", 1)):
        store.record_host(HostRecord(run_id="r-1", host=host, batch=batch, status="running", started=T0))
    store.record_host(HostRecord(run_id="r-1", host="web1", batch=0, status="changed", data={"pkgs": 2}))
    s1 = store.record_step(StepRecord(run_id="r-1", host="web1", seq=0, name="apt", status="changed"))
    s2 = store.record_step(StepRecord(run_id="r-1", host="web2", seq=0, name="apt", status="ok"))
    assert (s1.seq, s2.seq) == (1, 2)
    assert [b.status for b in store.batches("r-1")] == ["done", "running"]
    assert store.batches("r-1")[0].checks[0]["name"] == "tcp"
    assert [(h.host, h.status) for h in store.hosts("r-1")] == [
        ("web1", "changed"), ("web2", "running"), ("db1", "running")]
    assert store.hosts("r-1")[0].data == {"pkgs": 2}
    assert [s.name for s in store.steps("r-1", "web2")] == ["apt"]
    assert len(store.steps("r-1")) == 2
    rec = store.mark_interrupted("r-1", "runner died", T0 + timedelta(minutes=5))
    assert rec.status == "interrupted" and rec.finished == T0 + timedelta(minutes=5)
    assert [h.status for h in store.hosts("r-1")] == ["changed", "interrupted", "interrupted"]
    assert [b.status for b in store.batches("r-1")] == ["done", "interrupted"]


def test_occurrence_hosts_keeps_done_hosts_done(store: StateStore) -> None:
    store.create_run(new_run("r-1"))
    store.record_host(HostRecord(run_id="r-1", host="web1", batch=0, status="changed"))
    store.record_host(HostRecord(run_id="r-1", host="web2", batch=1, status="interrupted"))
    store.create_run(new_run("r-2", key="k2", resumed_from="r-1", created=T0 + timedelta(minutes=1)))
    store.record_host(HostRecord(run_id="r-2", host="web1", batch=0, status="skipped"))
    store.record_host(HostRecord(run_id="r-2", host="db1", batch=0, status="failed"))
    assert store.occurrence_hosts("patch-web", "2026-03-10T02:00Z") == {
        "web1": "changed", "web2": "interrupted", "db1": "failed"}


def test_lease_semantics(store: StateStore) -> None:
    ttl = timedelta(seconds=30)
    assert store.acquire("item/a", "one", ttl, T0)  # unclaimed
    assert not store.acquire("item/a", "two", ttl, T0 + timedelta(seconds=10))  # held
    assert store.acquire("item/a", "one", ttl, T0 + timedelta(seconds=10))  # ours: refreshed
    lease = store.lease("item/a")
    assert lease is not None and lease.owner == "one" and lease.expires == T0 + timedelta(seconds=40)
    assert store.renew("item/a", "one", ttl, T0 + timedelta(seconds=20))
    assert not store.renew("item/a", "two", ttl, T0 + timedelta(seconds=20))
    # expiry: at now + ttl the lease is free for anybody
    assert not store.acquire("item/a", "two", ttl, T0 + timedelta(seconds=49))
    assert store.acquire("item/a", "two", ttl, T0 + timedelta(seconds=50))
    assert not store.renew("item/a", "one", ttl, T0 + timedelta(seconds=51))  # lost it
    store.release("item/a", "one")  # not ours: no-op
    assert store.lease("item/a") is not None
    store.release("item/a", "two")
    assert store.lease("item/a") is None
    assert store.acquire("item/a", "three", ttl, T0 + timedelta(seconds=51))


def test_expired_lease_cannot_be_renewed(store: StateStore) -> None:
    assert store.acquire("k", "one", timedelta(seconds=5), T0)
    assert not store.renew("k", "one", timedelta(seconds=5), T0 + timedelta(seconds=6))
    assert store.acquire("k", "one", timedelta(seconds=5), T0 + timedelta(seconds=6))  # re-acquire is fine


def _race_create(spec: StoreSpec, barrier: Any, n: int, out: Any) -> None:
    store = spec[0]()
    barrier.wait()
    try:
        store.create_run(new_run(f"race-{n}"))
        out.put(("won", n))
    except OccurrenceTaken:
        out.put(("lost", n))
    except Exception as exc:  # noqa: BLE001 - report anything else to the parent
        out.put(("error", repr(exc)))
    finally:
        store.close()


def _race_lease(spec: StoreSpec, barrier: Any, n: int, out: Any) -> None:
    store = spec[0]()
    barrier.wait()
    try:
        out.put(("won" if store.acquire("item/x", f"owner-{n}", timedelta(minutes=1), T0) else "lost", n))
    except Exception as exc:  # noqa: BLE001
        out.put(("error", repr(exc)))
    finally:
        store.close()


@pytest.mark.parametrize("target", [_race_create, _race_lease], ids=["occurrence", "lease"])
def test_processes_racing_for_one_occurrence(store: StateStore, store_spec: StoreSpec, target: Any) -> None:
    ctx = mp.get_context("fork")
    racers = 4
    barrier, out = ctx.Barrier(racers), ctx.Queue()
    procs = [ctx.Process(target=target, args=(store_spec, barrier, n, out)) for n in range(racers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [r for r in results if r[0] == "error"] == []
    winners = [n for verdict, n in results if verdict == "won"]
    assert len(winners) == 1, results
    if target is _race_create:
        assert [r.id for r in store.list_runs()] == [f"race-{winners[0]}"]
    else:
        lease = store.lease("item/x")
        assert lease is not None and lease.owner == f"owner-{winners[0]}"


def test_sqlite_file_is_private(tmp_path: Path) -> None:
    from runner.state.sqlite import SQLiteStateStore

    store = SQLiteStateStore(tmp_path / "sub" / "state.db")
    store.create_run(new_run("r-1"))
    for f in (tmp_path / "sub").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert stat.S_IMODE((tmp_path / "sub").stat().st_mode) == 0o700
    mode = store._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    store.close()


def test_open_store_honours_settings_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.state import open_store

    monkeypatch.delenv("MAINTCTL_STATE_DSN", raising=False)
    monkeypatch.delenv("MAINTCTL_STATE_DB", raising=False)
    monkeypatch.setenv("MAINTCTL_STATE_DIR", str(tmp_path / "sd"))
    s = open_store(tmp_path, {})
    assert s.name == "sqlite" and (tmp_path / "sd" / "state.db").exists()
    s.close()
    s = open_store(tmp_path, {"path": "custom/st.db"})
    assert (tmp_path / "custom" / "st.db").exists()
    s.close()
    monkeypatch.setenv("MAINTCTL_STATE_DB", str(tmp_path / "env.db"))
    open_store(tmp_path, {"path": "ignored.db"}).close()
    assert (tmp_path / "env.db").exists()
    with pytest.raises(StateError, match="unknown state backend"):
        open_store(tmp_path, {"backend": "mysql"})
