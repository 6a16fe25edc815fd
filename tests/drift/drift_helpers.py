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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto(bindir: Path) -> tuple[Any, str]:
    """Start moto's server on 127.0.0.1 and wait until it answers; returns (process, endpoint)."""
    import subprocess
    import time
    import urllib.request

    port = free_port()
    proc = subprocess.Popen(
        [str(bindir / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)  # noqa: S310 - local test server
            return proc, endpoint
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto_server did not start")
