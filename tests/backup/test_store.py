"""The backup kind's facts on the estate's state store (SQLite and PostgreSQL): counters, backups,
restore tests, checks and manifests shared by runners, and the one-time import of ``backup.sqlite``."""

from __future__ import annotations

import functools
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from runner.errors import StateError
from runner.kinds.backup.store import BackupStore
from tests.state.conftest import StoreSpec, race  # the fixture store_spec (both backends) comes from conftest.py

# What the earlier version created in .maintctl/backup.sqlite (its schema, verbatim).
LEGACY_SCHEMA = """
create table if not exists counters (item text primary key, runs integer not null);
create table if not exists backups (
  id integer primary key, item text, host text, plan text, snapshot_id text, at text, ok integer, details text);
create table if not exists restores (
  id integer primary key, item text, host text, restore_host text, kind text, snapshot_id text, at text,
  ok integer, rto real, rpo real, point text, details text);
create table if not exists checks (id integer primary key, item text, at text, subset text, ok integer, details text);
create table if not exists manifests (snapshot_id text primary key, item text, host text, manifest text);
"""


def _report(ok: bool, snap: str, rto: float, host: str = "h2") -> dict[str, Any]:
    return {"host": host, "kind": "files", "snapshot_id": snap, "ok": ok, "rto_seconds": rto, "rpo_seconds": 60.0,
            "point": "latest", "differences": [] if ok else ["missing after restore: /srv/a"]}


def test_status_over_two_runners(store_spec: StoreSpec) -> None:
    a, b = BackupStore(store_spec[0](), owned=True), BackupStore(store_spec[0](), owned=True)
    assert a.status("nightly") == {"item": "nightly", "runs": 0, "last_backup": None, "last_restore_test": None,
                                   "last_verified_restore": None, "last_check": None}
    assert [a.next_run("nightly"), b.next_run("nightly"), a.next_run("weekly")] == [1, 2, 1]
    a.record_backup(item="nightly", host="h1", plan="p", snapshot_id="aaaa1111", at="2026-03-10T02:00:00+00:00",
                    ok=True, details={"files": 3, "when": Path("/x")})  # not JSON: kept as text, as before
    b.record_backup(item="nightly", host="h2", plan="p", snapshot_id="bbbb2222", at="2026-03-10T02:05:00+00:00",
                    ok=False, details={})
    b.record_restore(item="nightly", host="h1", report=_report(True, "aaaa1111", 4.5), at="2026-03-10T02:06:00+00:00")
    a.record_restore(item="nightly", host="h1", report=_report(False, "aaaa1111", 9.0, host="h3"),
                     at="2026-03-10T02:07:00+00:00")
    a.record_check(item="nightly", at="2026-03-10T02:08:00+00:00", subset="2/3", ok=True, details={})
    a.record_backup(item="weekly", host="h9", plan="q", snapshot_id="cccc3333", at="2026-03-10T03:00:00+00:00",
                    ok=True, details={})
    assert b.status("nightly") == {
        "item": "nightly", "runs": 2,
        "last_backup": {"host": "h1", "snapshot_id": "aaaa1111", "at": "2026-03-10T02:00:00+00:00"},  # ok only
        "last_restore_test": {"host": "h1", "restore_host": "h3", "snapshot_id": "aaaa1111",
                              "at": "2026-03-10T02:07:00+00:00", "ok": False, "rto": 9.0, "rpo": 60.0},
        "last_verified_restore": {"host": "h1", "restore_host": "h2", "snapshot_id": "aaaa1111",
                                  "at": "2026-03-10T02:06:00+00:00", "rto": 4.5, "rpo": 60.0, "point": "latest"},
        "last_check": {"at": "2026-03-10T02:08:00+00:00", "subset": "2/3", "ok": True},
    }
    entry = a.state.read_log("backup", "backups", where={"snapshot_id": "aaaa1111"})[0]
    assert entry.value["details"] == {"files": 3, "when": "/x"}
    a.save_manifest(snapshot_id="aaaa1111ffff", item="nightly", host="h1", manifest={"files": {"/a": "sha"}})
    assert b.manifest("aaaa1111") == {"files": {"/a": "sha"}} and b.manifest("zzzz") is None
    a.close()
    b.close()


def _legacy(state_dir: Path, *, backups: int = 3, item: str = "nightly") -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "backup.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY_SCHEMA)
        db.execute("insert into counters values (?, 5)", (item,))
        for n in range(1, backups + 1):
            db.execute("insert into backups (item, host, plan, snapshot_id, at, ok, details) values (?,?,?,?,?,?,?)",
                       (item, "h1", "p", f"snap{n:04d}", f"2026-01-0{n}T02:00:00+00:00", 1, f'{{"n": {n}}}'))
        report = _report(True, "snap0003", 3.0)
        db.execute("insert into restores (item, host, restore_host, kind, snapshot_id, at, ok, rto, rpo, point,"
                   " details) values (?,?,?,?,?,?,?,?,?,?,?)",
                   (item, "h1", "h2", "files", "snap0003", "2026-01-03T02:10:00+00:00", 1, 3.0, 60.0, "latest",
                    json.dumps(report)))
        db.execute("insert into checks (item, at, subset, ok, details) values (?,?,?,?,?)",
                   (item, "2026-01-03T02:20:00+00:00", "1/3", 1, "{}"))
        db.execute("insert into manifests values (?,?,?,?)", ("snap0003", item, "h1", '{"files": {"/a": "1"}}'))
    db.close()
    path.chmod(0o600)
    return path


def _entries(store: BackupStore, stream: str) -> list[Any]:
    return [e.value.get("snapshot_id") or e.value["at"] for e in store.state.read_log("backup", stream)]


def test_earlier_backup_sqlite_is_imported_once(tmp_path: Path, store_spec: StoreSpec) -> None:
    legacy = _legacy(tmp_path / "runner-a")
    shared = store_spec[0]()
    assert shared.increment("backup", "runs/nightly", 2) == 2  # counted meanwhile by an upgraded runner
    store = BackupStore(shared, legacy_dir=legacy.parent)
    status = store.status("nightly")
    assert status["runs"] == 7  # 2 + the earlier 5
    assert status["last_backup"]["snapshot_id"] == "snap0003"
    assert status["last_verified_restore"] == {"host": "h1", "restore_host": "h2", "snapshot_id": "snap0003",
                                               "at": "2026-01-03T02:10:00+00:00", "rto": 3.0, "rpo": 60.0,
                                               "point": "latest"}
    assert status["last_check"] == {"at": "2026-01-03T02:20:00+00:00", "subset": "1/3", "ok": True}
    assert store.manifest("snap0003") == {"files": {"/a": "1"}}
    assert _entries(store, "backups") == ["snap0003", "snap0002", "snap0001"]
    kept = legacy.with_name("backup.sqlite.imported")
    assert not legacy.exists() and kept.exists()

    # The same file again (restored from a backup of the state folder): nothing is counted or logged twice,
    # and the first set-aside copy is not overwritten.
    shutil.copy(kept, legacy)
    again = BackupStore(shared, legacy_dir=legacy.parent)
    assert again.status("nightly") == status and _entries(again, "backups") == ["snap0003", "snap0002", "snap0001"]
    assert sorted(p.name for p in legacy.parent.iterdir()) == ["backup.sqlite.imported", "backup.sqlite.imported.2"]
    shared.close()


def test_interrupted_import_resumes_without_duplicates(tmp_path: Path, store_spec: StoreSpec) -> None:
    legacy = _legacy(tmp_path / "runner-a", backups=4)
    shared = store_spec[0]()
    original = BackupStore.import_legacy

    def dies_after_two(self: BackupStore, db: sqlite3.Connection, job: Any) -> None:
        job.log("backups", [(r["legacy_id"], {"item": r["item"], "snapshot_id": r["snapshot_id"], "at": r["at"],
                                              "ok": True}, None) for r in job.rows(db, "backups")[:2]])
        raise StateError("connection lost")

    BackupStore.import_legacy = dies_after_two  # type: ignore[method-assign]
    try:
        with pytest.raises(StateError, match="connection lost"):
            BackupStore(shared, legacy_dir=legacy.parent)
    finally:
        BackupStore.import_legacy = original  # type: ignore[method-assign]
    assert legacy.exists()  # not set aside: the import did not finish
    store = BackupStore(shared, legacy_dir=legacy.parent)
    assert sorted(_entries(store, "backups")) == ["snap0001", "snap0002", "snap0003", "snap0004"]
    assert store.status("nightly")["runs"] == 5 and not legacy.exists()
    shared.close()


def _open_racing(spec: StoreSpec, barrier: Any, n: int, out: Any, legacy_dir: str) -> None:
    state = spec[0]()
    barrier.wait()
    try:
        store = BackupStore(state, legacy_dir=legacy_dir)
        out.put(("ok", store.status("nightly")["runs"]))
    except Exception as exc:  # noqa: BLE001 - report anything else to the parent
        out.put(("error", repr(exc)))
    finally:
        state.close()


def test_processes_opening_at_once_import_it_once(tmp_path: Path, store_spec: StoreSpec) -> None:
    legacy = _legacy(tmp_path / "runner-a", backups=30)
    racers = 3
    results = race(store_spec, functools.partial(_open_racing, legacy_dir=str(legacy.parent)), racers)
    assert [r[1] for r in results] == [5] * racers  # nobody read a half-done import, nobody counted twice
    store = BackupStore(store_spec[0](), owned=True)
    assert len(store.state.read_log("backup", "backups", limit=1000)) == 30
    assert [p.name for p in legacy.parent.iterdir()] == ["backup.sqlite.imported"]
    store.close()
