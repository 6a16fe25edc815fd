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
    deadline = time.monotonic() + 90  # generous: the suite may run on a busy 2-core machine
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=5)  # noqa: S310 - local test server
            return proc, endpoint
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("moto_server did not start")


REPO = Path(__file__).resolve().parents[2]


def app_conf(host: str, address: str = "", workers: int = 4) -> str:
    """The app.conf playbooks/drift-app.yml declares for ``host``."""
    return (
        "# managed by maintctl playbooks\n[app]\n"
        f"name = {host}\nlisten = {address or host}:8000\nlog_level = info\nworkers = {workers}\n"
    )


def local_estate(tmp: Path, hosts: list[str], groups: dict[str, list[str]] | None = None) -> Path:
    """An estate folder: the repository's drift playbook, and local-connection hosts whose
    app.conf lives under ``tmp/hosts/<host>/app.conf`` (written in the desired state)."""
    import shutil

    root = tmp / "estate"
    (root / "inventory").mkdir(parents=True)
    (root / "maintenance").mkdir()
    shutil.copytree(REPO / "playbooks" / "templates", root / "playbooks" / "templates")
    shutil.copy(REPO / "playbooks" / "drift-app.yml", root / "playbooks" / "drift-app.yml")
    lines = ["[all]"]
    for h in hosts:
        conf = tmp / "hosts" / h / "app.conf"
        conf.parent.mkdir(parents=True)
        conf.write_text(app_conf(h))
        lines.append(f"{h} ansible_connection=local app_config_path={conf}")
    for g, members in (groups or {}).items():
        lines += [f"[{g}]", *members]
    lines += ["[all:vars]", "ansible_python_interpreter=/usr/bin/python3"]
    (root / "inventory" / "hosts.ini").write_text("\n".join(lines) + "\n")
    return root


def catalogue_for(
    root: Path, items: list[Any], groups: dict[str, tuple[str, ...]], aws: dict[str, Any] | None = None
) -> Any:
    from datetime import timedelta

    from runner.catalogue.model import Catalogue, Inventory, Settings, Window

    window = Window(name="hourly", timezone="UTC", duration=timedelta(hours=1), cron="0 * * * *")
    return Catalogue(
        root=str(root),
        windows={"hourly": window},
        freezes=(),
        items=tuple(items),
        inventory=Inventory(groups=groups),
        settings=Settings(aws=aws or {}),
    )


def drift_item(item_id: str, drift: dict[str, Any], groups: tuple[str, ...] = ("all",)) -> Any:
    from datetime import timedelta

    from runner.catalogue.model import Item, Location, Targets

    return Item(
        id=item_id,
        kind="drift",
        targets=Targets(groups=groups),
        window="hourly",
        expected_duration=timedelta(minutes=10),
        settings={"drift": drift},
        location=Location(file="maintenance/items.yml", line=12, column=3),
    )
