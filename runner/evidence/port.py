"""The evidence port: what the engine (and every kind) records while a run happens.

Contract:
* Every call returns only after what it recorded is durable (fsync'd); a step counts as done only
  after its evidence call returned.
* Everything passed in is redacted (``runner.redact``) before it is written.
* ``artifact`` stores bytes by content hash and returns the SHA-256 hex digest; the same bytes are
  stored once.
* A bundle is everything recorded between ``open_bundle`` and ``close_bundle`` for one run. A bundle
  that never gets closed (crash) is closed later by ``mark_interrupted``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class EvidenceRecorder(Protocol):
    def open_bundle(self, *, run_id: str, item_id: str, occurrence: str, asked: Mapping[str, Any]) -> str:
        """Start a bundle; ``asked`` holds item, catalogue digests, git commit, plan, who and why."""
        ...

    def record(self, bundle_id: str, event: str, data: Mapping[str, Any]) -> None:
        """Append one event (``batch.started``, ``host.result``, ``change.opened``, ...) to the bundle."""
        ...

    def artifact(self, bundle_id: str, name: str, content: bytes, media_type: str = "text/plain") -> str:
        """Store an artifact (log, diff, report) and link it to the bundle; return its SHA-256."""
        ...

    def close_bundle(self, bundle_id: str, *, outcome: str, summary: Mapping[str, Any]) -> None:
        """Close the bundle with its outcome (succeeded, failed, halted, cancelled, interrupted, ...)."""
        ...

    def mark_interrupted(self, bundle_id: str, reason: str) -> None:
        """Close a bundle left open by a runner that died."""
        ...
