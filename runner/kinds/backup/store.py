"""The backup kind's facts: run counters, backups, restore tests, checks and manifests.

They live in the estate's state store (namespace ``backup``: a counter per item, the logs ``backups``,
``restores`` and ``checks``, a document per manifest), so that runners sharing a PostgreSQL store count
the same runs and ``maintctl backup status`` shows every runner's restore tests. An earlier version's
``backup.sqlite`` is imported once (see ``runner.kinds.facts``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from runner.kinds.facts import KindFacts, LegacyImport

NAMESPACE = "backup"


class BackupStore(KindFacts):
    NAMESPACE = NAMESPACE
    LEGACY_FILE = "backup.sqlite"

    def next_run(self, item: str) -> int:
        """Count one more backup run of ``item`` and return its 1-based number."""
        return self.state.increment(NAMESPACE, f"runs/{item}")

    def record_backup(
        self, *, item: str, host: str, plan: str, snapshot_id: str, at: str, ok: bool, details: Mapping[str, Any]
    ) -> None:
        self.state.append_log(NAMESPACE, "backups", _backup(item, host, plan, snapshot_id, at, ok, details), _when(at))

    def record_restore(self, *, item: str, host: str, report: Mapping[str, Any], at: str) -> None:
        self.state.append_log(NAMESPACE, "restores", _restore(item, host, report, at), _when(at))

    def record_check(self, *, item: str, at: str, subset: str | None, ok: bool, details: Mapping[str, Any]) -> None:
        self.state.append_log(NAMESPACE, "checks", _check(item, at, subset, ok, details), _when(at))

    def save_manifest(self, *, snapshot_id: str, item: str, host: str, manifest: Mapping[str, Any]) -> None:
        """Keyed by the short id: restic's backup summary prints only that."""
        self.state.put_fact(NAMESPACE, f"manifest/{snapshot_id[:8]}", {"item": item, "host": host,
                                                                         "manifest": dict(manifest)})

    def manifest(self, snapshot_id: str) -> dict[str, Any] | None:
        fact = self.state.get_fact(NAMESPACE, f"manifest/{snapshot_id[:8]}")
        return None if fact is None else dict(fact.value["manifest"])

    def status(self, item: str) -> dict[str, Any]:
        """Last backup, last restore test, last verified (passing) restore with its RTO and RPO."""
        return {
            "item": item,
            "runs": self.state.counter(NAMESPACE, f"runs/{item}"),
            "last_backup": self._last("backups", item, True, "host", "snapshot_id", "at"),
            "last_restore_test": self._last("restores", item, None, "host", "restore_host", "snapshot_id", "at", "ok",
                                            "rto", "rpo"),
            "last_verified_restore": self._last("restores", item, True, "host", "restore_host", "snapshot_id", "at",
                                                "rto", "rpo", "point"),
            "last_check": self._last("checks", item, None, "at", "subset", "ok"),
        }  # fmt: skip

    def _last(self, stream: str, item: str, ok: bool | None, *keys: str) -> dict[str, Any] | None:
        where: dict[str, str | int | bool] = {"item": item} if ok is None else {"item": item, "ok": ok}
        found = self.state.read_log(NAMESPACE, stream, where=where, limit=1)
        return {k: found[0].value.get(k) for k in keys} if found else None

    def import_legacy(self, db: sqlite3.Connection, job: LegacyImport) -> None:
        for stream, from_row in (("backups", _backup_row), ("restores", _restore_row), ("checks", _check_row)):
            values = [(r["legacy_id"], from_row(r)) for r in job.rows(db, stream)]
            job.log(stream, [(legacy_id, v, _when(v["at"])) for legacy_id, v in values])
        manifests = {f"manifest/{r['snapshot_id']}": {"item": r["item"], "host": r["host"],
                                                       "manifest": json.loads(r["manifest"])}
                     for r in job.rows(db, "manifests")}
        self.state.put_facts_if_absent(NAMESPACE, manifests)
        if job.once("counters"):  # added to what other runners counted, and never twice
            for r in job.rows(db, "counters"):
                self.state.increment(NAMESPACE, f"runs/{r['item']}", int(r["runs"]))


# One shape per log, for new entries and imported ones alike. Details may hold anything the adapters
# report; like the earlier store, whatever JSON cannot hold is kept as its text.
def _plain(value: Mapping[str, Any]) -> Any:
    return json.loads(json.dumps(value, default=str))


def _backup(item: str, host: str, plan: str, snapshot_id: str, at: str, ok: bool,
            details: Mapping[str, Any]) -> dict[str, Any]:
    return {"item": item, "host": host, "plan": plan, "snapshot_id": snapshot_id, "at": at, "ok": ok,
            "details": _plain(details)}


def _restore(item: str, host: str, report: Mapping[str, Any], at: str) -> dict[str, Any]:
    return {"item": item, "host": host, "restore_host": report.get("host"), "kind": report.get("kind"),
            "snapshot_id": report.get("snapshot_id"), "at": at, "ok": bool(report.get("ok")),
            "rto": report.get("rto_seconds"), "rpo": report.get("rpo_seconds"), "point": report.get("point"),
            "details": _plain(report)}


def _check(item: str, at: str, subset: str | None, ok: bool, details: Mapping[str, Any]) -> dict[str, Any]:
    return {"item": item, "at": at, "subset": subset, "ok": ok, "details": _plain(details)}


def _backup_row(r: Mapping[str, Any]) -> dict[str, Any]:
    return _backup(r["item"], r["host"], r["plan"], r["snapshot_id"], r["at"], bool(r["ok"]), _details(r))


def _restore_row(r: Mapping[str, Any]) -> dict[str, Any]:
    return _restore(r["item"], r["host"], _details(r), r["at"])  # the report is kept whole in details


def _check_row(r: Mapping[str, Any]) -> dict[str, Any]:
    return _check(r["item"], r["at"], r["subset"], bool(r["ok"]), _details(r))


def _details(r: Mapping[str, Any]) -> dict[str, Any]:
    return dict(json.loads(r["details"] or "{}"))


def _when(at: str | None) -> datetime | None:
    """The entry's time for the log's order; the store's clock when ``at`` is missing or not aware."""
    try:
        when = datetime.fromisoformat(at) if at else None
    except ValueError:
        return None
    return when if when is not None and when.tzinfo is not None else None
