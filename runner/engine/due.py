"""``run --due`` and ``serve``: start every occurrence whose window is open now, record the missed ones.

Missed occurrences (their late-start limit passed without a run) are recorded, never run: a runner
that was down does not fire a storm of stale work when it comes back. Each pass looks for them back to
the previous pass of this runner (``scheduler.json`` in the state folder), at most 24 hours.
Occurrences inside a freeze are neither run nor recorded as missed (emergency items do run).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from runner.errors import LeaseHeld, MaintctlError
from runner.state.base import OccurrenceTaken, RunRecord

if TYPE_CHECKING:
    from runner.engine.run import Engine

MISSED_LOOKBACK = timedelta(hours=24)


@dataclass(frozen=True, kw_only=True)
class DueOutcome:
    item_id: str
    occurrence: str
    run: RunRecord | None
    note: str = ""


def _since(engine: Engine, now: datetime, lookback: timedelta) -> datetime:
    """Where to look for missed occurrences: the previous pass of this runner (at most ``lookback`` ago).

    The first pass ever looks back no further than now: setting maintctl up is not downtime.
    """
    import json

    from runner.estate import state_dir

    marker = (engine.state_dir or state_dir(engine.root)) / "scheduler.json"
    try:
        last = datetime.fromisoformat(json.loads(marker.read_text(encoding="utf-8"))["last_pass"])
    except (OSError, ValueError, KeyError, TypeError):
        last = now
    tmp = marker.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"last_pass": now.isoformat()}, fh)
    os.replace(tmp, marker)
    return max(min(last, now), now - lookback)


def due_pass(engine: Engine, now: datetime, lookback: timedelta = MISSED_LOOKBACK) -> list[DueOutcome]:
    """Run what is due at ``now`` (one item at a time) and record what was missed since the last pass."""
    from runner.engine.claim import freezes_in
    from runner.engine.run import RunRequest
    from runner.schedule import due, missed_between

    engine.recover()
    since = _since(engine, now, lookback)
    out: list[DueOutcome] = []
    for item in engine.catalogue.items:
        window = engine.catalogue.windows.get(item.window)
        if not item.enabled or window is None:
            continue
        # Missed since the previous pass: their last chance to start came after it.
        for occ in missed_between(window, since - window.duration, now):
            if occ.latest_start < since:
                continue
            if engine.store.find_run(f"{item.id}|{occ.key}") is None and (
                item.emergency or not freezes_in(engine, item, occ.start_utc, occ.end_utc)
            ):
                engine.record_missed(item, occ)
        now_open = due(window, now)
        if now_open is None or engine.store.find_run(f"{item.id}|{now_open.key}") is not None:
            continue
        key = now_open.key
        frozen = freezes_in(engine, item, now_open.start_utc, now_open.end_utc)
        if frozen and not item.emergency:
            out.append(DueOutcome(item_id=item.id, occurrence=key, run=None,
                                  note=f"inside freeze {', '.join(frozen)}: not run"))
            continue
        try:
            rec = engine.run(RunRequest(item_id=item.id, occurrence=now_open, requested_by="scheduler"))
            out.append(DueOutcome(item_id=item.id, occurrence=key, run=rec))
        except (OccurrenceTaken, LeaseHeld) as exc:
            out.append(DueOutcome(item_id=item.id, occurrence=key, run=None, note=f"taken elsewhere: {exc}"))
        except MaintctlError as exc:
            out.append(DueOutcome(item_id=item.id, occurrence=key, run=None, note=str(exc)))
    return out
