"""The append-only evidence ledger: ``ledger.jsonl`` in the evidence folder.

One canonical-JSON record per line, chained by SHA-256 (``prev``), with signed checkpoints every
``checkpoint_every`` records and whenever a caller asks (bundle close). See docs/evidence.md.

Writers in several processes share the file: read-head-and-append happens under ``flock`` on
``ledger.lock``. Threads of one process share one writer through group commit: whoever finds no
write in progress writes everything queued so far with one ``write`` and one ``fdatasync``, so
200 hosts reporting at once cost a handful of syncs, not 200. Every call returns only after its
records are durable.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.errors import EvidenceError
from runner.evidence import artifacts
from runner.evidence.canonical import FORMAT, ZERO_HASH, canonical, record_line
from runner.evidence.fsutil import FILE_MODE, atomic_write, fsync_dir, private_dir, write_all
from runner.evidence.keys import Signer

LEDGER_FILE = "ledger.jsonl"
LOCK_FILE = "ledger.lock"


@dataclass(frozen=True)
class Entry:
    """A record to append; ``payload`` must already be plain JSON and redacted."""

    type: str
    bundle: str
    payload: Any


@dataclass(frozen=True)
class Appended:
    """Where an entry landed in the ledger."""

    seq: int
    hash: str
    type: str


@dataclass
class _Batch:
    """Entries waiting for the group commit."""

    entries: Sequence[Entry]
    checkpoint: bool
    done: bool = False
    results: list[Appended] = field(default_factory=list)
    error: BaseException | None = None


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Ledger:
    """Appends records durably; safe across threads and processes."""

    def __init__(
        self,
        root: Path,
        signer: Signer,
        *,
        checkpoint_every: int = 1000,
        anchor: Path | None = None,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        self.root = private_dir(root)
        self.path = root / LEDGER_FILE
        self.signer = signer
        self.checkpoint_every = max(1, checkpoint_every)
        self.anchor = anchor
        self._clock = clock
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._known: tuple[int, int, str] | None = None  # (file size, last seq, last hash)
        self._segment: _Segment | None = None  # bytes since the last checkpoint, valid with _known
        self._cond = threading.Condition()
        self._queue: list[_Batch] = []
        self._writing = False

    # -- public API -------------------------------------------------------------------------------
    def append(self, type: str, bundle: str, payload: Any) -> Appended:
        return self.append_many([Entry(type, bundle, payload)])[0]

    def append_many(self, entries: Sequence[Entry], *, checkpoint: bool = False) -> list[Appended]:
        """Append ``entries`` in order (contiguously), then a checkpoint if asked; durable on return."""
        batch = _Batch(entries, checkpoint)
        with self._cond:
            self._queue.append(batch)
            while not batch.done:
                if self._writing:
                    self._cond.wait()
                    continue
                self._writing = True
                work, self._queue = self._queue, []
                self._cond.release()
                try:
                    self._commit(work)
                finally:
                    self._cond.acquire()
                    self._writing = False
                    self._cond.notify_all()
        if batch.error is not None:
            raise batch.error
        return batch.results

    def checkpoint(self) -> Appended:
        """Sign the current head now."""
        return self.append_many([], checkpoint=True)[-1]

    def close(self) -> None:
        for fd in (self._fd, self._lock_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._lock_fd = None
        self._known = None

    # -- writing ----------------------------------------------------------------------------------
    def _open(self) -> tuple[int, int]:
        if self._fd is None or self._lock_fd is None:
            created = not self.path.exists()
            self._lock_fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, FILE_MODE)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, FILE_MODE)
            if created:
                fsync_dir(self.root)
        return self._fd, self._lock_fd

    def _commit(self, work: list[_Batch]) -> None:
        try:
            fd, lock_fd = self._open()
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            try:
                self._commit_locked(fd, work)
            finally:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)
        except BaseException as exc:  # every waiting caller must learn its records were not written
            self._known = None
            err = exc if isinstance(exc, EvidenceError) else EvidenceError(f"{self.path}: cannot append: {exc}")
            for b in work:
                b.error = err
        finally:
            for b in work:
                b.done = True

    def _commit_locked(self, fd: int, work: list[_Batch]) -> None:
        size = os.fstat(fd).st_size
        if self._known is not None and self._known[0] == size and self._segment is not None:
            seq, prev = self._known[1], self._known[2]
            pre: list[Entry] = []
            segment = self._segment
        else:
            seq, prev, pre = self._head(fd, size)
            segment = _segment_since_checkpoint(fd, os.fstat(fd).st_size)
        writer = _Writer(seq, prev, self._clock, self.signer, segment)
        for e in pre:
            writer.add(e)
        first = writer.seq
        for b in work:
            b.results = [writer.add(e) for e in b.entries]
            if b.checkpoint:
                b.results.append(writer.checkpoint())
        if writer.seq // self.checkpoint_every != first // self.checkpoint_every and writer.last_type != "checkpoint":
            writer.checkpoint()
        data = b"".join(writer.lines)
        write_all(fd, data)
        os.fdatasync(fd)
        self._known = (os.fstat(fd).st_size, writer.seq, writer.prev)
        self._segment = writer.segment
        if writer.last_checkpoint is not None and self.anchor is not None:
            self._write_anchor(writer.last_checkpoint)

    def _head(self, fd: int, size: int) -> tuple[int, str, list[Entry]]:
        """Find the last complete record; move a torn tail (crash mid-write) into an artifact."""
        line, end = _last_line(fd, size)
        pre: list[Entry] = []
        if end < size:
            torn = os.pread(fd, size - end, end)
            digest = artifacts.put(self.root, torn)
            os.ftruncate(fd, end)
            os.fsync(fd)
            pre.append(
                Entry(
                    "ledger.repaired",
                    "",
                    {"artifact": digest, "size": len(torn), "reason": "incomplete last record (interrupted write)"},
                )
            )
        if line is None:
            return (
                -1,
                ZERO_HASH,
                [Entry("ledger.genesis", "", {"format": FORMAT, "key": self.signer.fingerprint}), *pre],
            )
        try:
            rec = json.loads(line)
            return int(rec["seq"]), str(rec["hash"]), pre
        except (ValueError, KeyError, TypeError) as exc:
            raise EvidenceError(
                f"{self.path}: the last record is damaged; run `maintctl evidence verify` ({exc})"
            ) from exc

    def _write_anchor(self, cp: Appended) -> None:
        assert self.anchor is not None
        doc = {"format": FORMAT, "seq": cp.seq, "hash": cp.hash, "key": self.signer.fingerprint}
        atomic_write(self.anchor, canonical(doc) + b"\n")


@dataclass
class _Segment:
    """The record lines written since the last checkpoint: running SHA-256, count, size, and where
    the non-event records are ([offset, length] in the segment), which the checkpoint signs."""

    digest: Any = field(default_factory=hashlib.sha256)
    records: int = 0
    size: int = 0
    index: list[list[int]] = field(default_factory=list)

    def add(self, line: bytes, event: bool) -> None:
        """Add one line (with its newline)."""
        self.digest.update(line)
        if not event:
            self.index.append([self.size, len(line) - 1])
        self.records += 1
        self.size += len(line)

    def copy(self) -> _Segment:
        return _Segment(self.digest.copy(), self.records, self.size, [list(x) for x in self.index])


def _segment_since_checkpoint(fd: int, size: int) -> _Segment:
    """Hash the lines after the last checkpoint line (another process may have written them)."""
    mark = b'"type":"checkpoint"}\n'
    start, window = size, 1 << 16
    found = -1
    while start > 0 and found < 0:
        start = max(0, size - window)
        tail = os.pread(fd, size - start, start)
        at = tail.rfind(mark)
        if at >= 0:
            found = start + at + len(mark)
        window *= 4
    begin = found if found >= 0 else 0
    segment = _Segment()
    data = os.pread(fd, size - begin, begin)
    for line in data.splitlines(keepends=True):
        segment.add(line, line.endswith(b'"type":"event"}\n'))
    return segment


class _Writer:
    """Builds consecutive lines in memory for one commit."""

    def __init__(self, seq: int, prev: str, clock: Callable[[], str], signer: Signer, segment: _Segment) -> None:
        self.segment = segment.copy()
        self.seq, self.prev = seq, prev
        self.lines: list[bytes] = []
        self.last_type = ""
        self.last_checkpoint: Appended | None = None
        self._clock, self._signer = clock, signer

    def add(self, e: Entry) -> Appended:
        self.seq += 1
        line, digest = record_line(
            seq=self.seq, time=self._clock(), type=e.type, bundle=e.bundle, payload=e.payload, prev=self.prev
        )
        self.lines.append(line + b"\n")
        self.segment.add(self.lines[-1], e.type == "event")
        self.prev, self.last_type = digest, e.type
        return Appended(self.seq, digest, e.type)

    def checkpoint(self) -> Appended:
        seq, time = self.seq + 1, self._clock()
        payload: dict[str, Any] = {
            "key": self._signer.fingerprint,
            "records": self.segment.records,
            "segment": self.segment.digest.hexdigest(),
            "index": self.segment.index,
        }
        unsigned = {"bundle": "", "payload": payload, "prev": self.prev, "seq": seq, "time": time, "type": "checkpoint"}
        payload["sig"] = self._signer.sign(canonical(unsigned))
        self.seq = seq
        line, digest = record_line(seq=seq, time=time, type="checkpoint", bundle="", payload=payload, prev=self.prev)
        self.segment = _Segment()
        self.lines.append(line + b"\n")
        self.prev, self.last_type = digest, "checkpoint"
        self.last_checkpoint = Appended(seq, digest, "checkpoint")
        return self.last_checkpoint


def _last_line(fd: int, size: int) -> tuple[bytes | None, int]:
    """Return (last complete line, offset just after it); (None, 0) when there is none."""
    buf, start = b"", size
    while start > 0:
        n = min(start, max(1 << 16, len(buf)))
        start -= n
        buf = os.pread(fd, n, start) + buf
        last = buf.rfind(b"\n")
        if last < 0:
            continue
        before = buf.rfind(b"\n", 0, last)
        if before >= 0 or start == 0:
            return buf[before + 1 : last], start + last + 1
    return None, 0
