"""The life of one run: claim the occurrence, open evidence and the change record, roll the batches,
close everything with the right outcome, release the lease.

At most once: a run first takes the item's lease (``item/<id>``, renewed while it runs), then inserts
its idempotency key — ``item|occurrence`` for a scheduled run. A second attempt at the same occurrence
is refused, whether it comes at the same moment from another runner or later from the same one.

Resumption (``maintctl run ITEM --resume RUN``) is the one way to continue an occurrence whose run was
interrupted, halted or cancelled: it takes the key ``item|occurrence|resume:RUN`` (so each run can be
resumed once) and runs only the hosts that never started in that occurrence. Hosts done, failed, or
in flight when the runner died (``interrupted``: their outcome is unknown) are never run again by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from runner.catalogue.model import Catalogue, Item
from runner.changes.base import ChangeBackend
from runner.engine.ids import new_run_id
from runner.engine.lease import Clock, LeaseKeeper, make_owner, utcnow
from runner.engine.progress import Reporter
from runner.errors import LeaseHeld, MaintctlError, UsageError
from runner.evidence.port import EvidenceRecorder
from runner.state.base import NewRun, OccurrenceTaken, RunRecord, StateStore

if TYPE_CHECKING:
    from runner.engine.prestart import Prestarted

DEFAULT_LEASE_TTL = timedelta(seconds=60)


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """What the operator (or the scheduler) asked for."""

    item_id: str
    force: bool = False
    reason: str = ""
    resume: str | None = None
    mode: Literal["apply", "check"] = "apply"
    occurrence: Any = None  # runner.schedule.Occurrence, given by --due / serve
    requested_by: str = ""
    run_id: str | None = None  # chosen by the caller ahead of the claim (a prestarted session's run folder)


@dataclass(frozen=True, kw_only=True)
class Claim:
    """The occurrence a run is about to take, before anything is written."""

    run_id: str
    occurrence: str
    key: str
    deadline: datetime | None
    window: str = ""
    window_end: datetime | None = None
    scheduled_start: datetime | None = None
    adhoc: bool = False
    resumed_from: str | None = None
    exclude: Mapping[str, str] = field(default_factory=dict)  # host -> state in earlier runs
    freezes_overridden: tuple[str, ...] = ()  # an emergency item running inside these freezes


@dataclass
class Engine:
    """Runs items of one estate. Built by the CLI from the catalogue, state store, evidence and changes."""

    root: Path
    catalogue: Catalogue
    store: StateStore
    evidence: EvidenceRecorder
    changes: ChangeBackend | None
    reporter: Reporter
    clock: Clock = utcnow
    lease_ttl: timedelta = DEFAULT_LEASE_TTL
    owner: str = field(default_factory=make_owner)
    state_dir: Path | None = None

    def item(self, item_id: str) -> Item:
        try:
            return self.catalogue.item(item_id)
        except KeyError:
            known = ", ".join(sorted(i.id for i in self.catalogue.items)) or "none"
            raise UsageError(f"unknown item {item_id!r} (items: {known})") from None

    def recover(self) -> list[RunRecord]:
        """Mark runs whose runner died as interrupted (state, evidence, change record)."""
        from runner.engine.recovery import recover

        return recover(self)

    def run(self, req: RunRequest, early: Prestarted | None = None) -> RunRecord:
        """Run one item occurrence (or an ad-hoc run, or a resumption) to its end and return the run.
        ``early``: the item's kind prepared ahead (``runner.engine.prestart``), taken if it fits the run."""
        item = self.item(req.item_id)
        if not item.enabled and not req.force:
            raise UsageError(f"item {item.id} is disabled (enabled: false); --force --reason runs it anyway")
        self.recover()
        from runner.engine.claim import claim_for

        claim = claim_for(self, item, req, self.clock())
        lease_key = f"item/{item.id}"
        now = self.clock()
        if not self.store.acquire(lease_key, self.owner, self.lease_ttl, now):
            from runner.engine.lease import owner_is_dead

            lease = self.store.lease(lease_key)
            if lease is not None and owner_is_dead(lease.owner):
                until = lease.expires.isoformat(timespec="seconds")
                raise LeaseHeld(f"item {item.id}: the runner that held it died; its lease expires at {until} "
                                "(see `maintctl runs --status interrupted`)")
            holder = f"{lease.owner} until {lease.expires.isoformat()}" if lease else "another runner"
            raise LeaseHeld(f"item {item.id} is being run by {holder}; not starting a second run")
        try:
            record = self.store.create_run(NewRun(
                id=claim.run_id, item_id=item.id, occurrence=claim.occurrence, idempotency_key=claim.key,
                kind=item.kind, owner=self.owner, lease_key=lease_key, created=now, mode=req.mode,
                adhoc=claim.adhoc, reason=req.reason, window=claim.window,
                scheduled_start=claim.scheduled_start, deadline=claim.deadline, resumed_from=claim.resumed_from,
            ))
        except OccurrenceTaken:
            self.store.release(lease_key, self.owner)
            raise
        keeper = LeaseKeeper(self.store, lease_key, self.owner, self.lease_ttl, self.clock).start()
        try:
            from runner.engine.lifecycle import execute

            return execute(self, item, req, claim, record, keeper, early)
        finally:
            keeper.stop(release=True)

    def record_missed(self, item: Item, occurrence: Any) -> bool:
        """Record an occurrence skipped by the late-start rule (once); True if newly recorded."""
        now = self.clock()
        run_id = new_run_id(now)
        limit = occurrence.max_start_delay
        if now < occurrence.start_utc + limit:
            reason = (f"not started before the window's cutoff ({occurrence.cutoff_at.isoformat()}); no new work"
                      " starts after it; skipped, never caught up")
        else:
            reason = (f"not started within max_start_delay ({limit}) of {occurrence.start_utc.isoformat()};"
                      " skipped, never caught up")
        new = self.store.record_missed(NewRun(
            id=run_id, item_id=item.id, occurrence=occurrence.key, idempotency_key=f"{item.id}|{occurrence.key}",
            kind=item.kind, owner=self.owner, lease_key=f"item/{item.id}", created=now, status="missed",
            window=occurrence.window, scheduled_start=occurrence.start_utc, deadline=occurrence.cutoff_at,
        ), reason)
        if new:
            bundle = self.evidence.open_bundle(run_id=run_id, item_id=item.id, occurrence=occurrence.key,
                                               asked={"item": item.id, "window": occurrence.window,
                                                      "scheduled_start": occurrence.start_utc.isoformat()})
            self.evidence.record(bundle, "occurrence.missed", {"reason": reason})
            self.evidence.close_bundle(bundle, outcome="skipped", summary={"missed": True, "reason": reason})
            self.store.update_run(run_id, bundle_id=bundle)
            self.reporter("run.message", {"text": f"{item.id}: occurrence {occurrence.key} missed: {reason}"})
        return new


def ensure_ok(record: RunRecord) -> RunRecord:
    """Raise ``RunFailed`` for a run that did not succeed (the CLI's exit code)."""
    from runner.errors import RunFailed

    if record.status != "succeeded":
        raise RunFailed(f"run {record.id} of {record.item_id}: {record.status}"
                        + (f" - {record.message}" if record.message else ""))
    return record


__all__ = ["Claim", "Engine", "MaintctlError", "RunRequest", "ensure_ok", "new_run_id"]
