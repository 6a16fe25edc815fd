"""Offline verification of an evidence folder: chain, canonical form, signatures, artifacts.

Needs nothing but the folder and the public key. Records are checked from their raw bytes: the
hash is recomputed over the line with its ``hash`` member cut out, and canonical form is checked a
chunk of lines at a time (one ``json.loads`` and one ``json.dumps`` per chunk), so the cost stays
close to hashing the bytes. Artifacts are hashed on worker threads meanwhile (hashlib releases the GIL).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from runner.evidence import artifacts
from runner.evidence.canonical import FORMAT, HASH_MARK, HASH_SPAN, ZERO_HASH, signed_bytes
from runner.evidence.ledger import LEDGER_FILE

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

CHUNK = 8 << 20
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
class Report:
    """What verification found; ``ok`` when there is no error (warnings allowed)."""

    folder: str
    key: str
    records: int = 0
    last_seq: int = -1
    last_hash: str = ZERO_HASH
    checkpoints: int = 0
    signed_seq: int = -1
    signed_hash: str = ""
    uncovered: int = 0
    artifacts: int = 0
    bytes: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return sorted((f for f in self.findings if f.severity == "error"), key=lambda f: f.line or 1 << 62)

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def first_broken(self) -> Finding | None:
        errs = self.errors
        return errs[0] if errs else None

    def as_dict(self) -> dict[str, Any]:
        first = self.first_broken
        return {
            "ok": self.ok, "folder": self.folder, "key": self.key, "records": self.records,
            "last_seq": self.last_seq, "last_hash": self.last_hash, "checkpoints": self.checkpoints,
            "signed_seq": self.signed_seq, "signed_hash": self.signed_hash, "uncovered": self.uncovered,
            "artifacts": self.artifacts, "bytes": self.bytes,
            "first_broken": None if first is None else {"line": first.line, "seq": first.seq, "kind": first.kind,
                                                        "message": first.message},
            "errors": [vars(f) for f in self.errors], "warnings": [vars(f) for f in self.warnings],
        }  # fmt: skip


class _Chain:
    """State carried from record to record."""

    def __init__(self, public: Ed25519PublicKey, fp: str, report: Report) -> None:
        self.public, self.fp, self.report = public, fp, report
        self.seq, self.prev, self.line = 0, ZERO_HASH, 0
        self.refs: dict[str, tuple[int, int, int]] = {}  # digest -> (size, line, seq) of first reference
        self.bundles: dict[str, bool] = {}  # id -> closed

    def error(self, kind: str, message: str, seq: int | None) -> None:
        self.report.findings.append(Finding("error", kind, message, self.line, seq))

    def check(self, raw: bytes, rec: Any) -> None:
        """Check one record (``raw`` is its line without newline, ``rec`` the parsed value)."""
        if not isinstance(rec, dict) or set(rec) != {"bundle", "hash", "payload", "prev", "seq", "time", "type"}:
            self.error("layout", "not a ledger record (wrong members)", None)
            self.seq += 1
            return
        seq, claimed = rec["seq"], rec["hash"]
        at = raw.find(HASH_MARK)
        if at < 0 or hashlib.sha256(raw[:at] + raw[at + HASH_SPAN :]).hexdigest() != claimed:
            self.error("hash", "record content does not match its hash (record modified)", seq)
        if seq != self.seq:
            self.error("seq", f"seq {seq} where {self.seq} was expected (record deleted, inserted or moved)", seq)
        if rec["prev"] != self.prev:
            self.error("chain", "prev is not the hash of the record before (record deleted, inserted or moved)", seq)
        kind = rec["type"]
        if kind != "event":
            self._special(kind, rec, seq)
        elif rec["bundle"] not in self.bundles:
            self.error("bundle", f"event for bundle {rec['bundle']!r} that was never opened", seq)
        self.seq = seq + 1 if isinstance(seq, int) else self.seq + 1
        self.prev = claimed
        self.report.records += 1
        self.report.last_seq, self.report.last_hash = seq, claimed

    def _special(self, kind: str, rec: dict[str, Any], seq: int) -> None:
        payload = rec["payload"] if isinstance(rec["payload"], dict) else {}
        if kind == "checkpoint":
            self._checkpoint(rec, payload, seq)
        elif kind in ("artifact", "ledger.repaired"):
            digest, size = payload.get("artifact", payload.get("sha256")), payload.get("size")
            if not isinstance(digest, str) or not _HEX64.fullmatch(digest) or not isinstance(size, int):
                self.error("artifact", "artifact record without a valid sha256 and size", seq)
            else:
                self.refs.setdefault(digest, (size, self.line, seq))
            if kind == "ledger.repaired":
                note = f"an incomplete record left by an interrupted write was moved to artifact {digest}"
                self.report.findings.append(Finding("warning", "repaired", note, self.line, seq))
        elif kind == "bundle.opened":
            if rec["bundle"] in self.bundles or not rec["bundle"]:
                self.error("bundle", f"bundle {rec['bundle']!r} opened twice or without an id", seq)
            self.bundles[rec["bundle"]] = False
        elif kind == "bundle.closed":
            if self.bundles.get(rec["bundle"]) is not False:
                self.error("bundle", f"bundle {rec['bundle']!r} closed twice or never opened", seq)
            self.bundles[rec["bundle"]] = True
        elif kind == "ledger.genesis":
            if seq != 0 or payload.get("format") != FORMAT:
                self.error("genesis", "genesis record out of place or of an unknown format", seq)
            elif payload.get("key") != self.fp:
                self.error("key", f"ledger was started with key {payload.get('key')}, not the given key {self.fp}", seq)
        elif kind != "checkpoint":
            self.error("type", f"unknown record type {kind!r}", seq)
        if kind in ("artifact", "bundle.closed") and not rec["bundle"]:
            self.error("bundle", f"{kind} record without a bundle", seq)

    def _checkpoint(self, rec: dict[str, Any], payload: dict[str, Any], seq: int) -> None:
        from cryptography.exceptions import InvalidSignature

        self.report.checkpoints += 1
        if payload.get("key") != self.fp:
            self.error("signature", f"checkpoint signed by key {payload.get('key')}, not the given key {self.fp}", seq)
            return
        try:
            self.public.verify(base64.b64decode(str(payload.get("sig", "")), validate=True), signed_bytes(rec))
        except (InvalidSignature, ValueError):
            self.error("signature", "checkpoint signature does not verify (record or head modified)", seq)
            return
        self.report.signed_seq, self.report.signed_hash = seq, rec["hash"]


def _lines(path: Path) -> Iterator[tuple[list[bytes], bytes]]:
    """Yield chunks of complete lines (without newlines); the final yield carries the torn tail."""
    rest = b""
    with open(path, "rb", buffering=0) as fh:
        while True:
            block = fh.read(CHUNK)
            if not block:
                break
            data = rest + block
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            rest = data[cut + 1 :]
            yield data[:cut].split(b"\n"), b""
    yield [], rest


def _check_chunk(chain: _Chain, lines: list[bytes]) -> None:
    joined = b",".join(lines)
    try:
        recs = json.loads(b"[" + joined + b"]")
        fast = _encode(recs).encode("utf-8") == b"[" + joined + b"]"
    except ValueError:
        fast = False
    if fast:
        for raw, rec in zip(lines, recs, strict=True):
            chain.line += 1
            chain.check(raw, rec)
        return
    for raw in lines:  # something is off in this chunk: find it line by line
        chain.line += 1
        try:
            rec = json.loads(raw)
        except ValueError:
            chain.error("json", "not a JSON record (damaged or inserted bytes)", None)
            chain.seq += 1
            continue
        if _encode(rec).encode("utf-8") != raw:
            chain.error("canonical", "record is not in canonical form (re-serialised or edited)", None)
        chain.check(raw, rec)


def _hash_file(path: Path) -> str:
    with open(path, "rb", buffering=0) as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def verify(folder: Path, public: Ed25519PublicKey, *, anchor: Mapping[str, Any] | None = None) -> Report:
    """Verify the evidence folder against ``public``; ``anchor`` ({seq, hash}) guards against truncation."""
    from runner.evidence.keys import fingerprint

    fp = fingerprint(public)
    report = Report(folder=str(folder), key=fp)
    path = folder / LEDGER_FILE
    if not path.is_file():
        report.findings.append(Finding("error", "missing", f"{path}: no ledger file"))
        return report
    chain = _Chain(public, fp, report)
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        hashes: dict[str, tuple[Path, Future[str]]] = {}
        for name, apath in artifacts.iter_files(folder):
            if apath.name.startswith(".tmp-"):
                report.findings.append(
                    Finding("warning", "temp", f"{apath}: leftover temporary file (interrupted write)")
                )
            elif not _HEX64.fullmatch(name):
                report.findings.append(Finding("error", "artifact", f"{apath}: unexpected file in the artifact store"))
            else:
                hashes[name] = (apath, pool.submit(_hash_file, apath))
        torn = b""
        for lines, tail in _lines(path):
            if lines:
                _check_chunk(chain, lines)
                report.bytes += sum(len(x) + 1 for x in lines)
            torn = tail or torn
        _finish_chain(chain, torn, anchor)
        _finish_artifacts(chain, hashes)
    return report


def _finish_chain(chain: _Chain, torn: bytes, anchor: Mapping[str, Any] | None) -> None:
    report = chain.report
    if torn:
        report.bytes += len(torn)
        report.findings.append(Finding(
            "error", "truncated_tail",
            f"the ledger verifies up to seq {report.last_seq} (line {chain.line}); line {chain.line + 1} is an "
            f"incomplete record of {len(torn)} bytes (an interrupted write, or the file was cut)",
            chain.line + 1, None,
        ))  # fmt: skip
    if report.records == 0:
        report.findings.append(Finding("error", "empty", "the ledger holds no complete record"))
    if report.signed_seq < report.last_seq:
        report.uncovered = report.last_seq - report.signed_seq
        report.findings.append(Finding(
            "warning", "unsigned_tail",
            f"{report.uncovered} record(s) after the last checkpoint (seq {report.signed_seq + 1}.."
            f"{report.last_seq}) are not covered by a signature yet",
        ))  # fmt: skip
    if anchor is not None:
        _check_anchor(chain, anchor)


def _check_anchor(chain: _Chain, anchor: Mapping[str, Any]) -> None:
    report = chain.report
    seq, want = anchor.get("seq"), anchor.get("hash")
    if not isinstance(seq, int) or seq > report.last_seq:
        report.findings.append(Finding("error", "anchor", f"the ledger ends at seq {report.last_seq} but the anchor "
                                       f"records a checkpoint at seq {seq}: records were cut off the end",
                                       chain.line + 1, seq))  # fmt: skip
        return
    found = _hash_at(Path(report.folder) / LEDGER_FILE, seq)
    if found != want:
        report.findings.append(Finding("error", "anchor", f"record seq {seq} has hash {found}, the anchor says {want}: "
                                       "the ledger was rewritten", seq + 1, seq))  # fmt: skip


def _hash_at(path: Path, seq: int) -> str | None:
    with open(path, "rb") as fh:
        for i, raw in enumerate(fh):
            if i == seq:
                try:
                    return str(json.loads(raw)["hash"])
                except (ValueError, KeyError, TypeError):
                    return None
    return None


def _finish_artifacts(chain: _Chain, hashes: Mapping[str, tuple[Path, Future[str]]]) -> None:
    report = chain.report
    for name, (apath, fut) in hashes.items():
        report.artifacts += 1
        report.bytes += apath.stat().st_size
        ref = chain.refs.get(name)
        line, seq = (ref[1], ref[2]) if ref else (0, None)
        if fut.result() != name:
            report.findings.append(Finding("error", "artifact", f"artifact {name}: content does not match its name "
                                           "(artifact modified)", line, seq))  # fmt: skip
        elif ref is not None and apath.stat().st_size != ref[0]:
            report.findings.append(
                Finding("error", "artifact", f"artifact {name}: size differs from its record", line, seq)
            )
        elif ref is None:
            report.findings.append(Finding("warning", "orphan", f"artifact {name} is not referenced by any record "
                                           "(an interrupted write, or its record was removed)"))  # fmt: skip
    for name, (_size, line, seq) in chain.refs.items():
        if name not in hashes:
            report.findings.append(
                Finding("error", "artifact", f"artifact {name} referenced here is missing", line, seq)
            )
