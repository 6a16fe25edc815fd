"""The change-record port: what the engine asks of any change-management backend.

Implementations: ``local`` (embedded, records in the state folder); ServiceNow's ``change_request``
table and Jira Service Management change requests come later and must fit this contract:

* ``open`` creates a record in state ``new`` (normal), ``scheduled`` (standard: pre-approved) or
  ``implement``-ready (emergency, approval recorded afterwards) and returns it with its backend id.
* ``wait_for_approval`` blocks up to ``timeout`` and returns ``approved``, ``rejected`` or ``timeout``;
  a standard change is approved at once.
* ``implement`` marks work as started; ``close`` records the close code, notes and evidence link.
* ``conflicts`` lists other open records touching any of ``hosts`` in [start, end).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

ChangeType = Literal["standard", "normal", "emergency"]
ChangeState = Literal["new", "assess", "scheduled", "implement", "review", "closed", "cancelled"]
CloseCode = Literal["successful", "successful_with_issues", "unsuccessful", "cancelled"]
ApprovalOutcome = Literal["approved", "rejected", "timeout"]


@dataclass(frozen=True, kw_only=True)
class ChangeRequest:
    """What the engine asks to be recorded before touching hosts."""

    item_id: str
    run_id: str
    type: ChangeType
    short_description: str
    description: str
    hosts: tuple[str, ...]
    planned_start: datetime
    planned_end: datetime
    requested_by: str


@dataclass(frozen=True, kw_only=True)
class ChangeRecord:
    """A change record as the backend holds it."""

    id: str
    item_id: str
    run_id: str
    type: ChangeType
    state: ChangeState
    short_description: str
    hosts: tuple[str, ...]
    planned_start: datetime
    planned_end: datetime
    requested_by: str
    approver: str | None = None
    approval: Literal["not_requested", "requested", "approved", "rejected"] = "not_requested"
    close_code: CloseCode | None = None
    close_notes: str = ""
    evidence_link: str = ""
    url: str = ""
    history: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (iso time, what happened)


class ChangeBackend(Protocol):
    """A change-management system. Every method raises ``ChangeError`` on failure."""

    name: str

    def open(self, request: ChangeRequest) -> ChangeRecord: ...

    def wait_for_approval(
        self, change_id: str, timeout: timedelta, poll_interval: timedelta = timedelta(seconds=5)
    ) -> ApprovalOutcome: ...

    def implement(self, change_id: str) -> ChangeRecord: ...

    def close(self, change_id: str, code: CloseCode, notes: str, evidence_link: str) -> ChangeRecord: ...

    def conflicts(
        self, hosts: Sequence[str], start: datetime, end: datetime, exclude_id: str | None = None
    ) -> list[ChangeRecord]: ...

    def get(self, change_id: str) -> ChangeRecord: ...

    def list(self) -> list[ChangeRecord]: ...
