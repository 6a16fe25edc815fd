"""Secret redaction applied to everything maintctl prints, logs or writes as evidence.

Values are registered once (from variables declared secret, vault values, credentials in the
environment) and replaced wherever they appear. Known credential shapes are masked even when
they were never registered.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "********"
_MIN_LEN = 4

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None

# Environment variables whose values are credentials wherever they come from.
SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "RESTIC_PASSWORD",
    "PGPASSWORD",
    "ANSIBLE_VAULT_PASSWORD",
    "SERVICENOW_PASSWORD",
    "JIRA_API_TOKEN",
)

_SHAPES = re.compile(
    r"(-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----)"
    r"|(\$ANSIBLE_VAULT;[0-9.]+;[A-Z0-9]+[\s0-9a-f]*)",
    re.DOTALL,
)


def register(values: Iterable[str]) -> None:
    """Add secret values to redact from now on (short values are ignored: they would mask noise)."""
    global _pattern
    with _lock:
        added = False
        for v in values:
            if isinstance(v, str) and len(v) >= _MIN_LEN and v not in _values:
                _values.add(v)
                added = True
        if added:
            ordered = sorted(_values, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(v) for v in ordered))


def register_environment() -> None:
    """Register the values of well-known credential variables present in the environment."""
    register(os.environ[name] for name in SECRET_ENV if os.environ.get(name))


def redact_text(text: str) -> str:
    """Return ``text`` with every registered secret and credential shape masked."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _SHAPES.sub(MASK, text)


def redact(value: Any) -> Any:
    """Redact strings inside nested dicts, lists and tuples (keys included)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact(k): redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def reset_for_tests() -> None:
    """Forget every registered value (tests only)."""
    global _pattern
    with _lock:
        _values.clear()
        _pattern = None
