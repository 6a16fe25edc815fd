"""Record-by-record checking of ledger lines (``Scanner``) and the segment fast path (``Segments``).

A signed checkpoint covers the *segment* before it: the exact bytes of every line since the
previous checkpoint (SHA-256 and line count are in the signed payload). ``Segments`` checks a
segment as a whole: one hash over its bytes, the signature, and the chain at its two edges; only
its non-event records (artifacts, bundle open/close) are parsed. A segment that fails, and the
unsigned tail, go through ``Scanner``, which checks each record on its raw bytes (hash recomputed
over the line with ``,"hash":"…"`` cut out; prev, seq and type compared in place) and parses the
ones that fail, to say exactly what is wrong and where.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from runner.evidence.canonical import FORMAT, HASH_MARK, HASH_SPAN, ZERO_HASH, signed_bytes

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MEMBERS = {"bundle", "hash", "payload", "prev", "seq", "time", "type"}
TYPES = {"ledger.genesis", "ledger.repaired", "bundle.opened", "event", "artifact", "bundle.closed", "checkpoint"}
_PREV_MARK = b',"prev":"'
_EVENT_END = b'"type":"event"}'
_HEX64 = re.compile(r"[0-9a-f]{64}")
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


@dataclass(frozen=True)
class Finding:
    severity: Literal["error", "warning"]
    kind: str
    message: str
    line: int = 0
    seq: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" (seq {self.seq})" if self.seq is not None else "") if self.line else ""
        return f"{where + ': ' if where else ''}{self.message}"


@dataclass
class Partial:
    """What the checks found; line numbers are 1-based lines of the ledger file."""

    findings: list[Finding] = field(default_factory=list)
    # (line, seq, type, bundle, artifact digest, artifact size) for records other than events
    specials: list[tuple[int, int, str, str, str, int]] = field(default_factory=list)
    # (line, seq, own hash, signature ok) for every checkpoint
    checkpoints: list[tuple[int, int, str, bool]] = field(default_factory=list)


class Scanner:
    """Checks lines one record at a time, carrying the chain (next seq, previous hash, line number)."""

    def __init__(self, public: Ed25519PublicKey, fp: str, strict: bool, part: Partial) -> None:
        self.public, self.fp, self.strict, self.part = public, fp, strict, part
        self.seq, self.prev, self.line = 0, ZERO_HASH.encode(), 0
        self.segment: tuple[str, int] | None = None  # (sha256, lines) of the bytes before the next checkpoint

    def run(self, lines: list[bytes]) -> None:
        if self.strict:
            self._canonical(lines)
        sha, mark, span, prev_mark, event_end = hashlib.sha256, HASH_MARK, HASH_SPAN, _PREV_MARK, _EVENT_END
        seq, prev, line = self.seq, self.prev, self.line
        for raw in lines:
            line += 1
            at, p = raw.find(mark), raw.rfind(prev_mark)
            claimed = raw[at + 9 : at + 73]
            if (
                at > 0
                and p > at
                and raw.endswith(event_end)
                and raw[p + 9 : p + 73] == prev
                and raw.startswith(b'","seq":%d,"' % seq, p + 73)
                and sha(raw[:at] + raw[at + span :]).hexdigest().encode() == claimed
            ):
                prev, seq = claimed, seq + 1
                continue
            self.seq, self.prev, self.line = seq, prev, line
            self._slow(raw)
            seq, prev = self.seq, self.prev
        self.seq, self.prev, self.line = seq, prev, line

    def error(self, kind: str, message: str, seq: int | None, line: int | None = None) -> None:
        self.part.findings.append(Finding("error", kind, message, self.line if line is None else line, seq))

    def _slow(self, raw: bytes) -> None:
        try:
            rec = json.loads(raw)
        except ValueError:
            self.error("json", "not a JSON record (damaged or inserted bytes)", None)
            self.seq += 1
            return
        if not isinstance(rec, dict) or set(rec) != MEMBERS or not isinstance(rec["seq"], int):
            self.error("layout", "not a ledger record (wrong members)", None)
            self.seq += 1
            return
        seq, claimed = rec["seq"], str(rec["hash"])
        at = raw.find(HASH_MARK)
        if at < 0 or hashlib.sha256(raw[:at] + raw[at + HASH_SPAN :]).hexdigest() != claimed:
            self.error("hash", "record content does not match its hash (record modified)", seq)
        if seq != self.seq:
            self.error("seq", f"seq {seq} where {self.seq} was expected (record deleted, inserted or moved)", seq)
        if str(rec["prev"]).encode() != self.prev:
            self.error("chain", "prev is not the hash of the record before (record deleted, inserted or moved)", seq)
        if rec["type"] != "event":
            self.special(rec, seq, self.line)
        self.seq, self.prev = seq + 1, claimed.encode()

    def special(self, rec: dict[str, Any], seq: int, line: int) -> None:
        """Check a non-event record's own content and remember it for bundle/artifact checks."""
        kind, bundle = str(rec["type"]), str(rec["bundle"])
        payload = rec["payload"] if isinstance(rec["payload"], dict) else {}
        digest, size = "", 0
        if kind not in TYPES:
            self.error("type", f"unknown record type {kind!r}", seq, line)
        elif kind == "checkpoint":
            self._checkpoint(rec, payload, seq, line)
            return
        elif kind in ("artifact", "ledger.repaired"):
            d, s = payload.get("sha256", payload.get("artifact")), payload.get("size")
            if not isinstance(d, str) or not _HEX64.fullmatch(d) or not isinstance(s, int):
                self.error("artifact", "artifact record without a valid sha256 and size", seq, line)
            else:
                digest, size = d, s
        elif kind == "ledger.genesis":
            if seq != 0 or payload.get("format") != FORMAT:
                self.error("genesis", "genesis record out of place or of an unknown format", seq, line)
            elif payload.get("key") != self.fp:
                self.error("key", f"ledger was started with key {payload.get('key')}, not the given key {self.fp}",
                           seq, line)  # fmt: skip
        self.part.specials.append((line, seq, kind, bundle, digest, size))

    def _checkpoint(self, rec: dict[str, Any], payload: dict[str, Any], seq: int, line: int) -> None:
        ok = self.signature_ok(rec, payload, seq, line)
        if ok and self.segment is not None and (payload.get("segment"), payload.get("records")) != self.segment:
            self.error("segment", "the records before this checkpoint are not the ones it signed", seq, line)
            ok = False
        self.part.checkpoints.append((line, seq, str(rec["hash"]), ok))

    def signature_ok(
        self, rec: dict[str, Any], payload: dict[str, Any], seq: int, line: int, report: bool = True
    ) -> bool:
        from cryptography.exceptions import InvalidSignature

        if payload.get("key") != self.fp:
            if not report:
                return False
            self.error("signature", f"checkpoint signed by key {payload.get('key')}, not the given key {self.fp}",
                       seq, line)  # fmt: skip
            return False
        try:
            self.public.verify(base64.b64decode(str(payload.get("sig", "")), validate=True), signed_bytes(rec))
            return True
        except (InvalidSignature, ValueError):
            if report:
                self.error("signature", "checkpoint signature does not verify (record or head modified)", seq, line)
            return False

    def _canonical(self, lines: list[bytes]) -> None:
        """Strict mode: every record must be exactly its canonical serialisation."""
        joined = b"[" + b",".join(lines) + b"]"
        try:
            if _encode(json.loads(joined)).encode("utf-8") == joined:
                return
        except ValueError:
            pass
        for n, raw in enumerate(lines, self.line + 1):
            try:
                same = _encode(json.loads(raw)).encode("utf-8") == raw
            except ValueError:
                continue  # reported as not JSON by the main pass
            if not same:
                self.part.findings.append(Finding("error", "canonical", "record is not in canonical form", n, None))
