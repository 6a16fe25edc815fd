"""Helpers shared by the drift tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def load_events(name: str) -> tuple[list[dict[str, Any]], dict[tuple[str, str], dict[str, Any]]]:
    data = json.loads((FIXTURES / name).read_text())
    reasons = {(r["host"], r["task_uuid"]): r["res"] for r in data["skip_reasons"]}
    return data["events"], reasons


def local_inventory(tmp: Path, hosts: dict[str, str], extra: dict[str, str] | None = None) -> Path:
    """An inventory of local-connection hosts, each with its own managed file path."""
    lines = ["[all]"]
    for name, path in hosts.items():
        more = " ".join(f"{k}={v}" for k, v in (extra or {}).items() if k.startswith(name + ":"))
        lines.append(f"{name} ansible_connection=local managed_path={path} {more}".strip())
    lines += ["[all:vars]", "ansible_python_interpreter=/usr/bin/python3"]
    inv = tmp / "inventory.ini"
    inv.write_text("\n".join(lines) + "\n")
    return inv
