"""Kind facts (documents, logs, counters) for both SQL stores: one implementation, two dialects.

The statements are written once with ``:name`` parameters; PostgreSQL gets them rewritten to
``%(name)s`` and its JSON columns are ``jsonb`` (the server validates and compares JSON), while
SQLite keeps JSON as text and compares through its JSON functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, ClassVar

from runner.errors import StateError
from runner.state.base import Fact, LogEntry, LogFilter

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
  namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated TEXT NOT NULL,
  PRIMARY KEY (namespace, key)
);
CREATE TABLE IF NOT EXISTS fact_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT, namespace TEXT NOT NULL, stream TEXT NOT NULL, at TEXT NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fact_log_stream ON fact_log(namespace, stream, at, id);
CREATE TABLE IF NOT EXISTS fact_counters (
  namespace TEXT NOT NULL, key TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (namespace, key)
);
"""

# COLLATE "C": key order and prefix ranges must be bytewise, as in SQLite, whatever the cluster's locale.
POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
  namespace TEXT COLLATE "C" NOT NULL, key TEXT COLLATE "C" NOT NULL, value JSONB NOT NULL,
  updated TEXT NOT NULL, PRIMARY KEY (namespace, key)
);
CREATE TABLE IF NOT EXISTS fact_log (
  id BIGSERIAL PRIMARY KEY, namespace TEXT NOT NULL, stream TEXT NOT NULL, at TEXT COLLATE "C" NOT NULL,
  value JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS fact_log_stream ON fact_log(namespace, stream, at, id);
CREATE TABLE IF NOT EXISTS fact_counters (
  namespace TEXT NOT NULL, key TEXT NOT NULL, value BIGINT NOT NULL, PRIMARY KEY (namespace, key)
);
"""

_FACT = "SELECT namespace, key, {out}, updated FROM facts"
_TEMPLATES = {
    "put": "INSERT INTO facts (namespace, key, value, updated) VALUES (:ns, :key, {in_}, :updated)"
           " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
    "put_absent": "INSERT INTO facts (namespace, key, value, updated) VALUES (:ns, :key, {in_}, :updated)"
                  " ON CONFLICT (namespace, key) DO NOTHING",
    "get": _FACT + " WHERE namespace = :ns AND key = :key",
    "get_in": _FACT + " WHERE namespace = :ns AND key IN ({{keys}})",
    # substr instead of LIKE: keys may hold % and _, and the comparison stays bytewise.
    "list": _FACT + " WHERE namespace = :ns AND substr(key, 1, :plen) = :prefix ORDER BY key",
    "append": "INSERT INTO fact_log (namespace, stream, at, value) VALUES (:ns, :stream, :at, {in_}) RETURNING id",
    "read": "SELECT id, namespace, stream, at, {out} FROM fact_log WHERE namespace = :ns AND stream = :stream",
    "increment": "INSERT INTO fact_counters (namespace, key, value) VALUES (:ns, :key, :by)"
                 " ON CONFLICT (namespace, key) DO UPDATE SET value = fact_counters.value + excluded.value"
                 " RETURNING value",
    "counter": "SELECT value FROM fact_counters WHERE namespace = :ns AND key = :key",
}


def _statements(in_: str, out: str) -> dict[str, str]:
    return {k: t.format(in_=in_, out=out) for k, t in _TEMPLATES.items()}


_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IN_CHUNK = 500


def encode(value: Any, where: str) -> str:
    """JSON text of ``value``, or ``StateError`` naming ``where`` when it is not JSON."""
    try:
        _check_keys(value)
        return json.dumps(value, sort_keys=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StateError(f"{where}: value is not JSON: {exc}") from None


def _check_keys(value: Any) -> None:
    # json.dumps would silently turn int keys into strings: the value read back would differ.
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"key {k!r} is not a string")
            _check_keys(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_keys(v)


def stamp(now: datetime | None) -> str:
    """Fixed-width UTC text, so that text order is time order (the log is read newest first by it)."""
    when = datetime.now(UTC) if now is None else now
    if when.tzinfo is None:
        raise StateError("naive datetime given to the state store")
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _name(value: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise StateError(f"kind facts: {what} must be a non-empty string, not {value!r}")
    return value


def _fact(row: Sequence[Any]) -> Fact:
    ns, key, value, updated = row
    return Fact(namespace=ns, key=key, value=json.loads(value), updated=datetime.fromisoformat(updated))


class FactsMixin:
    """The kind-facts part of ``StateStore`` over a store's ``_tx`` and ``_query``."""

    name: str
    _SQL: ClassVar[dict[str, str]]

    def _tx(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        raise NotImplementedError

    def put_fact(self, namespace: str, key: str, value: Any, now: datetime | None = None) -> Fact:
        params = {"ns": _name(namespace, "namespace"), "key": _name(key, "key"),
                  "value": encode(value, f"fact {namespace}/{key}"), "updated": stamp(now)}
        with self._tx() as db:
            db.execute(self._sql("put"), params)
        return Fact(namespace=namespace, key=key, value=json.loads(params["value"]),
                    updated=datetime.fromisoformat(params["updated"]))

    def put_facts_if_absent(
        self, namespace: str, values: Mapping[str, Any], now: datetime | None = None
    ) -> dict[str, Fact]:
        ns, updated = _name(namespace, "namespace"), stamp(now)
        params = [{"ns": ns, "key": _name(k, "key"), "value": encode(v, f"fact {namespace}/{k}"), "updated": updated}
                  for k, v in values.items()]
        if not params:
            return {}
        keys = list(values)
        found: list[Any] = []
        with self._tx() as db:
            db.executemany(self._sql("put_absent"), params)
            # In the same transaction: on PostgreSQL each statement sees what racing writers committed,
            # so a value that lost the race is read back as the winner's.
            for start in range(0, len(keys), _IN_CHUNK):
                chunk = keys[start:start + _IN_CHUNK]
                names = {f"k{i}": k for i, k in enumerate(chunk)}
                sql = self._SQL["get_in"].format(keys=", ".join(f":{n}" for n in names))
                found += db.execute(self._placeholders(sql), {"ns": ns, **names}).fetchall()
        return {f.key: f for f in map(_fact, found)}

    def get_fact(self, namespace: str, key: str) -> Fact | None:
        rows = self._query(self._sql("get"), {"ns": namespace, "key": key})
        return _fact(rows[0]) if rows else None

    def list_facts(self, namespace: str, prefix: str = "") -> list[Fact]:
        rows = self._query(self._sql("list"), {"ns": namespace, "plen": len(prefix), "prefix": prefix})
        return [_fact(r) for r in rows]

    def append_log(
        self, namespace: str, stream: str, value: Mapping[str, Any], now: datetime | None = None
    ) -> LogEntry:
        if not isinstance(value, Mapping):
            raise StateError(f"log {namespace}/{stream}: an entry must be a JSON object, not {type(value).__name__}")
        params = {"ns": _name(namespace, "namespace"), "stream": _name(stream, "stream"),
                  "at": stamp(now), "value": encode(value, f"log {namespace}/{stream}")}
        with self._tx() as db:
            (entry_id,) = db.execute(self._sql("append"), params).fetchone()
        return LogEntry(namespace=namespace, stream=stream, id=int(entry_id), at=datetime.fromisoformat(params["at"]),
                        value=json.loads(params["value"]))

    def read_log(
        self, namespace: str, stream: str, *, where: LogFilter | None = None, limit: int = 100
    ) -> list[LogEntry]:
        if limit < 1:
            raise StateError(f"log {namespace}/{stream}: limit must be at least 1, not {limit}")
        params: dict[str, Any] = {"ns": namespace, "stream": stream, "limit": limit}
        sql = self._SQL["read"]
        for n, (field, wanted) in enumerate((where or {}).items()):
            if not _FIELD.fullmatch(field) or not isinstance(wanted, (str, int, bool)):
                raise StateError(f"log {namespace}/{stream}: cannot filter on {field!r} = {wanted!r}"
                                 " (an identifier equal to a str, int or bool)")
            sql += " AND " + self._field_equals(n, field, wanted, params)
        rows = self._query(self._placeholders(sql + " ORDER BY at DESC, id DESC LIMIT :limit"), params)
        return [LogEntry(namespace=ns, stream=st, id=int(i), at=datetime.fromisoformat(at), value=json.loads(v))
                for i, ns, st, at, v in rows]

    def increment(self, namespace: str, key: str, by: int = 1) -> int:
        params = {"ns": _name(namespace, "namespace"), "key": _name(key, "key"), "by": int(by)}
        with self._tx() as db:
            (value,) = db.execute(self._sql("increment"), params).fetchone()
        return int(value)

    def counter(self, namespace: str, key: str) -> int:
        rows = self._query(self._sql("counter"), {"ns": namespace, "key": key})
        return int(rows[0][0]) if rows else 0

    # dialect hooks ------------------------------------------------------------------------------
    def _sql(self, name: str) -> str:
        return self._placeholders(self._SQL[name])

    def _placeholders(self, sql: str) -> str:
        """Spell ``:name`` parameters the way the driver wants them."""
        return sql

    def _field_equals(self, n: int, field: str, wanted: str | int | bool, params: dict[str, Any]) -> str:
        raise NotImplementedError


class SQLiteFacts(FactsMixin):
    _SQL = _statements(":value", "value")

    def _field_equals(self, n: int, field: str, wanted: str | int | bool, params: dict[str, Any]) -> str:
        # json_type tells true/false from 1/0 and text from numbers, as jsonb equality does on PostgreSQL.
        params[f"p{n}"] = f"$.{field}"
        if isinstance(wanted, bool):
            params[f"t{n}"] = "true" if wanted else "false"
            return f"json_type(value, :p{n}) = :t{n}"
        params[f"t{n}"], params[f"v{n}"] = ("text" if isinstance(wanted, str) else "integer"), wanted
        return f"json_type(value, :p{n}) = :t{n} AND json_extract(value, :p{n}) = :v{n}"


class PostgresFacts(FactsMixin):
    _SQL = _statements("CAST(:value AS jsonb)", "value::text")

    def _placeholders(self, sql: str) -> str:
        # ``:name`` -> ``%(name)s``, leaving ``::type`` casts alone.
        return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", sql)

    def _field_equals(self, n: int, field: str, wanted: str | int | bool, params: dict[str, Any]) -> str:
        params[f"f{n}"], params[f"v{n}"] = field, json.dumps(wanted)
        return f"value -> CAST(:f{n} AS text) = CAST(:v{n} AS jsonb)"
