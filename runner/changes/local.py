"""The embedded change-record backend: records in ``<state>/changes.db`` (SQLite, 0600).

Lifecycle (state names follow ServiceNow's change_request, see docs/changes.md):

* standard  -> ``scheduled``, approval ``approved`` by "pre-approved (standard change)".
* normal    -> ``assess``, approval ``requested``; ``approve`` moves it to ``scheduled``,
  ``reject`` cancels it (close code ``cancelled``).
* emergency -> ``scheduled`` at once with approval ``requested``: work may proceed and the approval
  (or rejection) is recorded afterwards, even after close.

``implement`` needs ``scheduled`` (or ``implement``); ``close`` with successful / successful_with_issues /
unsuccessful needs ``implement`` or ``review``; ``cancelled`` closes anything still open.
Each transition is one SQLite transaction (``BEGIN IMMEDIATE``), so several runners and reviewers
may act on the same file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast

from runner.changes.base import ApprovalOutcome, ChangeRecord, ChangeRequest, ChangeState, CloseCode
from runner.errors import ChangeError

OPEN_STATES = ("new", "assess", "scheduled", "implement", "review")
CLOSE_CODES = ("successful", "successful_with_issues", "unsuccessful", "cancelled")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    num INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE,
    state TEXT NOT NULL,
    planned_start TEXT NOT NULL,
    planned_end TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS change_hosts (id TEXT NOT NULL, host TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS change_hosts_host ON change_hosts(host);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ChangeError(f"change times must be timezone-aware, got {dt.isoformat()}")
    return dt.astimezone(UTC)


def _dump(rec: ChangeRecord) -> str:
    d: dict[str, Any] = dict(vars(rec))
    d["planned_start"], d["planned_end"] = rec.planned_start.isoformat(), rec.planned_end.isoformat()
    d["hosts"], d["history"] = list(rec.hosts), [list(h) for h in rec.history]
    return json.dumps(d, sort_keys=True)


def _load(text: str) -> ChangeRecord:
    d = json.loads(text)
    d["planned_start"] = datetime.fromisoformat(d["planned_start"])
    d["planned_end"] = datetime.fromisoformat(d["planned_end"])
    d["hosts"] = tuple(d["hosts"])
    d["history"] = tuple(tuple(h) for h in d["history"])
    return ChangeRecord(**d)


class LocalChangeBackend:
    """``ChangeBackend`` kept in the estate's state folder."""

    name = "local"

    def __init__(self, state_dir: Path, *, clock: Any = time.monotonic, sleep: Any = time.sleep) -> None:
        self.path = state_dir / "changes.db"
        self._clock, self._sleep = clock, sleep
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))  # journal files inherit this mode
        os.chmod(self.path, 0o600)
        try:
            with closing(sqlite3.connect(self.path, timeout=30)) as db:
                db.executescript(_SCHEMA)  # commits by itself, so not inside _tx
        except sqlite3.Error as exc:
            raise ChangeError(f"{self.path}: cannot open the change records: {exc}") from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise ChangeError(f"{self.path}: cannot open the change records: {exc}") from exc
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise ChangeError(f"{self.path}: change records: {exc}") from exc
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    # -- ChangeBackend ------------------------------------------------------------------------------
    def open(self, request: ChangeRequest) -> ChangeRecord:
        start, end = _utc(request.planned_start), _utc(request.planned_end)
        if end <= start:
            raise ChangeError(f"change for {request.item_id}: planned end {end} is not after start {start}")
        state: ChangeState = "assess" if request.type == "normal" else "scheduled"
        approval: Literal["approved", "requested"] = "approved" if request.type == "standard" else "requested"
        rec = ChangeRecord(
            id="", item_id=request.item_id, run_id=request.run_id, type=request.type, state=state,
            short_description=request.short_description, hosts=tuple(request.hosts), planned_start=start,
            planned_end=end, requested_by=request.requested_by, approval=approval,
            approver="pre-approved (standard change)" if request.type == "standard" else None,
            history=((_now(), f"opened ({request.type}) by {request.requested_by}: {request.description}"),),
        )  # fmt: skip
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO changes (state, planned_start, planned_end, record) VALUES (?, ?, ?, '')",
                (state, start.isoformat(), end.isoformat()),
            )
            num = cast(int, cur.lastrowid)
            rec = replace(rec, id=f"CHG{num:07d}", url=f"file://{self.path}#CHG{num:07d}")
            db.execute("UPDATE changes SET id = ?, record = ? WHERE num = ?", (rec.id, _dump(rec), num))
            db.executemany("INSERT INTO change_hosts (id, host) VALUES (?, ?)", [(rec.id, h) for h in set(rec.hosts)])
        return rec

    def wait_for_approval(
        self, change_id: str, timeout: timedelta, poll_interval: timedelta = timedelta(seconds=5)
    ) -> ApprovalOutcome:
        """Poll until approved or rejected; ``timeout`` when neither happened in time (the caller decides).

        Emergency changes return ``approved`` at once: they are authorised to proceed and their
        approval is recorded afterwards.
        """
        deadline = self._clock() + timeout.total_seconds()
        while True:
            rec = self.get(change_id)
            if rec.approval == "rejected":
                return "rejected"
            if rec.approval == "approved" or rec.type == "emergency":
                return "approved"
            if rec.state not in OPEN_STATES:
                return "rejected"
            left = deadline - self._clock()
            if left <= 0:
                return "timeout"
            self._sleep(min(poll_interval.total_seconds(), left))

    def implement(self, change_id: str) -> ChangeRecord:
        def step(rec: ChangeRecord) -> ChangeRecord:
            if rec.state == "implement":
                return rec
            if rec.state != "scheduled":
                raise ChangeError(f"{rec.id} is {rec.state} (approval {rec.approval}); it cannot be implemented")
            return self._note(replace(rec, state="implement"), "implementation started")

        return self._update(change_id, step)

    def close(self, change_id: str, code: CloseCode, notes: str, evidence_link: str) -> ChangeRecord:
        if code not in CLOSE_CODES:
            raise ChangeError(f"close code {code!r} is not one of {', '.join(CLOSE_CODES)}")

        def step(rec: ChangeRecord) -> ChangeRecord:
            if rec.state not in OPEN_STATES:
                raise ChangeError(f"{rec.id} is already {rec.state}")
            if code != "cancelled" and rec.state not in ("implement", "review"):
                raise ChangeError(f"{rec.id} is {rec.state}: only an implemented change closes as {code}")
            state: ChangeState = "cancelled" if code == "cancelled" else "closed"
            rec = replace(rec, state=state, close_code=code, close_notes=notes, evidence_link=evidence_link)
            return self._note(rec, f"closed {code}: {notes}")

        return self._update(change_id, step)

    def conflicts(
        self, hosts: Sequence[str], start: datetime, end: datetime, exclude_id: str | None = None
    ) -> list[ChangeRecord]:
        s, e = _utc(start).isoformat(), _utc(end).isoformat()
        marks = ",".join("?" * len(set(hosts))) or "''"
        states = ",".join("?" * len(OPEN_STATES))
        with self._tx() as db:
            rows = db.execute(
                f"SELECT DISTINCT c.record FROM changes c JOIN change_hosts h ON h.id = c.id "  # noqa: S608
                f"WHERE h.host IN ({marks}) AND c.state IN ({states}) AND c.planned_start < ? "
                f"AND c.planned_end > ? AND c.id IS NOT ? ORDER BY c.num",
                (*sorted(set(hosts)), *OPEN_STATES, e, s, exclude_id),
            ).fetchall()
        return [_load(r[0]) for r in rows]

    def get(self, change_id: str) -> ChangeRecord:
        with self._tx() as db:
            row = db.execute("SELECT record FROM changes WHERE id = ?", (change_id,)).fetchone()
        if row is None:
            raise ChangeError(f"no change record {change_id!r}")
        return _load(row[0])

    def list(self) -> list[ChangeRecord]:
        with self._tx() as db:
            rows = db.execute("SELECT record FROM changes WHERE id IS NOT NULL ORDER BY num").fetchall()
        return [_load(r[0]) for r in rows]

    # -- reviewers (CLI) ----------------------------------------------------------------------------
    def approve(self, change_id: str, by: str, note: str = "") -> ChangeRecord:
        """Record approval; a normal change in ``assess`` becomes ``scheduled``."""

        def step(rec: ChangeRecord) -> ChangeRecord:
            if rec.approval in ("approved", "rejected"):
                raise ChangeError(f"{rec.id} is already {rec.approval}")
            if rec.type == "normal" and rec.state != "assess":
                raise ChangeError(f"{rec.id} is {rec.state}; it is no longer waiting for approval")
            state: ChangeState = "scheduled" if rec.state == "assess" else rec.state
            return self._note(replace(rec, approval="approved", approver=by, state=state),
                              f"approved by {by}" + (f": {note}" if note else ""))  # fmt: skip

        return self._update(change_id, step)

    def reject(self, change_id: str, by: str, note: str = "") -> ChangeRecord:
        """Record rejection; a change not yet implemented is cancelled."""

        def step(rec: ChangeRecord) -> ChangeRecord:
            if rec.approval in ("approved", "rejected"):
                raise ChangeError(f"{rec.id} is already {rec.approval}")
            text = f"rejected by {by}" + (f": {note}" if note else "")
            if rec.state in ("new", "assess", "scheduled"):
                rec = replace(rec, state="cancelled", close_code="cancelled", close_notes=text)
            return self._note(replace(rec, approval="rejected", approver=by), text)

        return self._update(change_id, step)

    # -- helpers ------------------------------------------------------------------------------------
    @staticmethod
    def _note(rec: ChangeRecord, what: str) -> ChangeRecord:
        return replace(rec, history=(*rec.history, (_now(), what)))

    def _update(self, change_id: str, step: Any) -> ChangeRecord:
        with self._tx() as db:
            row = db.execute("SELECT record FROM changes WHERE id = ?", (change_id,)).fetchone()
            if row is None:
                raise ChangeError(f"no change record {change_id!r}")
            rec: ChangeRecord = step(_load(row[0]))
            db.execute("UPDATE changes SET state = ?, record = ? WHERE id = ?", (rec.state, _dump(rec), change_id))
        return rec
