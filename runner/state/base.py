"""The state store port: runs, per-host and per-step results, leases, the at-most-once rule and kind facts.

Every implementation (SQLite embedded, PostgreSQL for several runners) passes the one contract test
suite in ``tests/state/test_contract.py``. The engine talks to nothing but this interface.

Contract
--------
Runs
    A run is one attempt at one item occurrence (or one ad-hoc run). ``create_run`` inserts it with its
    ``idempotency_key``; the key is unique across the whole store, so an occurrence whose key exists
    already can never get a second run: ``create_run`` raises ``OccurrenceTaken`` naming the run that
    holds it. This holds even when two processes race: exactly one insert wins. The engine uses
    ``item|occurrence`` as the key of a scheduled run, ``item|occurrence|resume:<run>`` for the
    explicit resumption of an interrupted run (so each run can be resumed at most once), and a fresh
    ``item|adhoc:<run>`` for forced ad-hoc runs.
Statuses
    pending → running → succeeded | failed | halted | cancelled; a run whose runner died while
    ``running`` becomes ``interrupted`` (``mark_interrupted``); an occurrence skipped by the late-start
    rule is a run created directly as ``missed`` (``record_missed``), which also takes its key.
Hosts and steps
    ``record_host`` upserts one host's state in a run (``pending``/``running`` while in flight, then
    ok/changed/failed/unreachable/skipped/not_started/interrupted); ``record_step`` appends one step
    (an Ansible task, a command, a check) to a host. Both are durable when they return.
Leases
    A lease is a named claim with an owner and an expiry. ``acquire(key, owner, ttl)`` succeeds, and
    sets the expiry to now + ttl, when the lease is unclaimed, expired, or already ours; otherwise it
    returns False and changes nothing. Acquisition is atomic: of several owners racing for a key
    exactly one wins. ``renew`` extends a lease only while we still hold it (False once it expired
    and someone else took it, or it was released). ``release`` drops it if it is ours (no-op otherwise).
Kind facts
    What a kind must remember across runs (when a package version was first seen, a backup item's run
    counter, its backups and restore tests) lives here too, so that runners sharing one PostgreSQL
    store share it. Three small shapes, each scoped by a ``namespace`` (by convention the kind's name):

    * documents: one JSON value per ``(namespace, key)``. ``put_fact`` writes it (last writer wins);
      ``put_facts_if_absent`` writes each value only where its key has none yet and returns what is
      stored for every key given, so racing writers all get the one value that won (the first
      sighting of a package version is decided once for every runner). ``get_fact`` reads one,
      ``list_facts`` every key of a namespace starting with ``prefix``, in key order (bytewise).
    * logs: ``append_log`` adds one JSON object to the append-only stream ``(namespace, stream)`` and
      returns it with its id (increasing, never reused) and ``at`` (``now``). ``read_log`` returns the
      newest first (by ``at``, then id), at most ``limit``, optionally only entries whose top-level
      fields equal the given ``where`` values (str, int or bool; compared by JSON type and value, so
      ``True`` never matches ``1``; a missing field matches nothing).
    * counters: ``increment`` adds ``by`` atomically and returns the new value (racing increments are
      never lost); ``counter`` reads one (0 when never incremented).

    Values must be JSON (dicts with str keys, lists, tuples, str, int, float, bool, None; no NaN):
    anything else raises ``StateError`` naming the namespace and key before anything is written.
    Namespaces, keys and streams are non-empty strings; ``where`` fields are identifiers.
Time
    All instants are timezone-aware UTC ``datetime``; ``now`` parameters exist so that tests and the
    engine agree on one clock. Implementations never read the wall clock when ``now`` is given, and
    reject a naive ``now`` with ``StateError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from runner.errors import StateError

RunStatus = Literal[
    "pending", "running", "succeeded", "failed", "halted", "cancelled", "interrupted", "missed"
]
RUN_STATUSES: tuple[RunStatus, ...] = (
    "pending", "running", "succeeded", "failed", "halted", "cancelled", "interrupted", "missed"
)
ACTIVE_STATUSES: tuple[RunStatus, ...] = ("pending", "running")
HostState = Literal[
    "pending", "running", "ok", "changed", "failed", "unreachable", "skipped", "not_started", "interrupted"
]
DONE_HOST_STATES: tuple[str, ...] = ("ok", "changed")


class OccurrenceTaken(StateError):
    """The idempotency key is held by an existing run: this occurrence already ran (or is running)."""

    exit_code = 3

    def __init__(self, key: str, run_id: str, status: str) -> None:
        super().__init__(
            f"occurrence {key} already has run {run_id} ({status}); an occurrence runs at most once"
            " (use `maintctl run ITEM --resume RUN` to continue an interrupted run)"
        )
        self.key = key
        self.run_id = run_id
        self.status = status


@dataclass(frozen=True, kw_only=True)
class NewRun:
    """What the engine knows when it starts a run."""

    id: str
    item_id: str
    occurrence: str
    idempotency_key: str
    kind: str
    owner: str
    lease_key: str
    created: datetime
    status: RunStatus = "pending"
    mode: str = "apply"
    adhoc: bool = False
    reason: str = ""
    window: str = ""
    scheduled_start: datetime | None = None
    deadline: datetime | None = None
    resumed_from: str | None = None


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """A run as stored."""

    id: str
    item_id: str
    occurrence: str
    idempotency_key: str
    kind: str
    status: RunStatus
    owner: str
    lease_key: str
    created: datetime
    started: datetime | None = None
    finished: datetime | None = None
    mode: str = "apply"
    adhoc: bool = False
    reason: str = ""
    window: str = ""
    scheduled_start: datetime | None = None
    deadline: datetime | None = None
    resumed_from: str | None = None
    change_id: str | None = None
    bundle_id: str | None = None
    message: str = ""
    summary: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class BatchRecord:
    """One batch of a run."""

    run_id: str
    index: int
    hosts: tuple[str, ...]
    status: str  # running, done, halted, cancelled, check_failed
    started: datetime | None = None
    finished: datetime | None = None
    message: str = ""
    checks: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True, kw_only=True)
class HostRecord:
    """One host's state in one run."""

    run_id: str
    host: str
    batch: int
    status: HostState
    started: datetime | None = None
    finished: datetime | None = None
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class StepRecord:
    """One step on one host in one run, in the order recorded."""

    run_id: str
    host: str
    seq: int
    name: str
    status: str
    started: datetime | None = None
    finished: datetime | None = None
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Lease:
    """Who holds a lease key, until when."""

    key: str
    owner: str
    expires: datetime

    def expired(self, now: datetime) -> bool:
        return self.expires <= now


@dataclass(frozen=True, kw_only=True)
class Fact:
    """One kind fact: a JSON value under (namespace, key), with when it was last written."""

    namespace: str
    key: str
    value: Any
    updated: datetime


@dataclass(frozen=True, kw_only=True)
class LogEntry:
    """One entry of a kind's append-only log."""

    namespace: str
    stream: str
    id: int
    at: datetime
    value: Mapping[str, Any]


LogFilter = Mapping[str, str | int | bool]


class StateStore(Protocol):
    """Where runs, results and leases live. Every method raises ``StateError`` on storage failure."""

    name: str

    # runs -------------------------------------------------------------------------------------
    def create_run(self, run: NewRun) -> RunRecord:
        """Insert a run; raise ``OccurrenceTaken`` when its idempotency key already exists."""
        ...

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        started: datetime | None = None,
        finished: datetime | None = None,
        change_id: str | None = None,
        bundle_id: str | None = None,
        message: str | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        """Set the given fields (None leaves a field alone); raise ``StateError`` for an unknown run."""
        ...

    def get_run(self, run_id: str) -> RunRecord:
        """Return one run; a unique prefix of its id is accepted. ``StateError`` when unknown."""
        ...

    def find_run(self, idempotency_key: str) -> RunRecord | None:
        """Return the run holding ``idempotency_key``, if any."""
        ...

    def list_runs(
        self, *, item_id: str | None = None, statuses: Sequence[RunStatus] = (), limit: int = 100
    ) -> list[RunRecord]:
        """Newest first."""
        ...

    def record_missed(self, run: NewRun, reason: str) -> bool:
        """Record an occurrence skipped by the late-start rule; False if its key already exists."""
        ...

    def mark_interrupted(self, run_id: str, reason: str, now: datetime) -> RunRecord:
        """Mark a run whose runner died: the run, and its in-flight hosts, become ``interrupted``."""
        ...

    # batches, hosts, steps --------------------------------------------------------------------
    def record_batch(self, batch: BatchRecord) -> None:
        """Insert or replace the batch (run_id, index)."""
        ...

    def batches(self, run_id: str) -> list[BatchRecord]:
        ...

    def record_host(self, host: HostRecord) -> None:
        """Insert or replace the host's state in the run."""
        ...

    def hosts(self, run_id: str) -> list[HostRecord]:
        """In batch order, then in the order they were first recorded."""
        ...

    def record_step(self, step: StepRecord) -> StepRecord:
        """Append a step; ``seq`` is assigned by the store (the value passed in is ignored)."""
        ...

    def steps(self, run_id: str, host: str | None = None) -> list[StepRecord]:
        ...

    def occurrence_hosts(self, item_id: str, occurrence: str) -> dict[str, HostState]:
        """The latest state of every host over all runs of one occurrence (for resumption)."""
        ...

    # leases -----------------------------------------------------------------------------------
    def acquire(self, key: str, owner: str, ttl: timedelta, now: datetime) -> bool:
        """Claim ``key`` for ``owner`` until now + ttl if unclaimed, expired or ours."""
        ...

    def renew(self, key: str, owner: str, ttl: timedelta, now: datetime) -> bool:
        """Extend our unexpired lease to now + ttl; False when it is not ours (any more)."""
        ...

    def release(self, key: str, owner: str) -> None:
        """Drop the lease if ``owner`` holds it."""
        ...

    def lease(self, key: str) -> Lease | None:
        ...

    # kind facts -------------------------------------------------------------------------------
    def put_fact(self, namespace: str, key: str, value: Any, now: datetime | None = None) -> Fact:
        """Write ``value`` under (namespace, key), replacing what was there."""
        ...

    def put_facts_if_absent(
        self, namespace: str, values: Mapping[str, Any], now: datetime | None = None
    ) -> dict[str, Fact]:
        """Write each value whose key has none yet (atomically); return what is stored for every key."""
        ...

    def get_fact(self, namespace: str, key: str) -> Fact | None:
        ...

    def list_facts(self, namespace: str, prefix: str = "") -> list[Fact]:
        """Every fact of ``namespace`` whose key starts with ``prefix``, in key order."""
        ...

    def append_log(
        self, namespace: str, stream: str, value: Mapping[str, Any], now: datetime | None = None
    ) -> LogEntry:
        """Append one JSON object to the stream; ``at`` is ``now``."""
        ...

    def read_log(
        self, namespace: str, stream: str, *, where: LogFilter | None = None, limit: int = 100
    ) -> list[LogEntry]:
        """Newest first; only entries whose top-level fields equal ``where``'s values."""
        ...

    def increment(self, namespace: str, key: str, by: int = 1) -> int:
        """Add ``by`` to the counter atomically and return its new value."""
        ...

    def counter(self, namespace: str, key: str) -> int:
        """The counter's value, 0 if it was never incremented."""
        ...

    def close(self) -> None:
        ...
