"""Reading the ledger for reviewers: bundles, their records and artifacts (no verification here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import EvidenceError, UsageError
from runner.evidence.ledger import LEDGER_FILE


@dataclass
class Bundle:
    id: str
    run_id: str = ""
    item_id: str = ""
    occurrence: str = ""
    opened: str = ""
    closed: str = ""
    outcome: str = ""
    started_by: str = ""
    change_id: str = ""
    approver: str = ""
    hosts: set[str] = field(default_factory=set)
    events: int = 0
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    first_line: int = 0

    def as_dict(self) -> dict[str, Any]:
        d = dict(vars(self))
        d["hosts"] = sorted(self.hosts)
        return d


def iter_records(folder: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, record) for every complete, parseable line."""
    path = folder / LEDGER_FILE
    if not path.is_file():
        raise EvidenceError(f"{path}: no evidence ledger here (nothing recorded yet?)")
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                return
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if isinstance(rec, dict):
                yield number, rec


def bundle_states(folder: Path) -> dict[str, str]:
    """bundle id -> ``open`` or ``closed``."""
    states: dict[str, str] = {}
    for _n, rec in iter_records(folder):
        if rec.get("type") == "bundle.opened":
            states[rec["bundle"]] = "open"
        elif rec.get("type") == "bundle.closed":
            states[rec["bundle"]] = "closed"
    return states


def _hosts(data: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(data, dict):
        for key in ("host", "hosts", "targets"):
            v = data.get(key)
            if isinstance(v, str):
                found.add(v)
            elif isinstance(v, list):
                found.update(x for x in v if isinstance(x, str))
        for key in ("plan", "data", "result"):
            if key in data:
                found |= _hosts(data[key])
    return found


def bundles(folder: Path) -> list[Bundle]:
    """Every bundle in ledger order, summarised."""
    out: dict[str, Bundle] = {}
    for number, rec in iter_records(folder):
        bid, kind, payload = rec.get("bundle", ""), rec.get("type"), rec.get("payload")
        if not bid or not isinstance(payload, dict):
            continue
        _apply(out, number, rec, bid, kind, payload)
    return list(out.values())


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _apply(out: dict[str, Bundle], number: int, rec: dict[str, Any], bid: str, kind: Any,
           payload: dict[str, Any]) -> None:  # fmt: skip
    if kind == "bundle.opened":
        asked = _dict(payload.get("asked"))
        out[bid] = Bundle(
            id=bid, run_id=str(payload.get("run_id", "")), item_id=str(payload.get("item_id", "")),
            occurrence=str(payload.get("occurrence", "")), opened=str(rec.get("time", "")),
            started_by=str(asked.get("started_by", "")), first_line=number, hosts=_hosts(asked),
        )  # fmt: skip
        return
    b = out.get(bid)
    if b is None:
        return
    if kind == "event":
        b.events += 1
        data = _dict(payload.get("data"))
        b.hosts |= _hosts(data)
        if str(payload.get("event", "")).startswith("change.") and data.get("id"):
            b.change_id = str(data["id"])
            b.approver = str(data.get("approver") or b.approver or "")
    elif kind == "artifact":
        b.artifacts.append(payload)
    elif kind == "bundle.closed":
        b.closed, b.outcome = str(rec.get("time", "")), str(payload.get("outcome", ""))
        summary = _dict(payload.get("summary"))
        b.change_id = str(summary.get("change_id") or b.change_id)
        b.approver = str(summary.get("approver") or b.approver)


def bundle_records(folder: Path, bundle_id: str) -> list[tuple[int, dict[str, Any]]]:
    """The records of one bundle (``bundle_id`` may be a unique prefix)."""
    ids = {b.id for b in bundles(folder)}
    matches = [i for i in ids if i == bundle_id] or [i for i in ids if i.startswith(bundle_id)]
    if len(matches) != 1:
        what = "no" if not matches else f"{len(matches)}"
        raise UsageError(f"{what} evidence bundle matches {bundle_id!r}")
    return [(n, r) for n, r in iter_records(folder) if r.get("bundle") == matches[0]]
