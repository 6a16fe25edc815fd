"""The patch kind's facts on the estate's state store (SQLite and PostgreSQL): first sightings and
compliance shared by runners, and the one-time import of an earlier version's ``patch.sqlite``."""

from __future__ import annotations

import argparse
import json
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.kinds.patch.store import PatchStore
from runner.state.sqlite import SQLiteStateStore
from tests.state.conftest import StoreSpec  # the fixture store_spec (both backends) comes from conftest.py

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)

# What the earlier version created in .maintctl/patch.sqlite (its schema, verbatim).
LEGACY_SCHEMA = """
create table if not exists first_seen (
  host text not null, name text not null, version text not null, at text not null,
  primary key (host, name, version));
create table if not exists compliance (
  host text primary key, item text not null, run_id text not null, at text not null, state text not null,
  details text not null);
"""


def _runners(spec: StoreSpec) -> tuple[PatchStore, PatchStore]:
    """Two runners, each on its own connection to the one shared store."""
    return PatchStore(spec[0](), owned=True), PatchStore(spec[0](), owned=True)


def test_runners_agree_on_the_first_sighting(store_spec: StoreSpec) -> None:
    a, b = _runners(store_spec)
    later = T0 + timedelta(days=3)
    assert a.first_seen("web1", [("curl", "8.0"), ("vim", "9.1")], T0) == {("curl", "8.0"): T0, ("vim", "9.1"): T0}
    # b sees curl 8.0 three days later: approve_after_days still counts from a's sighting.
    assert b.first_seen("web1", [("curl", "8.0"), ("git", "2.4")], later) == {("curl", "8.0"): T0,
                                                                             ("git", "2.4"): later}
    assert b.first_seen("web2", [("curl", "8.0")], later) == {("curl", "8.0"): later}  # per host
    a.set_first_seen("web1", "git", "2.4", T0 - timedelta(days=10))
    assert b.first_seen("web1", [("git", "2.4")], later)[("git", "2.4")] == T0 - timedelta(days=10)
    # Parts are quoted: a slash in a name cannot make two sightings share a key.
    assert a.first_seen("h", [("lib/x", "1:2.3~rc1+b1")], T0) == {("lib/x", "1:2.3~rc1+b1"): T0}
    assert a.first_seen("h", [("lib", "x/1:2.3~rc1+b1")], later) == {("lib", "x/1:2.3~rc1+b1"): later}
    a.close()
    b.close()


def test_compliance_is_one_row_per_host_whoever_wrote_it(store_spec: StoreSpec) -> None:
    a, b = _runners(store_spec)
    ok = {"installed": [{"name": "curl", "before": "7.0", "after": "8.0"}], "missing": []}
    a.put_compliance("web2", "patch-web", "r1", T0, "compliant", ok)
    b.put_compliance("web1", "patch-web", "r2", T0, "compliant", ok)
    b.put_compliance("web2", "patch-web", "r3", T0 + timedelta(hours=1), "failed",
                     {"installed": [], "missing": [{"name": "curl", "approved": "8.0"}]})
    rows = a.compliance()
    assert [(r["host"], r["run_id"], r["state"]) for r in rows] == [("web1", "r2", "compliant"),
                                                                     ("web2", "r3", "failed")]
    assert rows[1] == {"host": "web2", "item": "patch-web", "run_id": "r3", "at": "2026-03-10T03:00:00+00:00",
                       "state": "failed", "installed": [], "missing": [{"name": "curl", "approved": "8.0"}]}
    a.close()
    b.close()


def _legacy(state_dir: Path) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "patch.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY_SCHEMA)
        db.executemany("insert into first_seen values (?, ?, ?, ?)", [
            ("web1", "curl", "8.0", "2026-01-01T00:00:00+00:00"), ("web1", "vim", "9.1", "2026-02-01T00:00:00+00:00")])
        db.execute("insert into compliance values (?, ?, ?, ?, ?, ?)", (
            "web1", "patch-web", "r-old", "2026-02-02T00:00:00+00:00", "pending_reboot",
            json.dumps({"installed": [], "missing": []})))
    path.chmod(0o600)
    db.close()
    return path


def test_earlier_patch_sqlite_is_imported_once_then_set_aside(tmp_path: Path, store_spec: StoreSpec) -> None:
    legacy = _legacy(tmp_path / "runner-a")
    shared = store_spec[0]()
    shared.put_fact("patch", "first_seen/web1/vim/9.1", {"at": "2026-01-15T00:00:00+00:00"})  # another runner's
    store = PatchStore(shared, legacy_dir=tmp_path / "runner-a")
    seen = store.first_seen("web1", [("curl", "8.0"), ("vim", "9.1")], T0)
    assert seen == {("curl", "8.0"): datetime(2026, 1, 1, tzinfo=UTC),  # imported
                    ("vim", "9.1"): datetime(2026, 1, 15, tzinfo=UTC)}  # the store's value wins
    [row] = store.compliance()
    assert (row["host"], row["state"], row["run_id"]) == ("web1", "pending_reboot", "r-old")
    assert not legacy.exists()
    kept = tmp_path / "runner-a" / "patch.sqlite.imported"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    with sqlite3.connect(kept) as db:  # nothing deleted: the earlier file is whole
        assert db.execute("select count(*) from first_seen").fetchone() == (2,)
    db.close()
    PatchStore(shared, legacy_dir=tmp_path / "runner-a")  # opening again changes nothing
    assert sorted(p.name for p in (tmp_path / "runner-a").iterdir()) == ["patch.sqlite.imported"]
    shared.close()


def test_patch_status_reads_the_estate_store_and_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from runner.cli.patch import run_status

    for var in ("MAINTCTL_STATE_DIR", "MAINTCTL_STATE_DB", "MAINTCTL_STATE_DSN"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "maintenance").mkdir()
    _legacy(tmp_path / ".maintctl")
    assert run_status(argparse.Namespace(estate=str(tmp_path), json=True)) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["host"], row["state"]) == ("web1", "pending_reboot")
    assert (tmp_path / ".maintctl" / "patch.sqlite.imported").exists()
    state = SQLiteStateStore(tmp_path / ".maintctl" / "state.db")
    assert len(state.list_facts("patch", "first_seen/")) == 2
    state.close()
