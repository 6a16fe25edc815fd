"""The change record around a run: opened before the first host is touched, approved (or not), closed
with the close code the outcome deserves."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from runner.changes.base import ChangeRequest, CloseCode
from runner.engine.kind import KindRunner, RunContext

if TYPE_CHECKING:
    from runner.engine.run import Claim, Engine


def close_code(outcome: str, done: int) -> CloseCode:
    """succeeded → successful; failed or cancelled with some hosts done → successful_with_issues;
    halted, or failed with nothing done → unsuccessful; cancelled before any host → cancelled."""
    if outcome == "succeeded":
        return "successful"
    if outcome == "cancelled":
        return "successful_with_issues" if done else "cancelled"
    if outcome == "failed" and done:
        return "successful_with_issues"
    return "unsuccessful"


def open_change(engine: Engine, ctx: RunContext, kind: KindRunner, claim: Claim,
                hosts: list[str]) -> tuple[str | None, bool, str]:
    """Open and get approval for the run's change record: (change id, proceed?, why not)."""
    item, changes, evidence = ctx.item, engine.changes, engine.evidence
    if changes is None or item.change.type == "none" or not kind.needs_change_record(ctx):
        return None, True, ""
    from runner.evidence.recorder import who

    now = engine.clock()
    end = claim.window_end or now + item.expected_duration
    change_type = item.change.type if not item.emergency or item.change.type != "standard" else "emergency"
    request = ChangeRequest(
        item_id=item.id, run_id=ctx.run_id, type=change_type,
        short_description=f"{item.kind} {item.id} on {len(hosts)} host(s)",
        description=(item.description or f"maintctl {item.kind} item {item.id}")
        + (f"\nAd-hoc run: {ctx.options.get('reason')}" if claim.adhoc else f"\nOccurrence {claim.occurrence}"),
        hosts=tuple(hosts), planned_start=now, planned_end=end, requested_by=who(),
    )
    conflicts = changes.conflicts(hosts, now, end)
    if conflicts:
        evidence.record(ctx.bundle_id, "change.conflicts", {"ids": [c.id for c in conflicts]})
        engine.reporter("run.message", {"text": "open change(s) on the same hosts: "
                                        + ", ".join(c.id for c in conflicts)})
    record = changes.open(request)
    engine.store.update_run(ctx.run_id, change_id=record.id)
    evidence.record(ctx.bundle_id, "change.opened", {"id": record.id, "type": record.type, "backend": changes.name,
                                                     "state": record.state, "url": record.url})
    engine.reporter("change.opened", {"id": record.id, "type": record.type})
    timeout = item.change.approval_timeout if record.type == "normal" else timedelta(seconds=5)
    outcome = changes.wait_for_approval(record.id, timeout, poll_interval=timedelta(seconds=1))
    approver = changes.get(record.id).approver
    evidence.record(ctx.bundle_id, "change.approval", {"id": record.id, "outcome": outcome, "approver": approver,
                                                       "on_timeout": item.change.on_timeout})
    engine.reporter("change.approval", {"id": record.id, "outcome": outcome})
    if outcome == "rejected":
        return record.id, False, f"change {record.id} was rejected"
    if outcome == "timeout" and item.change.on_timeout == "cancel":
        return record.id, False, f"change {record.id} was not approved within {item.change.approval_timeout}"
    changes.implement(record.id)
    evidence.record(ctx.bundle_id, "change.implement", {"id": record.id})
    return record.id, True, ""
