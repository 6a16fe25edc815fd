"""Canonical JSON for evidence records, and the record layout shared by writer and verifier.

Canonical form (see docs/evidence.md): ``json.dumps(value, sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False)`` encoded as UTF-8. Values are limited to what it writes the
same way every time: objects with string keys, arrays, strings, integers, finite floats, booleans
and null. ``plain`` turns the richer values the engine hands over (datetimes, paths, tuples, sets,
dataclasses) into those first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import PurePath
from typing import Any

from runner.errors import EvidenceError

FORMAT = "maintctl-evidence/1"
ZERO_HASH = "0" * 64
# A record's hash member sits right after "bundle" (keys sort), so a verifier can cut it out of
# the raw line without re-serialising: ``,"hash":"`` + 64 hex digits + ``"``.
HASH_MARK = b',"hash":"'
HASH_SPAN = len(HASH_MARK) + 64 + 1

_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical(value: Any) -> bytes:
    """Canonical UTF-8 bytes of a plain JSON value."""
    try:
        return _encoder.encode(value).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise EvidenceError(f"evidence value cannot be written as canonical JSON: {exc}") from exc


def plain(value: Any) -> Any:
    """Convert ``value`` into plain JSON values (datetimes as ISO 8601, sets sorted, tuples as lists)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=lambda v: canonical(v))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    return str(value)


def record_line(*, seq: int, time: str, type: str, bundle: str, payload: Any, prev: str) -> tuple[bytes, str]:
    """Build one ledger line (without newline) and its hash.

    The hash is the SHA-256 of the canonical record *without* its ``hash`` member; the line is the
    canonical record *with* it.
    """
    body = canonical({"bundle": bundle, "payload": payload, "prev": prev, "seq": seq, "time": time, "type": type})
    digest = hashlib.sha256(body).hexdigest()
    cut = body.index(b',"payload":')
    return body[:cut] + HASH_MARK + digest.encode() + b'"' + body[cut:], digest


def strip_hash(line: bytes) -> tuple[bytes, bytes] | None:
    """Split a raw line into (bytes that were hashed, claimed hash); None if the layout is wrong."""
    at = line.find(HASH_MARK)
    if at < 0:
        return None
    claimed = line[at + len(HASH_MARK) : at + HASH_SPAN - 1]
    return line[:at] + line[at + HASH_SPAN :], claimed


def signed_bytes(record: Mapping[str, Any]) -> bytes:
    """The bytes a checkpoint's signature covers: the record without ``hash`` and ``payload.sig``."""
    payload = {k: v for k, v in record["payload"].items() if k != "sig"}
    body = {k: v for k, v in record.items() if k != "hash"}
    body["payload"] = payload
    return canonical(body)
