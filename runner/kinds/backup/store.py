"""The backup kind's own state: run counters, backups, restore tests, checks and manifests.

A small SQLite file in the estate's state folder (mode 0600). The engine's state store has no
place for kind-specific facts; this table set is what ``maintctl backup status`` reads.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runner.errors import StateError

_SCHEMA = """
create table if not exists counters (item text primary key, runs integer not null);
create table if not exists backups (
  id integer primary key, item text, host text, plan text, snapshot_id text, at text, ok integer, details text);
create table if not exists restores (
  id integer primary key, item text, host text, restore_host text, kind text, snapshot_id text, at text,
  ok integer, rto real, rpo real, point text, details text);
create table if not exists checks (id integer primary key, item text, at text, subset text, ok integer, details text);
create table if not exists manifests (snapshot_id text primary key, item text, host text, manifest text);
"""


class BackupStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        try:
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._db.execute("pragma journal_mode=wal")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StateError(f"{path}: cannot open the backup state: {exc}") from exc
        self._db.row_factory = sqlite3.Row

    @classmethod
    def in_state_dir(cls, state_dir: str | Path) -> BackupStore:
        return cls(Path(state_dir) / "backup.sqlite")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("begin immediate")
            yield self._db
            self._db.execute("commit")
        except BaseException:
            self._db.execute("rollback")
            raise

    def next_run(self, item: str) -> int:
        """Count one more backup run of ``item`` and return its 1-based number."""
        with self._tx() as db:
            db.execute("insert into counters values (?, 1) on conflict(item) do update set runs = runs + 1", (item,))
            row = db.execute("select runs from counters where item = ?", (item,)).fetchone()
        return int(row[0])

    def record_backup(
        self, *, item: str, host: str, plan: str, snapshot_id: str, at: str, ok: bool, details: Mapping[str, Any]
    ) -> None:
        with self._tx() as db:
            db.execute(
                "insert into backups (item, host, plan, snapshot_id, at, ok, details) values (?,?,?,?,?,?,?)",
                (item, host, plan, snapshot_id, at, int(ok), json.dumps(details, default=str)),
            )

    def record_restore(self, *, item: str, host: str, report: Mapping[str, Any], at: str) -> None:
        with self._tx() as db:
            db.execute(
                "insert into restores (item, host, restore_host, kind, snapshot_id, at, ok, rto, rpo, point, details)"
                " values (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    item,
                    host,
                    report.get("host"),
                    report.get("kind"),
                    report.get("snapshot_id"),
                    at,
                    int(bool(report.get("ok"))),
                    report.get("rto_seconds"),
                    report.get("rpo_seconds"),
                    report.get("point"),
                    json.dumps(report, default=str),
                ),
            )

    def record_check(self, *, item: str, at: str, subset: str | None, ok: bool, details: Mapping[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "insert into checks (item, at, subset, ok, details) values (?,?,?,?,?)",
                (item, at, subset, int(ok), json.dumps(details, default=str)),
            )

    def save_manifest(self, *, snapshot_id: str, item: str, host: str, manifest: Mapping[str, Any]) -> None:
        """Keyed by the short id: restic's backup summary prints only that."""
        with self._tx() as db:
            db.execute(
                "insert or replace into manifests values (?,?,?,?)",
                (snapshot_id[:8], item, host, json.dumps(manifest, sort_keys=True)),
            )

    def manifest(self, snapshot_id: str) -> dict[str, Any] | None:
        row = self._db.execute("select manifest from manifests where snapshot_id = ?", (snapshot_id[:8],)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def items(self) -> list[str]:
        rows = self._db.execute(
            "select item from backups union select item from restores union select item from counters order by 1"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def status(self, item: str) -> dict[str, Any]:
        """Last backup, last restore test, last verified (passing) restore with its RTO and RPO."""
        q = self._db.execute
        last_backup = q("select * from backups where item = ? and ok = 1 order by id desc limit 1", (item,)).fetchone()
        last_restore = q("select * from restores where item = ? order by id desc limit 1", (item,)).fetchone()
        verified = q("select * from restores where item = ? and ok = 1 order by id desc limit 1", (item,)).fetchone()
        last_check = q("select * from checks where item = ? order by id desc limit 1", (item,)).fetchone()
        runs = q("select runs from counters where item = ?", (item,)).fetchone()
        return {
            "item": item,
            "runs": int(runs[0]) if runs else 0,
            "last_backup": _row(last_backup, "host", "snapshot_id", "at"),
            "last_restore_test": _row(last_restore, "host", "restore_host", "snapshot_id", "at", "ok", "rto", "rpo"),
            "last_verified_restore": _row(verified, "host", "restore_host", "snapshot_id", "at", "rto", "rpo", "point"),
            "last_check": _row(last_check, "at", "subset", "ok"),
        }

    def close(self) -> None:
        self._db.close()


def _row(row: sqlite3.Row | None, *keys: str) -> dict[str, Any] | None:
    if row is None:
        return None
    out = {k: row[k] for k in keys}
    if "ok" in out:
        out["ok"] = bool(out["ok"])
    return out
