"""Run ids: sortable by start time, unique by their random suffix."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_run_id(now: datetime) -> str:
    return f"{now.astimezone(UTC).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
