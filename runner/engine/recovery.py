"""Crash safety: find runs whose runner died and mark them interrupted everywhere.

A run still ``pending``/``running`` is dead when its lease is gone, expired, or held by someone else, or
when its owner is a process on this machine that no longer exists. Its lease is not taken over: it
expires on its own, and until then the item cannot start again. Hosts in flight become
``interrupted`` (outcome unknown) and are never run again silently (see ``runner.engine.run``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.engine.lease import owner_is_dead
from runner.errors import MaintctlError
from runner.state.base import RunRecord

if TYPE_CHECKING:
    from runner.engine.run import Engine


def is_dead(engine: Engine, run: RunRecord) -> str | None:
    """Why ``run`` is dead, or None while its runner may still be working on it."""
    if run.owner == engine.owner:
        return None
    lease = engine.store.lease(run.lease_key)
    if lease is None or lease.owner != run.owner:
        return "its runner's lease is gone"
    if lease.expired(engine.clock()):
        return f"its runner's lease expired at {lease.expires.isoformat()}"
    if owner_is_dead(run.owner):
        return f"its runner process ({run.owner.split(':')[1]}) is gone"
    return None


def recover(engine: Engine) -> list[RunRecord]:
    found: list[RunRecord] = []
    for run in engine.store.list_runs(statuses=["pending", "running"], limit=10_000):
        why = is_dead(engine, run)
        if why is None:
            continue
        reason = f"interrupted: {why}"
        hosts = engine.store.hosts(run.id)
        rec = engine.store.mark_interrupted(run.id, reason, engine.clock())
        after = {h.host: h.status for h in engine.store.hosts(run.id)}
        if run.bundle_id:
            try:
                engine.evidence.record(run.bundle_id, "run.interrupted", {"reason": reason, "hosts": after})
                engine.evidence.mark_interrupted(run.bundle_id, reason)
            except MaintctlError as exc:
                engine.reporter("run.message", {"text": f"run {run.id}: evidence bundle not closed: {exc}"})
        if run.change_id and engine.changes is not None:
            done = sum(1 for h in hosts if h.status in ("ok", "changed"))
            try:
                engine.changes.close(run.change_id, "successful_with_issues" if done else "unsuccessful",
                                     f"runner died ({why}); {done} host(s) done", f"evidence:{run.bundle_id}")
            except MaintctlError as exc:
                engine.reporter("run.message", {"text": f"run {run.id}: change not closed: {exc}"})
        engine.reporter("run.message", {"text": f"run {run.id} of {run.item_id} marked interrupted ({why})"})
        found.append(rec)
    return found
