"""Fixtures: a throw-away estate with a recorder, and helpers to read and damage its ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner import redact
from runner.evidence.keys import load_or_create
from runner.evidence.recorder import LedgerRecorder, open_recorder
from runner.evidence.verify import Report, verify


@pytest.fixture(autouse=True)
def _clean_redaction(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("MAINTCTL_STATE_DIR", raising=False)
    redact.reset_for_tests()
    yield
    redact.reset_for_tests()


@pytest.fixture()
def estate(tmp_path: Path) -> Path:
    root = tmp_path / "estate"
    (root / "maintenance").mkdir(parents=True)
    return root


@pytest.fixture()
def recorder(estate: Path) -> Iterator[LedgerRecorder]:
    rec = open_recorder(estate, {"checkpoint_every": 25})
    yield rec
    rec.ledger.close()


def evidence_dir(estate: Path) -> Path:
    return estate / ".maintctl" / "evidence"


def public_key(estate: Path) -> Any:
    return load_or_create(estate / ".maintctl" / "keys").public


def check(estate: Path, *, anchor: bool = True, key: Any = None, full: bool = False) -> Report:
    import json

    anchor_doc = None
    path = estate / ".maintctl" / "evidence.anchor.json"
    if anchor and path.exists():
        anchor_doc = json.loads(path.read_text())
    return verify(evidence_dir(estate), key or public_key(estate), anchor=anchor_doc, full=full)


def fill(rec: LedgerRecorder, bundles: int = 2, events: int = 30, artifacts: int = 2) -> list[str]:
    """Record a few complete bundles; the ledger ends with a checkpoint."""
    ids = []
    for b in range(bundles):
        bid = rec.open_bundle(run_id=f"run-{b}", item_id=f"patch-{b}", occurrence="2026-11-24T22:00:00Z",
                              asked={"plan": {"hosts": ["web1", "web2"]}, "reason": "monthly patching"})  # fmt: skip
        for i in range(events):
            rec.record(bid, "host.result", {"host": f"web{i % 2 + 1}", "status": "ok", "n": i, "took": 1.5})
        for a in range(artifacts):
            rec.artifact(bid, f"log-{a}.txt", f"bundle {b} artifact {a}\n".encode() * 50)
        rec.close_bundle(bid, outcome="succeeded", summary={"change_id": f"CHG{b}", "approver": "alice"})
        ids.append(bid)
    return ids


def lines(estate: Path) -> list[bytes]:
    return (evidence_dir(estate) / "ledger.jsonl").read_bytes().splitlines(keepends=True)


def write_lines(estate: Path, new: list[bytes]) -> None:
    (evidence_dir(estate) / "ledger.jsonl").write_bytes(b"".join(new))
