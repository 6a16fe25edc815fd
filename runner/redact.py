"""Secret redaction applied to everything maintctl prints, logs or writes as evidence.

Three layers, applied together by ``redact``:

* **Registered values**: values of variables declared secret, vault-decrypted values and credentials
  found in the environment are registered once and replaced wherever they appear, in any string.
* **Secret names**: a mapping member whose key is a declared secret variable or looks like a
  credential (``password``, ``token``, ``aws_secret_access_key``, ``eab_hmac_key``, ...) has its value
  replaced wholesale, however short or nested it is.
* **Shapes**: private-key PEM blocks, vault ciphertext, AWS access key ids, ``Authorization`` headers,
  passwords in URLs and ``name=value`` credential assignments are masked even when never registered.

Ansible results marked ``_ansible_no_log`` (or already ``censored``) are replaced wholesale: nothing
of what the task returned is kept, since no_log output may hold secrets in any field.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "********"
NO_LOG_MESSAGE = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"
_MIN_LEN = 4

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None
_names: set[str] = set()

# Environment variables whose values are credentials wherever they come from.
SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "RESTIC_PASSWORD",
    "PGPASSWORD",
    "ANSIBLE_VAULT_PASSWORD",
    "SERVICENOW_PASSWORD",
    "JIRA_API_TOKEN",
    "ACME_EAB_HMAC_KEY",
)

# Mapping keys whose values are credentials (matched case-insensitively, as whole key or suffix).
_SECRET_KEY = re.compile(
    r"(?:^|[_\-.])(?:password|passwd|passphrase|secret|secret_key|secret_access_key|session_token|"
    r"token|api_key|apikey|private_key|privatekey|hmac_key|hmac|credentials?|vault_password|"
    r"client_secret|auth)$",
    re.IGNORECASE,
)
_SECRET_KEY_EXACT = {"password", "secret", "token", "pass", "pwd", "authorization", "cookie", "set-cookie"}

_SHAPES = re.compile(
    r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z))"
    r"|(\$ANSIBLE_VAULT;[0-9.]+;[A-Za-z0-9_;]+[\s0-9a-f]*)"
    r"|(\b(?:AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b)",
    re.DOTALL,
)
# name=value / name: value / "name": "value" credential assignments; group 1 keeps the name.
_ASSIGN = re.compile(
    r"""((?:["']?)(?:[A-Za-z0-9_\-.]*?(?:password|passwd|passphrase|secret|token|api[_-]?key|"""
    r"""hmac[_-]?key|private[_-]?key|session[_-]?token|access[_-]?key[_-]?secret))(?:["']?)"""
    r"""\s*(?:=|:)\s*)(?!\*{8})("[^"\n]*"|'[^'\n]*'|[^\s,;&}"']+)""",
    re.IGNORECASE,
)
_AUTH_HEADER = re.compile(r"(?i)(authorization\s*:\s*(?:bearer|basic|token|aws4-hmac-sha256)?\s*)([^\s\"',]+)")
_URL_PASSWORD = re.compile(r"(?i)([a-z][a-z0-9+.\-]*://[^/\s:@]+:)([^@\s/]+)(@)")
_CLI_FLAG = re.compile(r"(?i)((?:--|-)(?:password|passwd|token|secret|api-key)(?:=|\s+))([^\s\"']+)")


def register(values: Iterable[Any]) -> None:
    """Add secret values to redact from now on (short values are ignored: they would mask noise)."""
    global _pattern
    with _lock:
        added = False
        for v in values:
            if isinstance(v, (bytes, bytearray)):
                v = bytes(v).decode("utf-8", "surrogateescape")
            if isinstance(v, str):
                for candidate in (v, v.strip()):
                    if len(candidate) >= _MIN_LEN and candidate not in _values:
                        _values.add(candidate)
                        added = True
        if added:
            ordered = sorted(_values, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(v) for v in ordered))


def register_names(names: Iterable[str]) -> None:
    """Declare variable names whose values are secret: such members are masked wholesale."""
    with _lock:
        _names.update(n.lower() for n in names if n)


def register_mapping(values: Mapping[str, Any], names: Iterable[str] | None = None) -> None:
    """Register secret leaf values of ``values`` (vault-decrypted variables, declared secrets).

    With ``names``, only those keys' values are registered; otherwise every string leaf is.
    """
    wanted = {n.lower() for n in names} if names is not None else None
    found: list[str] = []

    def walk(value: Any, take: bool) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, take or (wanted is not None and str(k).lower() in wanted))
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, take)
        elif take and value is not None and not isinstance(value, bool):
            found.append(str(value))

    walk(values, wanted is None)
    register(found)


def register_environment() -> None:
    """Register the values of well-known credential variables present in the environment."""
    register(os.environ[name] for name in SECRET_ENV if os.environ.get(name))


def is_secret_key(key: str) -> bool:
    """Whether a mapping member named ``key`` holds a credential."""
    low = key.lower()
    return low in _SECRET_KEY_EXACT or low in _names or bool(_SECRET_KEY.search(low))


def redact_text(text: str) -> str:
    """Return ``text`` with every registered secret and credential shape masked."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _SHAPES.sub(MASK, text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + MASK, text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    text = _CLI_FLAG.sub(lambda m: m.group(1) + MASK, text)
    return _ASSIGN.sub(lambda m: m.group(1) + MASK, text)


def redact_bytes(content: bytes) -> bytes:
    """Redact bytes (artifacts): text parts are redacted, undecodable bytes kept as they are."""
    text = content.decode("utf-8", "surrogateescape")
    cleaned = redact_text(text)
    return content if cleaned == text else cleaned.encode("utf-8", "surrogateescape")


def _no_log(value: Mapping[Any, Any]) -> bool:
    return bool(value.get("_ansible_no_log")) or "censored" in value


def redact(value: Any) -> Any:
    """Redact nested dicts, lists and tuples: keys, strings, secret-named members, no_log results."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        if _no_log(value):
            return {"censored": NO_LOG_MESSAGE, "_ansible_no_log": True}
        out: dict[Any, Any] = {}
        for k, v in value.items():
            key = redact_text(k) if isinstance(k, str) else k
            if isinstance(k, str) and is_secret_key(k) and v not in (None, "", False, True):
                out[key] = MASK
            else:
                out[key] = redact(v)
        if "stdout" in out and isinstance(value.get("event_data"), Mapping):
            # An ansible-runner event of a no_log task prints its result in stdout too.
            res = value["event_data"].get("res")
            if isinstance(res, Mapping) and _no_log(res):
                out["stdout"] = MASK
        return out
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return redact_bytes(bytes(value))
    return value


def reset_for_tests() -> None:
    """Forget every registered value and name (tests only)."""
    global _pattern
    with _lock:
        _values.clear()
        _names.clear()
        _pattern = None
