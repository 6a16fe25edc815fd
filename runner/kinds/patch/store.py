"""The patch kind's own state: when each candidate version was first seen, and per-host compliance.

A small SQLite file in the estate's state folder (mode 0600), read by ``maintctl patch status``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.errors import StateError

_SCHEMA = """
create table if not exists first_seen (
  host text not null, name text not null, version text not null, at text not null,
  primary key (host, name, version));
create table if not exists compliance (
  host text primary key, item text not null, run_id text not null, at text not null, state text not null,
  details text not null);
"""


class PatchStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(path, 0o600)
        try:
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("pragma journal_mode=wal")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StateError(f"{path}: cannot open the patch state: {exc}") from exc

    @classmethod
    def in_state_dir(cls, state_dir: str | Path) -> PatchStore:
        return cls(Path(state_dir) / "patch.sqlite")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("begin immediate")
        try:
            yield self._db
            self._db.execute("commit")
        except BaseException:
            self._db.execute("rollback")
            raise

    def first_seen(
        self, host: str, versions: Iterable[tuple[str, str]], now: datetime
    ) -> dict[tuple[str, str], datetime]:
        """Record ``now`` for versions never seen on ``host``; return when each was first seen."""
        wanted = list(versions)
        with self._tx() as db:
            db.executemany(
                "insert or ignore into first_seen(host, name, version, at) values (?, ?, ?, ?)",
                [(host, n, v, now.isoformat()) for n, v in wanted],
            )
            rows = db.execute("select name, version, at from first_seen where host = ?", (host,)).fetchall()
        seen = {(n, v): datetime.fromisoformat(at) for n, v, at in rows}
        return {key: seen[key] for key in wanted if key in seen}

    def set_first_seen(self, host: str, name: str, version: str, at: datetime) -> None:
        """Backdate a sighting (imports from another scanner, tests of approve_after_days)."""
        with self._tx() as db:
            db.execute("insert or replace into first_seen(host, name, version, at) values (?, ?, ?, ?)",
                       (host, name, version, at.isoformat()))

    def put_compliance(self, host: str, item: str, run_id: str, at: datetime, state: str,
                       details: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "insert or replace into compliance(host, item, run_id, at, state, details) values (?, ?, ?, ?, ?, ?)",
                (host, item, run_id, at.isoformat(), state, json.dumps(details, sort_keys=True)),
            )

    def compliance(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "select host, item, run_id, at, state, details from compliance order by host"
        ).fetchall()
        return [
            {"host": h, "item": i, "run_id": r, "at": at, "state": s, **json.loads(d)}
            for h, i, r, at, s, d in rows
        ]

    def close(self) -> None:
        self._db.close()
