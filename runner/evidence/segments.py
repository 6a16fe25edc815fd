"""Walking the ledger segment by segment (see ``scan``): the fast path of verification.

A segment is accepted whole when its checkpoint (own hash, signature) signs exactly its bytes
(SHA-256 over them) and the chain joins at both edges. Its non-event records are then found
through the checkpoint's signed ``index`` and checked one by one; in an accepted segment a
record's line number is its seq + 1.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from runner.evidence.canonical import HASH_MARK, HASH_SPAN
from runner.evidence.scan import MEMBERS, Scanner

CHUNK = 16 << 20
CHECKPOINT_END = b'"type":"checkpoint"}\n'


def walk(path: Path, scanner: Scanner, *, full: bool) -> tuple[int, int]:
    """Check every line of the ledger; return (complete lines, bytes of an incomplete last line).

    Segment digests are computed on worker threads (hashlib releases the GIL) while this thread
    parses checkpoints and checks signatures, segment by segment in file order.
    """
    buf = b""
    with open(path, "rb", buffering=0) as fh, ThreadPoolExecutor(max_workers=2) as pool:
        while True:
            block = fh.read(CHUNK)
            buf = buf + block if buf else block
            spans, pos = [], 0
            while (cp := buf.find(CHECKPOINT_END, pos)) >= 0:
                end = cp + len(CHECKPOINT_END)
                spans.append((pos, buf.rfind(b"\n", pos, cp) + 1 or pos, end - 1))
                pos = end
            view = memoryview(buf)
            digests = [pool.submit(_digest, view[a:b]) for a, b, _c in spans]
            for (a, b, c), digest in zip(spans, digests, strict=True):
                if full or not _fast(buf, a, b, c, scanner, digest):
                    _slow(buf[a:b], buf[b:c], scanner)
            buf = buf[pos:]
            if not block:
                break
    cut = buf.rfind(b"\n") + 1
    scanner.segment = None
    if cut:
        scanner.run(buf[: cut - 1].split(b"\n"))
    return scanner.line, len(buf) - cut


def _digest(data: memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def _slow(seg: bytes, cp_line: bytes, scanner: Scanner) -> None:
    scanner.segment = (hashlib.sha256(seg).hexdigest(), seg.count(b"\n"))
    scanner.run([*seg[:-1].split(b"\n"), cp_line] if seg else [cp_line])
    scanner.segment = None


def _load(raw: bytes) -> dict[str, Any] | None:
    try:
        rec = json.loads(raw)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) and set(rec) == MEMBERS and isinstance(rec["seq"], int) else None


def _fast(buf: bytes, pos: int, start: int, end: int, scanner: Scanner, digest: Future[str]) -> bool:
    """Accept buf[pos:start] (the segment) if the checkpoint at buf[start:end] vouches for exactly it."""
    cp_line = buf[start:end]
    rec = _load(cp_line)
    if rec is None or rec["type"] != "checkpoint" or not isinstance(rec["payload"], dict):
        return False
    payload, at, count = rec["payload"], cp_line.find(HASH_MARK), rec["payload"].get("records")
    if at < 0 or hashlib.sha256(cp_line[:at] + cp_line[at + HASH_SPAN :]).hexdigest() != rec["hash"]:
        return False
    if not isinstance(count, int) or rec["seq"] != scanner.seq + count or (count == 0) != (start == pos):
        return False
    prev = str(rec["prev"]).encode()
    if count:
        first = _load(buf[pos : buf.find(b"\n", pos)])
        last = buf[buf.rfind(b"\n", pos, start - 1) + 1 or pos : start - 1]
        a = last.find(HASH_MARK)
        if first is None or first["seq"] != scanner.seq or str(first["prev"]).encode() != scanner.prev:
            return False
        if a < 0 or last[a + 9 : a + 73] != prev:
            return False
    elif prev != scanner.prev:
        return False
    if not scanner.signature_ok(rec, payload, rec["seq"], rec["seq"] + 1, report=False):
        return False
    if digest.result() != payload.get("segment"):
        return False
    if not _specials(buf, pos, start, payload.get("index"), scanner):
        return False
    scanner.part.checkpoints.append((rec["seq"] + 1, rec["seq"], str(rec["hash"]), True))
    scanner.line, scanner.seq, scanner.prev = rec["seq"] + 1, rec["seq"] + 1, str(rec["hash"]).encode()
    return True


def _specials(buf: bytes, pos: int, start: int, index: Any, scanner: Scanner) -> bool:
    """Check the non-event records the checkpoint lists as [offset, length] in its segment."""
    found: list[dict[str, Any]] = []
    for item in index if isinstance(index, list) else [None]:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, int) for x in item)):
            return False
        a, b = pos + item[0], pos + item[0] + item[1]
        if not (pos <= a < b < start and buf[b] == 10 and (a == pos or buf[a - 1] == 10)):
            return False
        rec = _load(buf[a:b])
        if rec is None or rec["type"] == "event":
            return False
        found.append(rec)
    for rec in found:
        scanner.special(rec, rec["seq"], rec["seq"] + 1)
    return True
