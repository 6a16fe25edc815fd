"""The embedded state store: one SQLite file (WAL mode) in the estate's private state folder.

Several processes on one machine may share the file: writes take SQLite's write lock up front
(``BEGIN IMMEDIATE``), so lease acquisition and the idempotency insert are atomic across processes,
and ``busy_timeout`` makes a competing writer wait instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runner.errors import StateError
from runner.state import _rows as rows
from runner.state._facts import SQLITE_SCHEMA, SQLiteFacts
from runner.state.base import (
    BatchRecord,
    HostRecord,
    HostState,
    Lease,
    NewRun,
    OccurrenceTaken,
    RunRecord,
    RunStatus,
    StepRecord,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, item_id TEXT NOT NULL, occurrence TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, status TEXT NOT NULL, owner TEXT NOT NULL,
  lease_key TEXT NOT NULL, created TEXT NOT NULL, started TEXT, finished TEXT, mode TEXT NOT NULL,
  adhoc INTEGER NOT NULL, reason TEXT, window_name TEXT, scheduled_start TEXT, deadline TEXT,
  resumed_from TEXT, change_id TEXT, bundle_id TEXT, message TEXT, summary TEXT
);
CREATE INDEX IF NOT EXISTS runs_item ON runs(item_id, occurrence);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE TABLE IF NOT EXISTS batches (
  run_id TEXT NOT NULL, idx INTEGER NOT NULL, hosts TEXT NOT NULL, status TEXT NOT NULL,
  started TEXT, finished TEXT, message TEXT, checks TEXT, PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS hosts (
  run_id TEXT NOT NULL, host TEXT NOT NULL, batch INTEGER NOT NULL, status TEXT NOT NULL,
  started TEXT, finished TEXT, message TEXT, data TEXT, ord INTEGER NOT NULL,
  PRIMARY KEY (run_id, host)
);
CREATE TABLE IF NOT EXISTS steps (
  run_id TEXT NOT NULL, host TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL,
  status TEXT NOT NULL, started TEXT, finished TEXT, message TEXT, data TEXT,
  PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires REAL NOT NULL);
""" + SQLITE_SCHEMA

_RUN_SELECT = "SELECT " + ", ".join(rows.RUN_COLUMNS) + " FROM runs"  # noqa: S608 - fixed columns


class SQLiteStateStore(SQLiteFacts):
    """``StateStore`` on one SQLite file. Thread-safe (one connection behind a lock)."""

    name = "sqlite"

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 30_000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            # Create the file 0600 before SQLite does (SQLite would honour the umask only).
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            os.chmod(self.path, 0o600)
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
            )
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._lock = threading.RLock()
            with self._tx() as db:
                for statement in filter(str.strip, SCHEMA.split(";")):
                    db.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"{self.path}: cannot open the state store: {exc}") from exc
        for suffix in ("-wal", "-shm"):
            side = Path(str(self.path) + suffix)
            if side.exists():
                os.chmod(side, 0o600)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StateError(f"{self.path}: state store busy or unwritable: {exc}") from exc
            try:
                yield self._db
            except BaseException as exc:
                self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StateError(f"{self.path}: {exc}") from exc
                raise
            else:
                self._db.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StateError(f"{self.path}: {exc}") from exc

    # runs -------------------------------------------------------------------------------------
    def create_run(self, run: NewRun) -> RunRecord:
        params = rows.new_run_params(run)
        cols = ", ".join(params)
        marks = ", ".join(f":{k}" for k in params)
        with self._tx() as db:
            found = db.execute(
                "SELECT id, status FROM runs WHERE idempotency_key = ?", (run.idempotency_key,)
            ).fetchone()
            if found:
                raise OccurrenceTaken(run.idempotency_key, found[0], found[1])
            db.execute(f"INSERT INTO runs ({cols}) VALUES ({marks})", params)  # noqa: S608 - fixed columns
        return self.get_run(run.id)

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        started: datetime | None = None,
        finished: datetime | None = None,
        change_id: str | None = None,
        bundle_id: str | None = None,
        message: str | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        values = rows.update_params(
            status=status, started=started, finished=finished, change_id=change_id,
            bundle_id=bundle_id, message=message, summary=summary,
        )
        if values:
            sets = ", ".join(f"{k} = :{k}" for k in values)
            with self._tx() as db:
                cur = db.execute(f"UPDATE runs SET {sets} WHERE id = :id", {**values, "id": run_id})  # noqa: S608
                if cur.rowcount != 1:
                    raise StateError(f"unknown run {run_id}")
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> RunRecord:
        found = self._query(_RUN_SELECT + " WHERE id = ?", (run_id,))
        if not found:
            found = self._query(_RUN_SELECT + " WHERE id LIKE ? LIMIT 2", (run_id.replace("%", "") + "%",))
        if len(found) != 1:
            raise StateError(f"unknown run {run_id}" + (" (ambiguous prefix)" if found else ""))
        return rows.run_from_row(found[0])

    def find_run(self, idempotency_key: str) -> RunRecord | None:
        found = self._query(_RUN_SELECT + " WHERE idempotency_key = ?", (idempotency_key,))
        return rows.run_from_row(found[0]) if found else None

    def list_runs(
        self, *, item_id: str | None = None, statuses: Sequence[RunStatus] = (), limit: int = 100
    ) -> list[RunRecord]:
        where, params = [], []
        if item_id is not None:
            where.append("item_id = ?")
            params.append(item_id)
        if statuses:
            where.append("status IN (" + ", ".join("?" for _ in statuses) + ")")
            params.extend(statuses)
        sql = _RUN_SELECT + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY created DESC, id DESC LIMIT ?"
        return [rows.run_from_row(r) for r in self._query(sql, (*params, limit))]

    def record_missed(self, run: NewRun, reason: str) -> bool:
        params = {**rows.new_run_params(run), "status": "missed", "message": reason,
                  "finished": rows.ts(run.created)}
        cols = ", ".join(params)
        marks = ", ".join(f":{k}" for k in params)
        with self._tx() as db:
            cur = db.execute(
                f"INSERT INTO runs ({cols}) VALUES ({marks}) ON CONFLICT (idempotency_key) DO NOTHING",  # noqa: S608
                params,
            )
            return cur.rowcount == 1

    def mark_interrupted(self, run_id: str, reason: str, now: datetime) -> RunRecord:
        run = self.get_run(run_id)
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status = 'interrupted', finished = ?, message = ? WHERE id = ?",
                (rows.ts(now), reason, run.id),
            )
            db.execute(
                "UPDATE hosts SET status = 'interrupted', message = ? WHERE run_id = ? AND status IN"
                " ('pending', 'running')",
                (reason, run.id),
            )
            db.execute(
                "UPDATE batches SET status = 'interrupted' WHERE run_id = ? AND status = 'running'", (run.id,)
            )
        return self.get_run(run.id)

    # batches, hosts, steps --------------------------------------------------------------------
    def record_batch(self, batch: BatchRecord) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (batch.run_id, batch.index, rows.dumps(list(batch.hosts)), batch.status,
                 rows.ts(batch.started), rows.ts(batch.finished), batch.message,
                 rows.dumps([dict(c) for c in batch.checks])),
            )

    def batches(self, run_id: str) -> list[BatchRecord]:
        found = self._query("SELECT * FROM batches WHERE run_id = ? ORDER BY idx", (run_id,))
        return [rows.batch_from_row(r) for r in found]

    def record_host(self, host: HostRecord) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO hosts VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
                " (SELECT COALESCE(MAX(ord), 0) + 1 FROM hosts WHERE run_id = ?))"
                " ON CONFLICT (run_id, host) DO UPDATE SET batch = excluded.batch, status = excluded.status,"
                " started = excluded.started, finished = excluded.finished, message = excluded.message,"
                " data = excluded.data",
                (host.run_id, host.host, host.batch, host.status, rows.ts(host.started),
                 rows.ts(host.finished), host.message, rows.dumps(dict(host.data)), host.run_id),
            )

    def hosts(self, run_id: str) -> list[HostRecord]:
        found = self._query(
            "SELECT run_id, host, batch, status, started, finished, message, data FROM hosts"
            " WHERE run_id = ? ORDER BY batch, ord",
            (run_id,),
        )
        return [rows.host_from_row(r) for r in found]

    def record_step(self, step: StepRecord) -> StepRecord:
        with self._tx() as db:
            (seq,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE run_id = ?", (step.run_id,)
            ).fetchone()
            db.execute(
                "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (step.run_id, step.host, seq, step.name, step.status, rows.ts(step.started),
                 rows.ts(step.finished), step.message, rows.dumps(dict(step.data))),
            )
        return StepRecord(**{**step.__dict__, "seq": int(seq)})

    def steps(self, run_id: str, host: str | None = None) -> list[StepRecord]:
        sql = "SELECT * FROM steps WHERE run_id = ?"
        params: tuple[str, ...] = (run_id,)
        if host is not None:
            sql += " AND host = ?"
            params += (host,)
        return [rows.step_from_row(r) for r in self._query(sql + " ORDER BY seq", params)]

    def occurrence_hosts(self, item_id: str, occurrence: str) -> dict[str, HostState]:
        found = self._query(
            "SELECT h.host, h.status FROM hosts h JOIN runs r ON r.id = h.run_id"
            " WHERE r.item_id = ? AND r.occurrence = ? ORDER BY r.created, h.batch, h.ord",
            (item_id, occurrence),
        )
        return _latest_states(found)

    # leases -----------------------------------------------------------------------------------
    def acquire(self, key: str, owner: str, ttl: timedelta, now: datetime) -> bool:
        with self._tx() as db:
            row = db.execute("SELECT owner, expires FROM leases WHERE key = ?", (key,)).fetchone()
            if row and row[0] != owner and row[1] > now.timestamp():
                return False
            db.execute(
                "INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (key, owner, (now + ttl).timestamp())
            )
            return True

    def renew(self, key: str, owner: str, ttl: timedelta, now: datetime) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE leases SET expires = ? WHERE key = ? AND owner = ? AND expires > ?",
                ((now + ttl).timestamp(), key, owner, now.timestamp()),
            )
            return cur.rowcount == 1

    def release(self, key: str, owner: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM leases WHERE key = ? AND owner = ?", (key, owner))

    def lease(self, key: str) -> Lease | None:
        found = self._query("SELECT key, owner, expires FROM leases WHERE key = ?", (key,))
        if not found:
            return None
        k, o, e = found[0]
        return Lease(key=k, owner=o, expires=datetime.fromtimestamp(e, UTC))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _latest_states(found: Sequence[Sequence[Any]]) -> dict[str, HostState]:
    """Fold host states of several runs (oldest first): a done host stays done."""
    states: dict[str, HostState] = {}
    for host, status in found:
        if states.get(host) in ("ok", "changed"):
            continue
        states[host] = status
    return states
