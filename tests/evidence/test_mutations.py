"""Every kind of tampering is detected, and the first broken record is named (line and seq)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from runner.evidence.artifacts import artifact_path, iter_files
from runner.evidence.canonical import record_line
from runner.evidence.recorder import LedgerRecorder

from .conftest import check, evidence_dir, fill, lines, write_lines


@pytest.fixture()
def filled(estate: Path, recorder: LedgerRecorder) -> Path:
    fill(recorder)
    assert check(estate).ok
    return estate


def _first(estate: Path, **kw: object) -> tuple[int, int | None, str]:
    report = check(estate, **kw)  # type: ignore[arg-type]
    assert not report.ok, "tampering went undetected"
    first = report.first_broken
    assert first is not None
    # The segment fast path and the record-by-record walk must name the same first broken record.
    full = check(estate, full=True, **kw)  # type: ignore[arg-type]
    assert full.first_broken is not None
    assert (full.first_broken.line, full.first_broken.seq, full.first_broken.kind) == (
        first.line,
        first.seq,
        first.kind,
    )
    return first.line, first.seq, first.kind


def _event_line(estate: Path, nth: int = 10) -> int:
    """1-based line number of the nth event record."""
    found = [i for i, raw in enumerate(lines(estate), 1) if b'"type":"event"' in raw]
    return found[nth]


def test_clean_ledger_verifies(filled: Path) -> None:
    report = check(filled)
    assert report.ok and not report.warnings
    assert report.records == len(lines(filled))
    assert report.checkpoints >= 3 and report.signed_seq == report.last_seq
    assert report.artifacts == 4


def test_modified_record_keeping_its_hash(filled: Path) -> None:
    ls = lines(filled)
    n = _event_line(filled)
    ls[n - 1] = ls[n - 1].replace(b'"status":"ok"', b'"status":"no"')
    write_lines(filled, ls)
    assert _first(filled) == (n, n - 1, "hash")


def test_modified_record_with_recomputed_hash(filled: Path) -> None:
    ls = lines(filled)
    n = _event_line(filled)
    rec = json.loads(ls[n - 1])
    rec["payload"]["data"]["status"] = "failed"
    line, _digest = record_line(**{k: rec[k] for k in ("seq", "time", "type", "bundle", "payload", "prev")})
    ls[n - 1] = line + b"\n"
    write_lines(filled, ls)
    # The forged record is self-consistent; the next record's prev no longer matches it.
    assert _first(filled) == (n + 1, n, "chain")


def test_deleted_record(filled: Path) -> None:
    ls = lines(filled)
    n = _event_line(filled)
    del ls[n - 1]
    write_lines(filled, ls)
    assert _first(filled)[:2] == (n, n)


def test_reordered_records(filled: Path) -> None:
    ls = lines(filled)
    n = _event_line(filled)
    ls[n - 1], ls[n] = ls[n], ls[n - 1]
    write_lines(filled, ls)
    assert _first(filled)[:2] == (n, n)


def test_inserted_record(filled: Path) -> None:
    ls = lines(filled)
    n = _event_line(filled)
    ls.insert(n, ls[n - 1])  # a replayed copy of a genuine record
    write_lines(filled, ls)
    assert _first(filled)[:2] == (n + 1, n - 1)


def test_inserted_forged_record(filled: Path) -> None:
    ls = lines(filled)
    n = _event_line(filled)
    prev = json.loads(ls[n - 2])
    forged, _ = record_line(seq=prev["seq"] + 1, time=prev["time"], type="event", bundle=prev["bundle"],
                            payload={"event": "host.result", "data": {"host": "web9"}}, prev=prev["hash"])  # fmt: skip
    ls.insert(n - 1, forged + b"\n")
    write_lines(filled, ls)
    assert _first(filled)[:2] == (n + 1, n - 1)  # the genuine record after it no longer chains


def test_truncated_record_in_the_middle(filled: Path) -> None:
    ls = lines(filled)
    n = _event_line(filled)
    ls[n - 1] = ls[n - 1][:40] + b"\n"
    write_lines(filled, ls)
    assert _first(filled) == (n, None, "json")


def test_torn_last_record_is_reported_as_truncated_tail(filled: Path) -> None:
    ls = lines(filled)
    ls[-1] = ls[-1][:-30]
    write_lines(filled, ls)
    report = check(filled, anchor=False)
    first = report.first_broken
    assert first is not None and first.kind == "truncated_tail" and first.line == len(ls)
    assert f"verifies up to seq {len(ls) - 2}" in first.message
    assert [e.kind for e in report.errors] == ["truncated_tail"]


def test_truncated_whole_records_caught_by_anchor(filled: Path) -> None:
    ls = lines(filled)
    cut = max(i for i, raw in enumerate(ls[:-1]) if b'"type":"checkpoint"' in raw) + 1
    write_lines(filled, ls[:cut])  # back to an earlier checkpoint: the chain alone cannot tell
    assert check(filled, anchor=False).ok
    line, _seq, kind = _first(filled)
    assert kind == "anchor" and line == cut + 1


def test_uncovered_tail_is_reported(estate: Path, recorder: LedgerRecorder) -> None:
    fill(recorder, bundles=1)
    bid = recorder.open_bundle(run_id="r", item_id="x", occurrence="o", asked={})
    recorder.record(bid, "batch.started", {"hosts": ["a"]})
    report = check(estate)
    assert report.ok and report.uncovered == 2
    assert any(w.kind == "unsigned_tail" for w in report.warnings)


def test_modified_artifact(filled: Path) -> None:
    name, path = next(iter_files(evidence_dir(filled)))
    path.write_bytes(path.read_bytes().replace(b"artifact", b"artefact"))
    line, seq, kind = _first(filled)
    assert kind == "artifact"
    assert f'"sha256":"{name}"'.encode() in lines(filled)[line - 1] and seq == line - 1


def test_deleted_artifact(filled: Path) -> None:
    name, path = next(iter_files(evidence_dir(filled)))
    path.unlink()
    line, _seq, kind = _first(filled)
    assert kind == "artifact" and f'"sha256":"{name}"'.encode() in lines(filled)[line - 1]


def test_bad_signature(filled: Path) -> None:
    ls = lines(filled)
    n = next(i for i, raw in enumerate(ls, 1) if b'"type":"checkpoint"' in raw)
    rec = json.loads(ls[n - 1])
    sig = rec["payload"]["sig"]
    rec["payload"]["sig"] = ("A" if sig[0] != "A" else "B") + sig[1:]
    line, _ = record_line(**{k: rec[k] for k in ("seq", "time", "type", "bundle", "payload", "prev")})
    ls[n - 1] = line + b"\n"
    write_lines(filled, ls)
    assert _first(filled)[0] in (n, n + 1)
    assert any(e.kind == "signature" and e.line == n for e in check(filled).errors)


def test_wrong_public_key(filled: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519PrivateKey.generate().public_key()
    assert _first(filled, key=other) == (1, 0, "key")
    assert any(e.kind == "signature" for e in check(filled, key=other).errors)


def test_resigned_with_another_key_is_rejected(filled: Path) -> None:
    """An attacker rebuilding the whole ledger with their own key fails against the real public key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from runner.evidence.keys import Signer
    from runner.evidence.ledger import Entry, Ledger

    fake_dir = filled / "forged"
    ledger = Ledger(fake_dir, Signer(Ed25519PrivateKey.generate()))
    ledger.append_many([Entry("bundle.opened", "b1", {"run_id": "r"})], checkpoint=True)
    from runner.evidence.verify import verify

    from .conftest import public_key

    report = verify(fake_dir, public_key(filled))
    assert not report.ok and report.first_broken is not None and report.first_broken.line == 1


MUTATIONS = ("flip", "delete", "swap", "duplicate", "truncate", "artifact_flip", "artifact_delete", "insert_blank")


def _mutate(estate: Path, rng: random.Random, how: str) -> None:
    folder = evidence_dir(estate)
    ledger = folder / "ledger.jsonl"
    data = bytearray(ledger.read_bytes())
    ls = lines(estate)
    i = rng.randrange(len(ls))
    if how == "flip":
        pos = rng.randrange(len(data))
        data[pos] ^= rng.randrange(1, 256)
        ledger.write_bytes(bytes(data))
    elif how == "delete":
        del ls[i]
        write_lines(estate, ls)
    elif how == "swap":
        j = rng.choice([k for k in range(len(ls)) if k != i])
        ls[i], ls[j] = ls[j], ls[i]
        write_lines(estate, ls)
    elif how == "duplicate":
        ls.insert(rng.randrange(len(ls) + 1), ls[i])
        write_lines(estate, ls)
    elif how == "insert_blank":
        ls.insert(rng.randrange(len(ls)), b"\n")
        write_lines(estate, ls)
    elif how == "truncate":
        ledger.write_bytes(bytes(data[: rng.randrange(len(data))]))
    else:
        files = [p for _n, p in iter_files(folder)]
        target = rng.choice(files)
        if how == "artifact_delete":
            target.unlink()
        else:
            content = bytearray(target.read_bytes())
            content[rng.randrange(len(content))] ^= rng.randrange(1, 256)
            target.write_bytes(bytes(content))


def test_randomised_mutations_are_all_detected(tmp_path: Path) -> None:
    import shutil

    from runner.evidence.recorder import open_recorder

    base = tmp_path / "base"
    (base / "maintenance").mkdir(parents=True)
    rec = open_recorder(base, {"checkpoint_every": 10})
    fill(rec, bundles=2, events=12, artifacts=2)
    rec.ledger.close()
    assert check(base).ok
    rng = random.Random(20261124)  # noqa: S311 - reproducible mutations, not cryptography
    for round_ in range(160):
        work = tmp_path / f"m{round_}"
        shutil.copytree(base, work)
        how = MUTATIONS[round_ % len(MUTATIONS)]
        _mutate(work, rng, how)
        report = check(work)
        assert not report.ok, f"round {round_}: {how} went undetected"
        assert report.first_broken is not None
        assert not check(work, full=True).ok, f"round {round_}: {how} went undetected by the full walk"
        shutil.rmtree(work)


def test_artifact_path_layout(filled: Path) -> None:
    for name, path in iter_files(evidence_dir(filled)):
        assert path == artifact_path(evidence_dir(filled), name)
        assert path.parent.name == name[:2] and path.name == name[2:]


def test_signed_segments_take_the_fast_path(filled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean ledger ending in a checkpoint is accepted segment by segment, no record-by-record walk."""
    from runner.evidence import scan

    walked: list[int] = []
    real = scan.Scanner.run

    def counting(self: scan.Scanner, lines: list[bytes]) -> None:
        walked.append(len(lines))
        real(self, lines)

    monkeypatch.setattr(scan.Scanner, "run", counting)
    report = check(filled)
    assert report.ok and walked == []
    assert report.checkpoints == sum(1 for raw in lines(filled) if b'"type":"checkpoint"' in raw)
    ls = lines(filled)
    n = _event_line(filled)
    ls[n - 1] = ls[n - 1].replace(b'"status":"ok"', b'"status":"no"')
    write_lines(filled, ls)
    assert not check(filled).ok and walked  # the damaged segment was walked record by record
