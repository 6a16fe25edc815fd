"""State stores: where runs, results and leases live (see ``runner.state.base`` for the contract)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.errors import StateError
from runner.state.base import StateStore

DEFAULT_FILE = "state.db"


def open_store(root: Path, settings: Mapping[str, Any] | None = None) -> StateStore:
    """Open the estate's state store from ``settings.state`` and the environment.

    ``MAINTCTL_STATE_DSN`` (or ``settings.state.dsn``, ``backend: postgresql``) selects PostgreSQL;
    otherwise SQLite at ``MAINTCTL_STATE_DB``, ``settings.state.path`` (relative to the estate root)
    or ``.maintctl/state.db``.
    """
    conf = dict(settings or {})
    dsn = os.environ.get("MAINTCTL_STATE_DSN") or conf.get("dsn")
    backend = str(conf.get("backend") or ("postgresql" if dsn else "sqlite"))
    if backend in ("postgresql", "postgres"):
        if not dsn:
            raise StateError("settings.state.backend is postgresql but no dsn is set (settings.state.dsn)")
        from runner.state.postgres import PostgresStateStore

        return PostgresStateStore(str(dsn))
    if backend != "sqlite":
        raise StateError(f"settings.state.backend: unknown state backend {backend!r} (sqlite, postgresql)")
    from runner.estate import state_dir
    from runner.state.sqlite import SQLiteStateStore

    path_text = os.environ.get("MAINTCTL_STATE_DB") or conf.get("path")
    path = Path(str(path_text)) if path_text else state_dir(root) / DEFAULT_FILE
    if not path.is_absolute():
        path = root / path
    return SQLiteStateStore(path)
