"""``EvidenceRecorder`` over the ledger: what the engine calls while a run happens.

Record types written here: ``bundle.opened`` (payload: run_id, item_id, occurrence, asked),
``event`` (payload: event, data), ``artifact`` (payload: name, sha256, size, media_type) and
``bundle.closed`` (payload: outcome, summary), the last followed by a signed checkpoint.
Everything is converted to plain JSON and redacted before it is written.
"""

from __future__ import annotations

import getpass
import re
import secrets
import socket
import subprocess
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from runner import redact as redaction
from runner.errors import EvidenceError
from runner.evidence import artifacts
from runner.evidence.canonical import plain
from runner.evidence.ledger import Entry, Ledger

OUTCOMES = ("succeeded", "failed", "halted", "cancelled", "interrupted", "skipped", "partial")


class BundleSink(Protocol):
    """Somewhere closed bundles are copied to (an S3 bucket with Object Lock, ...)."""

    def bundle_closed(self, bundle_id: str) -> None: ...


def who() -> str:
    """``user@host`` of the process starting a run."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def git_commit(root: Path) -> dict[str, Any] | None:
    """The estate's git commit (and whether the work tree differs from it), or None outside git."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=False)  # fmt: skip
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def _clean(value: Any) -> Any:
    return redaction.redact(plain(value))


class LedgerRecorder:
    """The evidence recorder of one estate. Thread-safe; several processes may share the ledger."""

    def __init__(self, ledger: Ledger, *, estate_root: Path | None = None, sink: BundleSink | None = None) -> None:
        self.ledger = ledger
        self.estate_root = estate_root
        self.sink = sink
        self._lock = threading.Lock()
        self._open: set[str] = set()
        self._closed: set[str] = set()

    def open_bundle(self, *, run_id: str, item_id: str, occurrence: str, asked: Mapping[str, Any]) -> str:
        """Start a bundle and return its id. ``started_by`` and ``git`` are filled in when missing."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", item_id)[:48] or "item"
        bundle_id = f"{stamp}-{slug}-{secrets.token_hex(3)}"
        full = dict(asked)
        full.setdefault("started_by", who())
        if self.estate_root is not None and "git" not in full:
            full["git"] = git_commit(self.estate_root)
        payload = {"run_id": run_id, "item_id": item_id, "occurrence": occurrence, "asked": full}
        self.ledger.append("bundle.opened", bundle_id, _clean(payload))
        with self._lock:
            self._open.add(bundle_id)
        return bundle_id

    def record(self, bundle_id: str, event: str, data: Mapping[str, Any]) -> None:
        self.record_many(bundle_id, [(event, data)])

    def record_many(self, bundle_id: str, events: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Append several events with one durable write (a batch's per-host results, ...)."""
        self._check_open(bundle_id)
        entries = [Entry("event", bundle_id, {"event": str(e), "data": _clean(d)}) for e, d in events]
        self.ledger.append_many(entries)

    def artifact(self, bundle_id: str, name: str, content: bytes, media_type: str = "text/plain") -> str:
        """Store redacted ``content`` by hash and link it to the bundle; return the SHA-256 of what was stored."""
        self._check_open(bundle_id)
        stored = redaction.redact_bytes(bytes(content))
        digest = artifacts.put(self.ledger.root, stored)
        meta = {"name": redaction.redact_text(name), "sha256": digest, "size": len(stored), "media_type": media_type}
        self.ledger.append("artifact", bundle_id, meta)
        return digest

    def close_bundle(self, bundle_id: str, *, outcome: str, summary: Mapping[str, Any]) -> None:
        """Close the bundle and sign the ledger head; then copy it to the sink, if any."""
        self._check_open(bundle_id)
        payload = {"outcome": str(outcome), "summary": _clean(summary)}
        self.ledger.append_many([Entry("bundle.closed", bundle_id, payload)], checkpoint=True)
        with self._lock:
            self._open.discard(bundle_id)
            self._closed.add(bundle_id)
        if self.sink is not None:
            self.sink.bundle_closed(bundle_id)

    def mark_interrupted(self, bundle_id: str, reason: str) -> None:
        """Close a bundle left open by a runner that died; a bundle already closed is left as it is."""
        from runner.evidence.query import bundle_states

        state = bundle_states(self.ledger.root).get(bundle_id)
        if state is None:
            raise EvidenceError(f"no evidence bundle {bundle_id!r}")
        if state == "closed":
            return
        with self._lock:
            self._open.add(bundle_id)
        self.close_bundle(bundle_id, outcome="interrupted", summary={"reason": reason})

    def open_bundles(self) -> list[str]:
        """Bundles opened but never closed (candidates for ``mark_interrupted`` after a crash)."""
        from runner.evidence.query import bundle_states

        return [b for b, s in bundle_states(self.ledger.root).items() if s == "open"]

    def _check_open(self, bundle_id: str) -> None:
        with self._lock:
            if bundle_id in self._open:
                return
            closed = bundle_id in self._closed
        if closed:
            raise EvidenceError(f"evidence bundle {bundle_id} is already closed")
        from runner.evidence.query import bundle_states

        state = bundle_states(self.ledger.root).get(bundle_id)
        if state != "open":
            raise EvidenceError(f"evidence bundle {bundle_id} is {'closed' if state else 'unknown'}")
        with self._lock:
            self._open.add(bundle_id)


def open_recorder(estate_root: Path, settings: Mapping[str, Any] | None = None) -> LedgerRecorder:
    """The estate's recorder: ledger in ``<state>/evidence``, key in ``<state>/keys``.

    ``settings`` is the catalogue's ``settings.evidence`` (``checkpoint_every``, ``s3``).
    """
    from runner.estate import private_subdir, state_dir
    from runner.evidence.keys import load_or_create

    settings = settings or {}
    redaction.register_environment()
    signer = load_or_create(private_subdir(estate_root, "keys"))
    ledger = Ledger(
        private_subdir(estate_root, "evidence"),
        signer,
        checkpoint_every=int(settings.get("checkpoint_every", 1000)),
        anchor=state_dir(estate_root) / ANCHOR_FILE,
    )
    sink: BundleSink | None = None
    if settings.get("s3"):
        from runner.evidence.s3sink import S3Sink

        sink = S3Sink.from_settings(ledger.root, settings["s3"], state=state_dir(estate_root))
    return LedgerRecorder(ledger, estate_root=estate_root, sink=sink)


ANCHOR_FILE = "evidence.anchor.json"
