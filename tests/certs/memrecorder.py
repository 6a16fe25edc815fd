"""The evidence port kept in memory, so tests can read back exactly what a kind recorded."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from runner.redact import redact


class MemoryRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.artifacts: dict[str, bytes] = {}
        self.raw: list[str] = []

    def open_bundle(self, *, run_id: str, item_id: str, occurrence: str, asked: Mapping[str, Any]) -> str:
        return "b1"

    def record(self, bundle_id: str, event: str, data: Mapping[str, Any]) -> None:
        text = json.dumps(dict(data), default=str)
        self.raw.append(text)
        self.events.append((event, redact(json.loads(text))))

    def artifact(self, bundle_id: str, name: str, content: bytes, media_type: str = "text/plain") -> str:
        self.artifacts[name] = content
        return name

    def close_bundle(self, bundle_id: str, *, outcome: str, summary: Mapping[str, Any]) -> None:
        pass

    def mark_interrupted(self, bundle_id: str, reason: str) -> None:
        pass

    def named(self, event: str) -> list[dict[str, Any]]:
        return [d for e, d in self.events if e == event]

    def everything(self) -> str:
        """Everything as handed to the port, before redaction (a leak check must see raw data)."""
        return "\n".join(self.raw) + repr(self.artifacts)
