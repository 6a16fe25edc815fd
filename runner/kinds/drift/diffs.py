"""Turn Ansible's ``diff`` results (before/after pairs or prepared text) into unified diff text."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    # Some modules (file, user, ...) diff dicts of attributes: compare their sorted JSON.
    return json.dumps(value, indent=2, sort_keys=True, default=str) + "\n"


def _one(diff: Mapping[str, Any]) -> str:
    if "prepared" in diff and diff["prepared"]:
        return str(diff["prepared"]).rstrip("\n") + "\n"
    before, after = _text(diff.get("before")), _text(diff.get("after"))
    if before == after:
        return ""
    # template/copy name the rendered temp source as after_header: the managed path is before_header.
    # Name both sides by it so reports do not change from run to run.
    path = str(diff.get("before_header") or diff.get("after_header") or "")
    before_header = f"{path} (live)" if path else "live"
    after_header = f"{path} (desired)" if path else "desired"
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=before_header,
        tofile=after_header,
    )
    out = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return out


def render(diff: Any) -> str:
    """Unified diff text of one task result's ``diff`` value (a mapping or a list of mappings)."""
    if not diff:
        return ""
    parts = diff if isinstance(diff, list) else [diff]
    return "".join(_one(p) for p in parts if isinstance(p, Mapping))


def from_result(res: Mapping[str, Any]) -> str:
    """Diff text of a task result, including the per-item results of a loop."""
    text = render(res.get("diff"))
    for sub in res.get("results") or ():
        if isinstance(sub, Mapping) and sub.get("changed"):
            text += render(sub.get("diff"))
    return text
