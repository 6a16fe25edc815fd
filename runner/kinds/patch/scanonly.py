"""``maintctl patch scan``: run the scan outside a run, with no change record and no evidence bundle."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.catalogue.model import Catalogue, Item
from runner.engine.kind import RunContext
from runner.errors import UsageError


class _NoEvidence:
    """A scan changes nothing and proves nothing: its output is the report itself."""

    def open_bundle(self, *, run_id: str, item_id: str, occurrence: str, asked: Mapping[str, Any]) -> str:
        return ""

    def record(self, bundle_id: str, event: str, data: Mapping[str, Any]) -> None:
        return None

    def artifact(self, bundle_id: str, name: str, content: bytes, media_type: str = "text/plain") -> str:
        return ""

    def close_bundle(self, bundle_id: str, *, outcome: str, summary: Mapping[str, Any]) -> None:
        return None

    def mark_interrupted(self, bundle_id: str, reason: str) -> None:
        return None


def _items(catalogue: Catalogue, item_id: str | None) -> list[Item]:
    patch = [i for i in catalogue.items if i.kind == "patch"]
    if item_id is None:
        return [i for i in patch if i.enabled]
    for it in patch:
        if it.id == item_id:
            return [it]
    raise UsageError(f"not a patch item: {item_id} (patch items: {', '.join(i.id for i in patch) or 'none'})")


def scan_items(root: Path, catalogue: Catalogue, item_id: str | None) -> list[dict[str, Any]]:
    from runner.engine.targets import inventory_hosts
    from runner.estate import state_dir
    from runner.kinds.patch.runner import rules_for
    from runner.kinds.patch.scan import scan_hosts, scan_summary
    from runner.kinds.patch.store import PatchStore

    sdir = state_dir(root)
    reports = []
    # First sightings recorded by a scan count for approve_after_days like a run's: the estate's store.
    store = PatchStore.for_estate(root, catalogue.settings.state)
    try:
        for item in _items(catalogue, item_id):
            hosts = inventory_hosts(catalogue.inventory, item.targets, item.id)
            ctx = RunContext(
                run_id=f"scan-{secrets.token_hex(4)}", item=item, catalogue=catalogue, estate_root=str(root),
                state_dir=str(sdir), occurrence="scan", bundle_id="", evidence=_NoEvidence(), hosts=hosts,
                deadline=None, mode="check", state=store.state,
            )
            scans = scan_hosts(ctx, hosts, rules_for(ctx), store, datetime.now(UTC))
            reports.append({"item": item.id, "baseline": item.settings.get("baseline"),
                            "hosts": [dict(scan_summary(scans[h])) for h in hosts]})
    finally:
        store.close()
    return reports
