"""Change-record backends. ``backend_from_settings`` picks one from ``settings.changes``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.changes.base import ChangeBackend
from runner.errors import UsageError

BACKENDS = ("local",)


def backend_from_settings(settings: Mapping[str, Any] | Any, state_dir: Path) -> ChangeBackend:
    """Build the backend named by ``settings.changes.backend`` (default ``local``).

    ``settings`` is the catalogue's ``Settings`` object or its ``changes`` mapping. ServiceNow and
    Jira Service Management backends will be added here (see docs/changes.md for their mapping).
    """
    changes = getattr(settings, "changes", settings) or {}
    if not isinstance(changes, Mapping):
        raise UsageError(f"settings.changes must be a mapping, got {type(changes).__name__}")
    name = str(changes.get("backend", "local"))
    if name == "local":
        from runner.changes.local import LocalChangeBackend

        return LocalChangeBackend(state_dir)
    raise UsageError(f"settings.changes.backend: unknown change-record backend {name!r} (known: {', '.join(BACKENDS)})")
