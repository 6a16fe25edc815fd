"""Offline verification of an evidence folder: chain, signatures, artifacts.

Needs nothing but the folder and the public key. The ledger is walked segment by segment
(``segments``): a segment whose signed checkpoint vouches for its exact bytes is accepted with
one hash; anything else, and the unsigned tail, is checked record by record (``scan``), which
names the first broken record. Artifacts are hashed on threads meanwhile (hashlib releases the
GIL). Bundle structure (opened once, closed once) and artifact references are checked here from
the few non-event records.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.evidence import artifacts
from runner.evidence.canonical import ZERO_HASH
from runner.evidence.ledger import LEDGER_FILE
from runner.evidence.scan import Finding, Partial, Scanner
from runner.evidence.segments import walk

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["Finding", "Report", "verify"]

_HEX64 = re.compile(r"[0-9a-f]{64}")


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
        d = {k: v for k, v in vars(self).items() if k != "findings"}
        first = self.first_broken
        d["ok"] = self.ok
        d["first_broken"] = None if first is None else dataclasses.asdict(first)
        d["errors"] = [dataclasses.asdict(f) for f in self.errors]
        d["warnings"] = [dataclasses.asdict(f) for f in self.warnings]
        return d


def verify(
    folder: Path,
    public: Ed25519PublicKey,
    *,
    anchor: Mapping[str, Any] | None = None,
    full: bool = False,
) -> Report:
    """Verify the evidence folder against ``public``.

    ``anchor`` ({seq, hash}, kept outside the folder) guards against records cut off the end.
    ``full`` checks every record one by one (chain, hash, canonical form) even where a signed
    segment digest already vouches for the bytes; slower, it is for auditing the writer itself.
    """
    from cryptography.hazmat.primitives import serialization

    raw_key = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    report = Report(folder=str(folder), key=hashlib.sha256(raw_key).hexdigest())
    path = folder / LEDGER_FILE
    if not path.is_file():
        report.findings.append(Finding("error", "missing", f"{path}: no ledger file"))
        return report
    part = Partial()
    scanner = Scanner(public, report.key, full, part)
    with ThreadPoolExecutor(max_workers=1) as thread:
        hashing = thread.submit(_hash_artifacts, folder)
        lines, torn = walk(path, scanner, full=full)
        report.findings += part.findings
        report.records, report.last_seq, report.last_hash = lines, scanner.seq - 1, scanner.prev.decode()
        report.bytes = path.stat().st_size
        refs = _bundles(report, part)
        _finish_chain(report, part, lines, torn, anchor)
        hashed, notes = hashing.result()
        report.findings += notes
        _finish_artifacts(report, refs, hashed)
    return report


def _error(report: Report, kind: str, message: str, line: int = 0, seq: int | None = None) -> None:
    report.findings.append(Finding("error", kind, message, line, seq))


def _bundles(report: Report, part: Partial) -> dict[str, tuple[int, int, int]]:
    """Check bundle open/close order and collect artifact references: digest -> (size, line, seq)."""
    refs: dict[str, tuple[int, int, int]] = {}
    state: dict[str, bool] = {}
    for line, seq, kind, bundle, digest, size in part.specials:
        if kind == "bundle.opened":
            if bundle in state or not bundle:
                _error(report, "bundle", f"bundle {bundle!r} opened twice or without an id", line, seq)
            state[bundle] = False
        elif kind in ("bundle.closed", "artifact") and state.get(bundle) is not False:
            what = "closed twice or never opened" if kind == "bundle.closed" else "is not open"
            _error(report, "bundle", f"{kind}: bundle {bundle!r} {what}", line, seq)
        if kind == "bundle.closed":
            state[bundle] = True
        if digest:
            refs.setdefault(digest, (size, line, seq))
        if kind == "ledger.repaired":
            note = f"an incomplete record left by an interrupted write was moved to artifact {digest}"
            report.findings.append(Finding("warning", "repaired", note, line, seq))
    for _line, seq, digest, ok in part.checkpoints:
        report.checkpoints += 1
        if ok:
            report.signed_seq, report.signed_hash = seq, digest
    return refs


def _finish_chain(report: Report, part: Partial, lines: int, torn: int, anchor: Mapping[str, Any] | None) -> None:
    if torn:
        _error(report, "truncated_tail", f"the ledger verifies up to seq {report.last_seq} (line {lines}); line "
               f"{lines + 1} is an incomplete record of {torn} bytes (an interrupted write, or the file was cut)",
               lines + 1)  # fmt: skip
    if report.records == 0:
        _error(report, "empty", "the ledger holds no complete record")
    if report.signed_seq < report.last_seq:
        report.uncovered = report.last_seq - report.signed_seq
        note = (f"{report.uncovered} record(s) after the last checkpoint (seq {report.signed_seq + 1}.."
                f"{report.last_seq}) are not covered by a signature yet")  # fmt: skip
        report.findings.append(Finding("warning", "unsigned_tail", note))
    if anchor is not None:
        _check_anchor(report, part, lines, anchor)


def _check_anchor(report: Report, part: Partial, lines: int, anchor: Mapping[str, Any]) -> None:
    seq, want = anchor.get("seq"), anchor.get("hash")
    if not isinstance(seq, int) or seq > report.last_seq:
        where = seq if isinstance(seq, int) else None
        _error(report, "anchor", f"the ledger ends at seq {report.last_seq} but the anchor records a checkpoint at "
               f"seq {seq}: records were cut off the end", lines + 1, where)  # fmt: skip
        return
    for line, cseq, digest, _ok in part.checkpoints:
        if cseq == seq:
            if digest != want:
                _error(report, "anchor", f"checkpoint seq {seq} has hash {digest}, the anchor says {want}: the "
                       "ledger was rewritten", line, seq)  # fmt: skip
            return
    _error(report, "anchor", f"the anchor names checkpoint seq {seq}, which is not a checkpoint here: the ledger "
           "was rewritten", 0, seq)  # fmt: skip


def _hash_artifacts(folder: Path) -> tuple[dict[str, tuple[Path, int, str]], list[Finding]]:
    """List and hash every artifact file: name -> (path, size, sha256); runs beside the ledger walk."""
    found: dict[str, tuple[Path, int, str]] = {}
    notes: list[Finding] = []
    for name, apath in artifacts.iter_files(folder):
        if apath.name.startswith(".tmp-"):
            notes.append(Finding("warning", "temp", f"{apath}: leftover temporary file (interrupted write)"))
        elif not _HEX64.fullmatch(name):
            notes.append(Finding("error", "artifact", f"{apath}: unexpected file in the artifact store"))
        else:
            with open(apath, "rb", buffering=0) as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
                found[name] = (apath, os.fstat(fh.fileno()).st_size, digest)
    return found, notes


def _finish_artifacts(report: Report, refs: Mapping[str, tuple[int, int, int]],
                      hashed: Mapping[str, tuple[Path, int, str]]) -> None:  # fmt: skip
    for name, (_path, size, digest) in hashed.items():
        report.artifacts += 1
        report.bytes += size
        ref = refs.get(name)
        line, seq = (ref[1], ref[2]) if ref else (0, None)
        if digest != name:
            _error(
                report, "artifact", f"artifact {name}: content does not match its name (artifact modified)", line, seq
            )
        elif ref is not None and size != ref[0]:
            _error(report, "artifact", f"artifact {name}: size differs from its record", line, seq)
        elif ref is None:
            report.findings.append(Finding("warning", "orphan", f"artifact {name} is not referenced by any record "
                                           "(an interrupted write, or its record was removed)"))  # fmt: skip
    for name, (_size, line, seq) in refs.items():
        if name not in hashed:
            _error(report, "artifact", f"artifact {name} referenced here is missing", line, seq)
