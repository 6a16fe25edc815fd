"""Which occurrence a run takes: the open occurrence of the item's window, an ad-hoc run (``--force``),
or the resumption of an earlier run. Window, late-start and freeze rules are checked here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from runner.catalogue.model import Item, Window
from runner.engine.run import Claim, RunRequest, new_run_id
from runner.errors import UsageError

if TYPE_CHECKING:
    from runner.engine.run import Engine
    from runner.schedule import Occurrence

RESUMABLE = ("interrupted", "halted", "cancelled")
NEVER_STARTED = ("not_started", "skipped", "pending")


def item_groups(engine: Engine, item: Item) -> set[str]:
    """The inventory groups an item touches: its own groups plus every group of its hosts."""
    from runner.engine.targets import inventory_hosts

    groups = set(item.targets.groups)
    try:
        hosts = set(inventory_hosts(engine.catalogue.inventory, item.targets, item.id))
    except UsageError:
        hosts = set()
    for group, members in engine.catalogue.inventory.groups.items():
        if hosts & set(members):
            groups.add(group)
    return groups


def freezes_in(engine: Engine, item: Item, start: datetime, end: datetime) -> list[str]:
    if not engine.catalogue.freezes:
        return []  # and the freeze rules' modules (~12 ms of imports) stay unloaded on a run's path
    from runner.schedule.freeze import applies_to, freeze_intervals

    groups = item_groups(engine, item)
    return sorted({f.name for f in engine.catalogue.freezes
                   if applies_to(f, groups) and freeze_intervals(f, start, end)})


def claim_for(engine: Engine, item: Item, req: RunRequest, now: datetime) -> Claim:
    if req.resume:
        return _resume(engine, item, req, now)
    if req.force:
        return _adhoc(engine, item, req, now)
    return _scheduled(engine, item, req, now)


def _adhoc(engine: Engine, item: Item, req: RunRequest, now: datetime) -> Claim:
    if not req.reason.strip():
        raise UsageError("--force needs --reason TEXT: an ad-hoc run records why it was started")
    frozen = freezes_in(engine, item, now, now + item.expected_duration)
    if frozen and not item.emergency:
        raise UsageError(f"item {item.id}: inside freeze {', '.join(frozen)}; only emergency items run in a freeze")
    run_id = _run_id(req, now)
    return Claim(run_id=run_id, occurrence=f"adhoc:{run_id}", key=f"{item.id}|adhoc:{run_id}", deadline=None,
                 adhoc=True, freezes_overridden=tuple(frozen))


def _scheduled(engine: Engine, item: Item, req: RunRequest, now: datetime) -> Claim:
    from runner.schedule import Status, classify, due

    window = engine.catalogue.windows.get(item.window)
    if window is None:
        raise UsageError(f"item {item.id}: unknown window {item.window!r}")
    occ = req.occurrence or due(window, now) or _current(window, now)
    if occ is None:
        raise UsageError(
            f"item {item.id}: window {window.name} is not open now ({now.isoformat(timespec='seconds')}); "
            "`maintctl run ITEM --force --reason TEXT` runs it ad hoc"
        )
    status = classify(occ, now)
    if status is Status.MISSED:
        engine.record_missed(item, occ)
        raise UsageError(f"item {item.id}: occurrence {occ.key} is past its late-start limit; recorded as missed")
    if status is not Status.OPEN:
        raise UsageError(f"item {item.id}: occurrence {occ.key} is {status.value}, not open")
    frozen = freezes_in(engine, item, occ.start_utc, occ.end_utc)
    if frozen and not item.emergency:
        raise UsageError(f"item {item.id}: occurrence {occ.key} is inside freeze {', '.join(frozen)}")
    return Claim(
        run_id=_run_id(req, now), occurrence=occ.key, key=f"{item.id}|{occ.key}", deadline=occ.cutoff_at,
        window=occ.window, window_end=occ.end_utc, scheduled_start=occ.start_utc, freezes_overridden=tuple(frozen),
    )


def _current(window: Window, now: datetime) -> Occurrence | None:
    """The occurrence whose window contains ``now`` (open or too late to start), if any."""
    from runner.schedule import occurrences

    found = occurrences(window, now - window.duration, now + timedelta(seconds=1), overlapping=True)
    return found[-1] if found else None


def _resume(engine: Engine, item: Item, req: RunRequest, now: datetime) -> Claim:
    assert req.resume is not None
    prev = engine.store.get_run(req.resume)
    if prev.item_id != item.id:
        raise UsageError(f"run {prev.id} belongs to item {prev.item_id}, not {item.id}")
    if prev.status not in RESUMABLE:
        raise UsageError(f"run {prev.id} is {prev.status}; only {', '.join(RESUMABLE)} runs can be resumed")
    if prev.deadline is not None and now >= prev.deadline and not req.force:
        raise UsageError(f"run {prev.id}: the window's cutoff ({prev.deadline.isoformat()}) has passed; "
                         "no new work may start (--force overrides)")
    states = engine.store.occurrence_hosts(item.id, prev.occurrence)
    exclude = {h: s for h, s in states.items() if s not in NEVER_STARTED}
    return Claim(
        run_id=_run_id(req, now), occurrence=prev.occurrence,
        key=f"{item.id}|{prev.occurrence}|resume:{prev.id}",
        deadline=prev.deadline, window=prev.window, scheduled_start=prev.scheduled_start, adhoc=prev.adhoc,
        resumed_from=prev.id, exclude=exclude,
    )


def _run_id(req: RunRequest, now: datetime) -> str:
    """The id the caller chose ahead (a prestarted session's run folder), else a new one."""
    return req.run_id or new_run_id(now)
