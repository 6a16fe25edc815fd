"""Ledger format, durability, file modes, crash recovery and concurrent writers."""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
import threading
from pathlib import Path

from runner.evidence.canonical import canonical, strip_hash
from runner.evidence.keys import load_or_create
from runner.evidence.ledger import Entry, Ledger
from runner.evidence.recorder import LedgerRecorder, open_recorder

from .conftest import check, evidence_dir, fill, lines


def test_records_are_canonical_and_chained(estate: Path, recorder: LedgerRecorder) -> None:
    fill(recorder, bundles=1)
    prev = "0" * 64
    for seq, raw in enumerate(lines(estate)):
        rec = json.loads(raw)
        assert raw == canonical(rec) + b"\n"
        body = {k: v for k, v in rec.items() if k != "hash"}
        assert rec["hash"] == hashlib.sha256(canonical(body)).hexdigest()
        split = strip_hash(raw[:-1])
        assert split is not None and split[0] == canonical(body)
        assert rec["seq"] == seq and rec["prev"] == prev
        prev = rec["hash"]


def test_file_modes(estate: Path, recorder: LedgerRecorder) -> None:
    fill(recorder, bundles=1)
    state = estate / ".maintctl"
    dirs = [state, state / "keys", evidence_dir(estate)] + [p for p in evidence_dir(estate).rglob("*") if p.is_dir()]
    files = [p for p in state.rglob("*") if p.is_file()]
    assert len(files) >= 6
    for d in dirs:
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_checkpoint_every_n_and_at_close(estate: Path) -> None:
    rec = open_recorder(estate, {"checkpoint_every": 10})
    bid = rec.open_bundle(run_id="r", item_id="i", occurrence="o", asked={})
    for i in range(35):
        rec.record(bid, "e", {"i": i})
    types = [json.loads(x)["type"] for x in lines(estate)]
    assert types.count("checkpoint") == 3
    rec.close_bundle(bid, outcome="succeeded", summary={})
    types = [json.loads(x)["type"] for x in lines(estate)]
    assert types[-2:] == ["bundle.closed", "checkpoint"]
    anchor = json.loads((estate / ".maintctl" / "evidence.anchor.json").read_text())
    assert anchor["seq"] == len(types) - 1 and anchor["hash"] == json.loads(lines(estate)[-1])["hash"]


def test_torn_tail_verifies_up_to_last_record_then_is_repaired(estate: Path, recorder: LedgerRecorder) -> None:
    fill(recorder, bundles=1)
    good = len(lines(estate))
    with open(evidence_dir(estate) / "ledger.jsonl", "ab") as fh:
        fh.write(b'{"bundle":"x","hash":"abc')  # a crash in the middle of a write
    report = check(estate)
    assert [e.kind for e in report.errors] == ["truncated_tail"]
    assert report.records == good and f"verifies up to seq {good - 1}" in report.errors[0].message
    recorder.ledger.close()  # a new process appends next: it finds and sets aside the torn bytes
    rec2 = open_recorder(estate)
    bid = rec2.open_bundle(run_id="r2", item_id="i", occurrence="o", asked={})
    rec2.close_bundle(bid, outcome="succeeded", summary={})
    report = check(estate)
    assert report.ok, [str(e) for e in report.errors]
    assert any(w.kind == "repaired" for w in report.warnings)
    repaired = [json.loads(x) for x in lines(estate) if b"ledger.repaired" in x][0]
    torn = (evidence_dir(estate) / "artifacts" / repaired["payload"]["artifact"][:2]
            / repaired["payload"]["artifact"][2:]).read_bytes()  # fmt: skip
    assert torn == b'{"bundle":"x","hash":"abc'


def test_threads_share_one_writer_with_group_commit(estate: Path, recorder: LedgerRecorder) -> None:
    bid = recorder.open_bundle(run_id="r", item_id="i", occurrence="o", asked={})
    syncs = []
    import os

    real = os.fdatasync

    def counting(fd: int) -> None:
        syncs.append(fd)
        real(fd)

    os.fdatasync = counting  # type: ignore[assignment]
    try:
        threads = [threading.Thread(target=lambda h=h: [recorder.record(bid, "host.result", {"host": f"h{h}", "i": i})
                                                         for i in range(10)]) for h in range(40)]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        os.fdatasync = real  # type: ignore[assignment]
    recorder.close_bundle(bid, outcome="succeeded", summary={})
    assert sum(1 for x in lines(estate) if b'"type":"event"' in x) == 400
    assert len(syncs) < 400  # group commit: fewer syncs than appends
    assert check(estate).ok


WRITER = """
import sys
from pathlib import Path
from runner.evidence.recorder import open_recorder

root, n = Path(sys.argv[1]), int(sys.argv[2])
rec = open_recorder(root, {"checkpoint_every": 7})
bid = rec.open_bundle(run_id=f"r{n}", item_id=f"item{n}", occurrence="o", asked={})
for i in range(60):
    rec.record(bid, "host.result", {"host": f"h{i}", "writer": n})
    if i % 20 == 0:
        rec.artifact(bid, "log", f"writer {n} step {i}".encode())
rec.close_bundle(bid, outcome="succeeded", summary={})
"""


def test_concurrent_processes_keep_a_valid_chain(estate: Path) -> None:
    load_or_create(estate / ".maintctl" / "keys")
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(estate), str(n)]) for n in range(4)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    report = check(estate)
    assert report.ok, [str(e) for e in report.errors]
    events = [json.loads(x) for x in lines(estate) if b'"type":"event"' in x]
    assert len(events) == 240 and len({e["payload"]["data"]["writer"] for e in events}) == 4


def test_append_many_is_contiguous(estate: Path) -> None:
    signer = load_or_create(estate / ".maintctl" / "keys")
    ledger = Ledger(evidence_dir(estate), signer, checkpoint_every=1000)
    ledger.append("bundle.opened", "b", {})
    out = ledger.append_many([Entry("event", "b", {"i": i}) for i in range(5)], checkpoint=True)
    assert [a.seq for a in out] == [2, 3, 4, 5, 6, 7] and out[-1].type == "checkpoint"
