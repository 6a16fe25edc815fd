"""The EvidenceRecorder implementation: bundles, asked data, artifacts, interruption."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC
from pathlib import Path

import pytest

from runner.errors import EvidenceError
from runner.evidence.port import EvidenceRecorder
from runner.evidence.query import bundle_records, bundles
from runner.evidence.recorder import LedgerRecorder, open_recorder

from .conftest import check, evidence_dir, lines


def test_satisfies_the_port(recorder: LedgerRecorder) -> None:
    port: EvidenceRecorder = recorder
    assert callable(port.open_bundle)


def test_asked_gets_who_and_git_commit(estate: Path) -> None:
    subprocess.run(["git", "init", "-q", str(estate)], check=True)
    (estate / "maintenance" / "items.yml").write_text("items: []\n")
    subprocess.run(["git", "-C", str(estate), "add", "."], check=True)
    subprocess.run(["git", "-C", str(estate), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"],
                   check=True)  # fmt: skip
    head = subprocess.run(["git", "-C", str(estate), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    rec = open_recorder(estate)
    asked = {"item": {"id": "patch-web", "kind": "patch"}, "catalogue": [{"path": "maintenance/items.yml",
             "sha256": "ab" * 32}], "plan": {"hosts": ["web1"]}, "reason": "monthly"}  # fmt: skip
    bid = rec.open_bundle(run_id="r1", item_id="patch-web", occurrence="2026-11-28T22:00:00Z", asked=asked)
    opened = json.loads(lines(estate)[1])
    assert opened["type"] == "bundle.opened" and opened["bundle"] == bid
    got = opened["payload"]["asked"]
    assert got["git"] == {"commit": head.strip(), "dirty": False}
    assert "@" in got["started_by"] and got["reason"] == "monthly" and got["catalogue"] == asked["catalogue"]
    assert opened["payload"]["occurrence"] == "2026-11-28T22:00:00Z"


def test_outside_git_commit_is_null(estate: Path, recorder: LedgerRecorder) -> None:
    recorder.open_bundle(run_id="r", item_id="i", occurrence="o", asked={"started_by": "ci@runner"})
    asked = json.loads(lines(estate)[1])["payload"]["asked"]
    assert asked["git"] is None and asked["started_by"] == "ci@runner"


def test_artifacts_dedupe_and_link(estate: Path, recorder: LedgerRecorder) -> None:
    bid = recorder.open_bundle(run_id="r", item_id="i", occurrence="o", asked={})
    d1 = recorder.artifact(bid, "diff-web1", b"--- a\n+++ b\n", "text/x-diff")
    d2 = recorder.artifact(bid, "diff-web2", b"--- a\n+++ b\n", "text/x-diff")
    assert d1 == d2
    files = [p for p in (evidence_dir(estate) / "artifacts").rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].read_bytes() == b"--- a\n+++ b\n"
    recorder.close_bundle(bid, outcome="succeeded", summary={})
    arts = bundles(evidence_dir(estate))[0].artifacts
    assert [a["name"] for a in arts] == ["diff-web1", "diff-web2"] and arts[0]["media_type"] == "text/x-diff"


def test_closed_bundle_refuses_more(estate: Path, recorder: LedgerRecorder) -> None:
    bid = recorder.open_bundle(run_id="r", item_id="i", occurrence="o", asked={})
    recorder.close_bundle(bid, outcome="succeeded", summary={"change_id": "CHG0000001", "approver": "bob"})
    with pytest.raises(EvidenceError, match="closed"):
        recorder.record(bid, "late", {})
    with pytest.raises(EvidenceError, match="unknown"):
        recorder.record("nope", "x", {})
    b = bundles(evidence_dir(estate))[0]
    assert (b.outcome, b.change_id, b.approver) == ("succeeded", "CHG0000001", "bob")


def test_mark_interrupted_from_another_process(estate: Path, recorder: LedgerRecorder) -> None:
    bid = recorder.open_bundle(run_id="r", item_id="i", occurrence="o", asked={})
    recorder.record(bid, "batch.started", {"hosts": ["a", "b"]})
    other = open_recorder(estate)  # the runner that died is gone; a new one cleans up
    assert other.open_bundles() == [bid]
    other.mark_interrupted(bid, "runner lost its lease")
    other.mark_interrupted(bid, "twice is harmless")
    assert other.open_bundles() == []
    recs = [r for _n, r in bundle_records(evidence_dir(estate), bid)]
    assert recs[-1]["type"] == "bundle.closed" and recs[-1]["payload"]["outcome"] == "interrupted"
    assert json.loads(lines(estate)[-1])["type"] == "checkpoint"
    assert check(estate).ok
    with pytest.raises(EvidenceError):
        other.mark_interrupted("missing", "x")


def test_record_many_and_rich_values(estate: Path, recorder: LedgerRecorder) -> None:
    from datetime import datetime, timedelta

    bid = recorder.open_bundle(run_id="r", item_id="i", occurrence="o", asked={})
    when = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
    recorder.record_many(
        bid,
        [
            (
                "host.result",
                {"host": f"h{i}", "at": when, "took": timedelta(seconds=3), "tags": {"b", "a"}, "path": Path("/x")},
            )
            for i in range(200)
        ],
    )
    assert json.loads(lines(estate)[-1])["type"] == "checkpoint"  # 200 records crossed checkpoint_every
    last = json.loads([x for x in lines(estate) if b'"type":"event"' in x][-1])["payload"]["data"]
    assert last == {"host": "h199", "at": "2026-11-28T22:00:00+00:00", "took": 3.0, "tags": ["a", "b"], "path": "/x"}
    assert bundles(evidence_dir(estate))[0].hosts >= {"h0", "h199"}
