"""The patch kind's facts: when each candidate version was first seen on a host, and per-host compliance.

They live in the estate's state store (namespace ``patch``), so that runners sharing a PostgreSQL store
agree on one first sighting (``approve_after_days`` counts from it) and ``maintctl patch status`` shows
every runner's compliance. An earlier version's ``patch.sqlite`` is imported once (see
``runner.kinds.facts``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from runner.kinds.facts import KindFacts, LegacyImport

NAMESPACE = "patch"


def _seen_key(host: str, name: str, version: str) -> str:
    # Quoted parts: no host, package or version can make two sightings share a key.
    return "first_seen/" + "/".join(quote(p, safe=":+~@") for p in (host, name, version))


class PatchStore(KindFacts):
    NAMESPACE = NAMESPACE
    LEGACY_FILE = "patch.sqlite"

    def first_seen(
        self, host: str, versions: Iterable[tuple[str, str]], now: datetime
    ) -> dict[tuple[str, str], datetime]:
        """Record ``now`` for versions never seen on ``host``; return when each was first seen."""
        keys = {_seen_key(host, n, v): (n, v) for n, v in versions}
        stored = self.state.put_facts_if_absent(NAMESPACE, dict.fromkeys(keys, {"at": now.isoformat()}), now)
        return {keys[k]: datetime.fromisoformat(f.value["at"]) for k, f in stored.items()}

    def set_first_seen(self, host: str, name: str, version: str, at: datetime) -> None:
        """Backdate a sighting (imports from another scanner, tests of approve_after_days)."""
        self.state.put_fact(NAMESPACE, _seen_key(host, name, version), {"at": at.isoformat()})

    def put_compliance(self, host: str, item: str, run_id: str, at: datetime, state: str,
                       details: dict[str, Any]) -> None:
        self.state.put_fact(NAMESPACE, f"compliance/{host}", _compliance(host, item, run_id, at.isoformat(),
                                                                          state, details))

    def compliance(self) -> list[dict[str, Any]]:
        """Every host's latest compliance, by host name."""
        out = []
        for fact in self.state.list_facts(NAMESPACE, "compliance/"):
            v = fact.value
            out.append({"host": v["host"], "item": v["item"], "run_id": v["run_id"], "at": v["at"],
                        "state": v["state"], **v["details"]})
        return out

    def import_legacy(self, db: sqlite3.Connection, job: LegacyImport) -> None:
        seen = {_seen_key(r["host"], r["name"], r["version"]): {"at": r["at"]} for r in job.rows(db, "first_seen")}
        self.state.put_facts_if_absent(NAMESPACE, seen)
        self.state.put_facts_if_absent(NAMESPACE, {
            f"compliance/{r['host']}": _compliance(r["host"], r["item"], r["run_id"], r["at"], r["state"],
                                                   json.loads(r["details"]))
            for r in job.rows(db, "compliance")
        })


def _compliance(host: str, item: str, run_id: str, at: str, state: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"host": host, "item": item, "run_id": run_id, "at": at, "state": state, "details": details}
