"""The StateStore contract, run against every implementation (SQLite file, PostgreSQL server)."""

from __future__ import annotations

import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runner.errors import StateError
from runner.state.base import BatchRecord, HostRecord, NewRun, OccurrenceTaken, StateStore, StepRecord

from .conftest import StoreSpec, race

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


def _racing(spec: StoreSpec, barrier: Any, out: Any, body: Callable[[StateStore], Any]) -> None:
    """One racer: open a connection, wait for the others, put ``body``'s result (or the error) on ``out``."""
    store = spec[0]()
    barrier.wait()
    try:
        out.put(body(store))
    except Exception as exc:  # noqa: BLE001 - report anything else to the parent
        out.put(("error", repr(exc)))
    finally:
        store.close()


def _race_create(spec: StoreSpec, barrier: Any, n: int, out: Any) -> None:
    def body(store: StateStore) -> tuple[str, int]:
        try:
            store.create_run(new_run(f"race-{n}"))
            return ("won", n)
        except OccurrenceTaken:
            return ("lost", n)

    _racing(spec, barrier, out, body)


def _race_lease(spec: StoreSpec, barrier: Any, n: int, out: Any) -> None:
    _racing(spec, barrier, out,
            lambda store: ("won" if store.acquire("item/x", f"owner-{n}", timedelta(minutes=1), T0) else "lost", n))


@pytest.mark.parametrize("target", [_race_create, _race_lease], ids=["occurrence", "lease"])
def test_processes_racing_for_one_occurrence(store: StateStore, store_spec: StoreSpec, target: Any) -> None:
    results = race(store_spec, target)
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


# kind facts ---------------------------------------------------------------------------------------
def test_fact_documents(store: StateStore) -> None:
    assert store.get_fact("patch", "a") is None and store.list_facts("patch") == []
    put = store.put_fact("patch", "compliance/web1", {"state": "compliant", "n": [1, 2]}, T0)
    assert put.value == {"state": "compliant", "n": [1, 2]} and put.updated == T0
    store.put_fact("patch", "compliance/web1", {"state": "failed"}, T0 + timedelta(minutes=1))
    got = store.get_fact("patch", "compliance/web1")
    assert got is not None and got.value == {"state": "failed"} and got.updated == T0 + timedelta(minutes=1)
    assert got.updated.tzinfo is not None and got.updated.utcoffset() == timedelta(0)
    for key in ("compliance/db1", "compliance/web2", "compliancy", "first_seen/web1/curl/8.0", "c%_/x", "c%x"):
        store.put_fact("patch", key, "é" if key == "compliancy" else 1, T0)
    store.put_fact("backup", "compliance/zz", None, T0)
    assert [f.key for f in store.list_facts("patch", "compliance/")] == [
        "compliance/db1", "compliance/web1", "compliance/web2"]  # bytewise key order, other namespace apart
    assert [f.key for f in store.list_facts("patch", "c%_")] == ["c%_/x"]  # no LIKE wildcards
    assert len(store.list_facts("patch")) == 7
    assert store.get_fact("patch", "compliancy").value == "é"  # type: ignore[union-attr]
    assert store.get_fact("backup", "compliance/zz").value is None  # type: ignore[union-attr]


def test_put_if_absent_keeps_the_first_value(store: StateStore) -> None:
    first = store.put_facts_if_absent("patch", {"w/curl/1": {"at": "t0"}, "w/vim/2": {"at": "t0"}}, T0)
    assert {k: (f.value, f.updated) for k, f in first.items()} == {
        "w/curl/1": ({"at": "t0"}, T0), "w/vim/2": ({"at": "t0"}, T0)}
    later = store.put_facts_if_absent("patch", {"w/curl/1": {"at": "t1"}, "w/git/3": {"at": "t1"}},
                                      T0 + timedelta(days=1))
    assert {k: f.value["at"] for k, f in later.items()} == {"w/curl/1": "t0", "w/git/3": "t1"}
    assert later["w/curl/1"].updated == T0
    assert store.put_facts_if_absent("patch", {}) == {}
    many = {f"h/pkg{i}/1": i for i in range(1200)}  # more keys than one IN list holds
    assert {k: f.value for k, f in store.put_facts_if_absent("bulk", many, T0).items()} == many


@pytest.mark.parametrize("bad", [{1: "int key"}, {"when": T0}, [set()], float("nan"), object()],
                         ids=["int-key", "datetime", "set", "nan", "object"])
def test_facts_reject_values_that_are_not_json(store: StateStore, bad: Any) -> None:
    with pytest.raises(StateError, match=r"fact patch/k: value is not JSON"):
        store.put_fact("patch", "k", bad)
    with pytest.raises(StateError, match=r"fact patch/k: value is not JSON"):
        store.put_facts_if_absent("patch", {"fine": 1, "k": bad})
    with pytest.raises(StateError, match=r"log backup/backups: value is not JSON"):
        store.append_log("backup", "backups", {"x": bad})
    assert store.list_facts("patch") == [] and store.read_log("backup", "backups") == []  # nothing half-written


def test_facts_reject_bad_names_and_naive_times(store: StateStore) -> None:
    with pytest.raises(StateError, match="namespace must be a non-empty string"):
        store.put_fact("", "k", 1)
    with pytest.raises(StateError, match="naive datetime"):
        store.put_fact("n", "k", 1, datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(StateError, match="must be a JSON object"):
        store.append_log("n", "s", ["not", "an", "object"])  # type: ignore[arg-type]
    with pytest.raises(StateError, match="cannot filter on 'a b'"):
        store.read_log("n", "s", where={"a b": 1})
    with pytest.raises(StateError, match="limit must be at least 1"):
        store.read_log("n", "s", limit=0)


def test_log_newest_first_with_filters(store: StateStore) -> None:
    rows = [
        ({"item": "nightly", "ok": True, "n": 1, "host": "h1"}, T0),
        ({"item": "nightly", "ok": False, "n": 0, "host": "h2"}, T0 + timedelta(minutes=1)),
        ({"item": "weekly", "ok": True, "n": 1, "host": "h1"}, T0 + timedelta(minutes=2)),
        ({"item": "nightly", "ok": 1, "n": True, "host": "1"}, T0 + timedelta(minutes=3)),
        ({"item": "nightly", "ok": True, "n": 2}, T0 + timedelta(seconds=30)),  # appended late, older `at`
    ]
    entries = [store.append_log("backup", "backups", value, at) for value, at in rows]
    assert [e.id for e in entries] == sorted({e.id for e in entries})  # increasing, unique
    store.append_log("backup", "restores", {"item": "nightly", "ok": True}, T0)
    store.append_log("other", "backups", {"item": "nightly", "ok": True}, T0)

    def ns(**where: Any) -> list[Any]:
        return [e.value.get("n") for e in store.read_log("backup", "backups", where=where)]

    assert ns() == [True, 1, 0, 2, 1]  # newest `at` first
    assert ns(item="nightly", ok=True) == [2, 1]  # ok == 1 is not ok == True
    assert ns(ok=1) == [True]
    assert ns(n=1) == [1, 1]  # n == True is not n == 1
    assert ns(host="1") == [True] and ns(host="h1", item="weekly") == [1]
    assert ns(missing="x") == []
    newest = store.read_log("backup", "backups", where={"item": "nightly"}, limit=1)
    assert len(newest) == 1 and newest[0].at == T0 + timedelta(minutes=3) and newest[0].stream == "backups"
    assert [e.value["item"] for e in store.read_log("backup", "restores")] == ["nightly"]


def test_counters(store: StateStore) -> None:
    assert store.counter("backup", "runs/nightly") == 0
    assert [store.increment("backup", "runs/nightly") for _ in range(3)] == [1, 2, 3]
    assert store.increment("backup", "runs/nightly", by=10) == 13
    assert store.increment("backup", "runs/weekly") == 1 and store.increment("patch", "runs/nightly") == 1
    assert store.counter("backup", "runs/nightly") == 13


def test_facts_survive_reopening(store_spec: StoreSpec) -> None:
    one = store_spec[0]()
    one.put_fact("patch", "k", {"v": 1}, T0)
    one.append_log("patch", "s", {"v": 1}, T0)
    one.increment("patch", "c")
    one.close()
    two = store_spec[0]()
    assert two.get_fact("patch", "k").value == {"v": 1}  # type: ignore[union-attr]
    assert [e.value for e in two.read_log("patch", "s")] == [{"v": 1}]
    assert two.increment("patch", "c") == 2
    two.close()


def test_store_from_before_kind_facts_gains_them(store_spec: StoreSpec) -> None:
    """A store written by a version without kind facts opens, keeps its runs, and holds facts."""
    import sqlite3

    from runner.state import postgres, sqlite

    factory, location = store_spec
    older = factory()
    older.create_run(new_run("r-old"))
    older.close()
    if location.startswith("host="):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute("DROP TABLE facts, fact_log, fact_counters")
        assert "fact_log" in postgres.SCHEMA
    else:
        with sqlite3.connect(location) as db:
            db.executescript("DROP TABLE facts; DROP TABLE fact_log; DROP TABLE fact_counters;")
        assert "fact_log" in sqlite.SCHEMA
    store = factory()
    assert store.get_run("r-old").status == "pending"
    store.put_fact("patch", "k", 1)
    assert store.increment("patch", "c") == 1 and store.get_fact("patch", "k") is not None
    store.close()


def _race_first_seen(spec: StoreSpec, barrier: Any, n: int, out: Any) -> None:
    def body(store: StateStore) -> tuple[str, list[Any]]:
        seen = store.put_facts_if_absent("patch", {f"first_seen/web1/curl/{v}": {"runner": n} for v in range(20)},
                                         T0 + timedelta(seconds=n))
        return ("ok", sorted((k, f.value["runner"], f.updated.isoformat()) for k, f in seen.items()))

    _racing(spec, barrier, out, body)


def _race_counter(spec: StoreSpec, barrier: Any, n: int, out: Any) -> None:
    _racing(spec, barrier, out, lambda store: ("ok", [store.increment("backup", "runs/nightly") for _ in range(25)]))


@pytest.mark.parametrize("target", [_race_first_seen, _race_counter], ids=["put-if-absent", "counter"])
def test_processes_racing_on_kind_facts(store: StateStore, store_spec: StoreSpec, target: Any) -> None:
    racers = 4
    results = race(store_spec, target, racers)
    if target is _race_first_seen:
        # Every runner was told the same first sighting for every version: the one that is stored.
        views = {tuple(view) for _, view in results}
        assert len(views) == 1, views
        stored = sorted((f.key, f.value["runner"], f.updated.isoformat()) for f in store.list_facts("patch"))
        assert list(views.pop()) == stored and len(stored) == 20
    else:
        values = sorted(v for _, got in results for v in got)
        assert values == list(range(1, racers * 25 + 1))  # no increment lost, none handed out twice
        assert store.counter("backup", "runs/nightly") == racers * 25
