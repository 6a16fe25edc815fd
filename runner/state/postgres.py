"""The shared state store: PostgreSQL, for several runners on several machines.

Atomicity comes from the server: the idempotency key is a UNIQUE column filled with
``INSERT ... ON CONFLICT DO NOTHING``; a lease is taken with one conditional upsert
(``ON CONFLICT DO UPDATE ... WHERE`` the lease is ours or expired), so of several racing owners
exactly one sees its row written.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from runner.errors import StateError
from runner.state import _rows as rows
from runner.state._facts import POSTGRES_SCHEMA, PostgresFacts
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
from runner.state.sqlite import _latest_states

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, item_id TEXT NOT NULL, occurrence TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, status TEXT NOT NULL, owner TEXT NOT NULL,
  lease_key TEXT NOT NULL, created TEXT NOT NULL, started TEXT, finished TEXT, mode TEXT NOT NULL,
  adhoc INTEGER NOT NULL, reason TEXT, window_name TEXT, scheduled_start TEXT, deadline TEXT,
  resumed_from TEXT, change_id TEXT, bundle_id TEXT, message TEXT, summary TEXT
);
CREATE INDEX IF NOT EXISTS runs_item ON runs(item_id, occurrence);
CREATE TABLE IF NOT EXISTS batches (
  run_id TEXT NOT NULL, idx INTEGER NOT NULL, hosts TEXT NOT NULL, status TEXT NOT NULL,
  started TEXT, finished TEXT, message TEXT, checks TEXT, PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS hosts (
  run_id TEXT NOT NULL, host TEXT NOT NULL, batch INTEGER NOT NULL, status TEXT NOT NULL,
  started TEXT, finished TEXT, message TEXT, data TEXT, ord BIGSERIAL, PRIMARY KEY (run_id, host)
);
CREATE TABLE IF NOT EXISTS steps (
  run_id TEXT NOT NULL, host TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL,
  status TEXT NOT NULL, started TEXT, finished TEXT, message TEXT, data TEXT, PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS leases (
  key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires DOUBLE PRECISION NOT NULL
);
""" + POSTGRES_SCHEMA

_RUN_SELECT = "SELECT " + ", ".join(rows.RUN_COLUMNS) + " FROM runs"  # noqa: S608 - fixed columns


class PostgresStateStore(PostgresFacts):
    """``StateStore`` on a PostgreSQL database (``dsn`` as libpq accepts it)."""

    name = "postgresql"

    def __init__(self, dsn: str) -> None:
        import psycopg

        self._psycopg = psycopg
        try:
            self._db = psycopg.connect(dsn, autocommit=True)
            self._lock = threading.RLock()
            with self._tx() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(7240117)")  # schema creation races otherwise
                cur.execute(SCHEMA)
        except psycopg.Error as exc:
            raise StateError(f"cannot open the PostgreSQL state store: {exc}") from exc

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            try:
                with self._db.transaction(), self._db.cursor() as cur:
                    yield cur
            except self._psycopg.Error as exc:
                raise StateError(f"PostgreSQL state store: {exc}") from exc

    def _query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        with self._tx() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    # runs -------------------------------------------------------------------------------------
    def _insert_run(self, params: Mapping[str, Any]) -> bool:
        cols = ", ".join(params)
        marks = ", ".join(f"%({k})s" for k in params)
        with self._tx() as cur:
            cur.execute(
                f"INSERT INTO runs ({cols}) VALUES ({marks}) ON CONFLICT (idempotency_key) DO NOTHING",  # noqa: S608
                params,
            )
            return bool(cur.rowcount == 1)

    def create_run(self, run: NewRun) -> RunRecord:
        if not self._insert_run(rows.new_run_params(run)):
            found = self.find_run(run.idempotency_key)
            holder, status = (found.id, found.status) if found else ("?", "?")
            raise OccurrenceTaken(run.idempotency_key, holder, status)
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
            sets = ", ".join(f"{k} = %({k})s" for k in values)
            with self._tx() as cur:
                cur.execute(f"UPDATE runs SET {sets} WHERE id = %(id)s", {**values, "id": run_id})  # noqa: S608
                if cur.rowcount != 1:
                    raise StateError(f"unknown run {run_id}")
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> RunRecord:
        found = self._query(_RUN_SELECT + " WHERE id = %s", (run_id,))
        if not found:
            found = self._query(_RUN_SELECT + " WHERE id LIKE %s LIMIT 2", (run_id.replace("%", "") + "%",))
        if len(found) != 1:
            raise StateError(f"unknown run {run_id}" + (" (ambiguous prefix)" if found else ""))
        return rows.run_from_row(found[0])

    def find_run(self, idempotency_key: str) -> RunRecord | None:
        found = self._query(_RUN_SELECT + " WHERE idempotency_key = %s", (idempotency_key,))
        return rows.run_from_row(found[0]) if found else None

    def list_runs(
        self, *, item_id: str | None = None, statuses: Sequence[RunStatus] = (), limit: int = 100
    ) -> list[RunRecord]:
        where: list[str] = []
        params: list[Any] = []
        if item_id is not None:
            where.append("item_id = %s")
            params.append(item_id)
        if statuses:
            where.append("status = ANY(%s)")
            params.append(list(statuses))
        sql = _RUN_SELECT + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY created DESC, id DESC LIMIT %s"
        return [rows.run_from_row(r) for r in self._query(sql, (*params, limit))]

    def record_missed(self, run: NewRun, reason: str) -> bool:
        params = rows.new_run_params(run)
        params.update(status="missed", message=reason, finished=rows.ts(run.created))
        return self._insert_run(params)

    def mark_interrupted(self, run_id: str, reason: str, now: datetime) -> RunRecord:
        run = self.get_run(run_id)
        with self._tx() as cur:
            cur.execute(
                "UPDATE runs SET status = 'interrupted', finished = %s, message = %s WHERE id = %s",
                (rows.ts(now), reason, run.id),
            )
            cur.execute(
                "UPDATE hosts SET status = 'interrupted', message = %s WHERE run_id = %s"
                " AND status IN ('pending', 'running')",
                (reason, run.id),
            )
            cur.execute(
                "UPDATE batches SET status = 'interrupted' WHERE run_id = %s AND status = 'running'",
                (run.id,),
            )
        return self.get_run(run.id)

    # batches, hosts, steps --------------------------------------------------------------------
    def record_batch(self, batch: BatchRecord) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO batches VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (run_id, idx)"
                " DO UPDATE SET hosts = excluded.hosts, status = excluded.status, started = excluded.started,"
                " finished = excluded.finished, message = excluded.message, checks = excluded.checks",
                (batch.run_id, batch.index, rows.dumps(list(batch.hosts)), batch.status,
                 rows.ts(batch.started), rows.ts(batch.finished), batch.message,
                 rows.dumps([dict(c) for c in batch.checks])),
            )

    def batches(self, run_id: str) -> list[BatchRecord]:
        found = self._query(
            "SELECT run_id, idx, hosts, status, started, finished, message, checks FROM batches"
            " WHERE run_id = %s ORDER BY idx",
            (run_id,),
        )
        return [rows.batch_from_row(r) for r in found]

    def record_host(self, host: HostRecord) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO hosts (run_id, host, batch, status, started, finished, message, data)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (run_id, host) DO UPDATE SET"
                " batch = excluded.batch, status = excluded.status, started = excluded.started,"
                " finished = excluded.finished, message = excluded.message, data = excluded.data",
                (host.run_id, host.host, host.batch, host.status, rows.ts(host.started),
                 rows.ts(host.finished), host.message, rows.dumps(dict(host.data))),
            )

    def hosts(self, run_id: str) -> list[HostRecord]:
        found = self._query(
            "SELECT run_id, host, batch, status, started, finished, message, data FROM hosts"
            " WHERE run_id = %s ORDER BY batch, ord",
            (run_id,),
        )
        return [rows.host_from_row(r) for r in found]

    def record_step(self, step: StepRecord) -> StepRecord:
        with self._tx() as cur:
            # Serialise appends per run so that seq stays gapless and unique.
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (step.run_id,))
            cur.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE run_id = %s", (step.run_id,))
            (seq,) = cur.fetchone()
            cur.execute(
                "INSERT INTO steps VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (step.run_id, step.host, seq, step.name, step.status, rows.ts(step.started),
                 rows.ts(step.finished), step.message, rows.dumps(dict(step.data))),
            )
        return StepRecord(**{**step.__dict__, "seq": int(seq)})

    def steps(self, run_id: str, host: str | None = None) -> list[StepRecord]:
        sql = ("SELECT run_id, host, seq, name, status, started, finished, message, data FROM steps"
               " WHERE run_id = %s")
        params: tuple[str, ...] = (run_id,)
        if host is not None:
            sql += " AND host = %s"
            params += (host,)
        return [rows.step_from_row(r) for r in self._query(sql + " ORDER BY seq", params)]

    def occurrence_hosts(self, item_id: str, occurrence: str) -> dict[str, HostState]:
        found = self._query(
            "SELECT h.host, h.status FROM hosts h JOIN runs r ON r.id = h.run_id"
            " WHERE r.item_id = %s AND r.occurrence = %s ORDER BY r.created, h.batch, h.ord",
            (item_id, occurrence),
        )
        return _latest_states(found)

    # leases -----------------------------------------------------------------------------------
    def acquire(self, key: str, owner: str, ttl: timedelta, now: datetime) -> bool:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO leases VALUES (%s, %s, %s) ON CONFLICT (key) DO UPDATE"
                " SET owner = excluded.owner, expires = excluded.expires"
                " WHERE leases.owner = excluded.owner OR leases.expires <= %s",
                (key, owner, (now + ttl).timestamp(), now.timestamp()),
            )
            return bool(cur.rowcount == 1)

    def renew(self, key: str, owner: str, ttl: timedelta, now: datetime) -> bool:
        with self._tx() as cur:
            cur.execute(
                "UPDATE leases SET expires = %s WHERE key = %s AND owner = %s AND expires > %s",
                ((now + ttl).timestamp(), key, owner, now.timestamp()),
            )
            return bool(cur.rowcount == 1)

    def release(self, key: str, owner: str) -> None:
        with self._tx() as cur:
            cur.execute("DELETE FROM leases WHERE key = %s AND owner = %s", (key, owner))

    def lease(self, key: str) -> Lease | None:
        found = self._query("SELECT key, owner, expires FROM leases WHERE key = %s", (key,))
        if not found:
            return None
        k, o, e = found[0]
        return Lease(key=k, owner=o, expires=datetime.fromtimestamp(e, UTC))

    def close(self) -> None:
        with self._lock:
            self._db.close()
