"""Row <-> record conversion shared by the SQL stores (timestamps as ISO-8601 UTC text, JSON text)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from runner.state.base import BatchRecord, HostRecord, HostState, NewRun, RunRecord, RunStatus, StepRecord

RUN_COLUMNS = (
    "id", "item_id", "occurrence", "idempotency_key", "kind", "status", "owner", "lease_key", "created",
    "started", "finished", "mode", "adhoc", "reason", "window_name", "scheduled_start", "deadline",
    "resumed_from", "change_id", "bundle_id", "message", "summary",
)


def ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the state store")
    return value.astimezone(UTC).isoformat()


def from_ts(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def loads(value: Any) -> Any:
    if value is None or value == "":
        return {}
    if isinstance(value, (dict, list)):
        return value
    return json.loads(value)


def new_run_params(run: NewRun) -> dict[str, Any]:
    return {
        "id": run.id, "item_id": run.item_id, "occurrence": run.occurrence,
        "idempotency_key": run.idempotency_key, "kind": run.kind, "status": run.status,
        "owner": run.owner, "lease_key": run.lease_key, "created": ts(run.created), "started": None,
        "finished": None, "mode": run.mode, "adhoc": 1 if run.adhoc else 0, "reason": run.reason,
        "window_name": run.window, "scheduled_start": ts(run.scheduled_start), "deadline": ts(run.deadline),
        "resumed_from": run.resumed_from, "change_id": None, "bundle_id": None, "message": "",
        "summary": "{}",
    }


def run_from_row(row: Sequence[Any]) -> RunRecord:
    r = dict(zip(RUN_COLUMNS, row, strict=True))
    return RunRecord(
        id=r["id"], item_id=r["item_id"], occurrence=r["occurrence"],
        idempotency_key=r["idempotency_key"], kind=r["kind"], status=cast(RunStatus, r["status"]),
        owner=r["owner"], lease_key=r["lease_key"], created=cast(datetime, from_ts(r["created"])),
        started=from_ts(r["started"]), finished=from_ts(r["finished"]), mode=r["mode"],
        adhoc=bool(r["adhoc"]), reason=r["reason"] or "", window=r["window_name"] or "",
        scheduled_start=from_ts(r["scheduled_start"]), deadline=from_ts(r["deadline"]),
        resumed_from=r["resumed_from"], change_id=r["change_id"], bundle_id=r["bundle_id"],
        message=r["message"] or "", summary=loads(r["summary"]),
    )


def update_params(
    *,
    status: RunStatus | None,
    started: datetime | None,
    finished: datetime | None,
    change_id: str | None,
    bundle_id: str | None,
    message: str | None,
    summary: Mapping[str, Any] | None,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": status, "started": ts(started), "finished": ts(finished), "change_id": change_id,
        "bundle_id": bundle_id, "message": message,
        "summary": None if summary is None else dumps(dict(summary)),
    }
    return {k: v for k, v in values.items() if v is not None}


def batch_from_row(row: Sequence[Any]) -> BatchRecord:
    run_id, index, hosts, status, started, finished, message, checks = row
    return BatchRecord(
        run_id=run_id, index=int(index), hosts=tuple(loads(hosts) or ()), status=status,
        started=from_ts(started), finished=from_ts(finished), message=message or "",
        checks=tuple(loads(checks) or ()),
    )


def host_from_row(row: Sequence[Any]) -> HostRecord:
    run_id, host, batch, status, started, finished, message, data = row
    return HostRecord(
        run_id=run_id, host=host, batch=int(batch), status=cast(HostState, status),
        started=from_ts(started), finished=from_ts(finished), message=message or "", data=loads(data),
    )


def step_from_row(row: Sequence[Any]) -> StepRecord:
    run_id, host, seq, name, status, started, finished, message, data = row
    return StepRecord(
        run_id=run_id, host=host, seq=int(seq), name=name, status=status, started=from_ts(started),
        finished=from_ts(finished), message=message or "", data=loads(data),
    )
