"""What ``maintctl backup`` does: list backup items with their state, and restore tests on demand.

An on-demand restore test proves existing recovery points (no new backup), writes an evidence
bundle and updates the backup state exactly as a scheduled one does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.catalogue.model import Catalogue, Item
from runner.engine.kind import HostResult, RunContext
from runner.errors import UsageError
from runner.kinds.backup.hostflow import HostFlow
from runner.kinds.backup.plans import plan_for_item
from runner.kinds.backup.runner import shell_for
from runner.kinds.backup.store import BackupStore


def backup_items(catalogue: Catalogue) -> list[Item]:
    return [i for i in catalogue.items if i.kind == "backup"]


def backup_item(catalogue: Catalogue, item_id: str) -> Item:
    items = {i.id: i for i in backup_items(catalogue)}
    if item_id not in items:
        known = ", ".join(sorted(items)) or "none"
        raise UsageError(f"not a backup item: {item_id} (backup items: {known})")
    return items[item_id]


def item_status(catalogue: Catalogue, store: BackupStore, item: Item) -> dict[str, Any]:
    block = item.settings.get("backup", item.settings) or {}
    return {"plan": block.get("plan"), "targets": list(item.targets.groups) + list(item.targets.hosts),
            **store.status(item.id)}  # fmt: skip


def restore_test(
    root: Path, catalogue: Catalogue, item: Item, *, point: str | None = None, hosts: list[str] | None = None
) -> tuple[list[HostResult], str]:
    """Restore-test every source host of ``item`` now; returns the host results and the bundle id."""
    from dataclasses import replace

    from runner.engine.targets import resolve
    from runner.estate import state_dir
    from runner.evidence.recorder import open_recorder, who

    plan = plan_for_item(catalogue, item)
    if point:
        plan = replace(plan, verify=replace(plan.verify, point=point))  # type: ignore[arg-type]
    state = state_dir(root)
    run_id = f"restore-test-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    targets = hosts or list(
        resolve(
            catalogue.inventory,
            item.targets,
            item_id=item.id,
            aws_settings=catalogue.settings.aws,
            run_dir=state / "runs" / run_id,
        ).hosts
    )
    rec = open_recorder(root, catalogue.settings.evidence)
    store = BackupStore.for_estate(root, catalogue.settings.state)  # before the bundle: a failure leaves none open
    bundle = rec.open_bundle(run_id=run_id, item_id=item.id, occurrence="adhoc:restore-test",
                             asked={"command": "backup restore-test", "plan": plan.name, "hosts": targets,
                                    "point": plan.verify.point, "who": who()})  # fmt: skip
    ctx = RunContext(
        run_id=run_id,
        item=item,
        catalogue=catalogue,
        estate_root=str(root),
        state_dir=str(state),
        occurrence="adhoc:restore-test",
        bundle_id=bundle,
        evidence=rec,
        hosts=targets,
        deadline=None,
        state=store.state,
    )
    results: list[HostResult] = []
    try:
        for n, host in enumerate(targets):
            flow = HostFlow(ctx=ctx, plan=plan, store=store, shells=lambda h: shell_for(ctx, h), run_number=0,
                            verify_now=True, check_now=plan.verify.restic_check and n == 0)  # fmt: skip
            results.append(flow.prove(host))
    finally:
        outcome = "failed" if not results or any(r.failed for r in results) else "succeeded"
        rec.close_bundle(bundle, outcome=outcome, summary={"hosts": {r.host: r.status for r in results}})
        store.close()
    return results, bundle
