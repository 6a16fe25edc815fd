"""An estate of local-connection hosts with the real state store, evidence ledger and change records."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runner.catalogue.model import Catalogue, ChangePolicy, Inventory, Item, Rollout, Settings, Targets, Window
from runner.engine.progress import JsonLines
from runner.engine.run import Engine

# Window opens daily at 02:00 UTC for 3h, cutoff 30 min, late start allowed for 15 min.
T_OPEN = datetime(2026, 3, 10, 2, 5, tzinfo=UTC)

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: write marker
      copy: {content: "{{ inventory_hostname }}\\n", dest: "{{ out }}/{{ inventory_hostname }}"}
    - name: maybe fail
      fail: {msg: "broken {{ inventory_hostname }}"}
      when: inventory_hostname in (fail_hosts | default([]))
    - name: nap
      command: sleep {{ nap | default(0) }}
      changed_when: false
"""


class Clock:
    """Runs at real speed from a chosen instant; tests may jump it."""

    def __init__(self, at: datetime) -> None:
        self.base, self.mono = at, time.monotonic()

    def __call__(self) -> datetime:
        return self.base + timedelta(seconds=time.monotonic() - self.mono)

    def set(self, at: datetime) -> None:
        self.base, self.mono = at, time.monotonic()


@dataclass
class LocalEstate:
    root: Path
    out: Path
    catalogue: Catalogue
    clock: Clock
    events: list[dict[str, Any]] = field(default_factory=list)

    def item(self, **changes: Any) -> None:
        """Replace the single item's fields (rollout/change/settings...)."""
        item = replace(self.catalogue.items[0], **changes)
        self.catalogue = replace(self.catalogue, items=(item,))

    def engine(self, **kw: Any) -> Engine:
        from runner.changes.local import LocalChangeBackend
        from runner.estate import state_dir
        from runner.evidence.recorder import open_recorder
        from runner.state import open_store

        log = self.root / "events.jsonl"
        stream = log.open("a")

        class Capture(JsonLines):
            def __call__(inner, event: str, data: Any) -> None:  # noqa: N805
                self.events.append({"event": event, **data})
                super().__call__(event, data)

        return Engine(
            root=self.root, catalogue=self.catalogue, store=open_store(self.root, {}),
            evidence=open_recorder(self.root, {}), changes=LocalChangeBackend(state_dir(self.root)),
            reporter=Capture(stream), clock=self.clock, **kw,
        )


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalEstate]:
    monkeypatch.setenv("MAINTCTL_STATE_DIR", str(tmp_path / "state"))
    for var in ("MAINTCTL_STATE_DB", "MAINTCTL_STATE_DSN", "MAINTCTL_KNOWN_HOSTS"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "marker.yml").write_text(PLAYBOOK)
    (tmp_path / "inventory").mkdir()
    hosts = "".join(f"        l{i}: {{ansible_connection: local}}\n" for i in (1, 2, 3))
    (tmp_path / "inventory" / "hosts.yml").write_text(f"all:\n  children:\n    local:\n      hosts:\n{hosts}")
    out = tmp_path / "out"
    out.mkdir()
    window = Window(name="nightly", timezone="UTC", duration=timedelta(hours=3), cron="0 2 * * *",
                    cutoff=timedelta(minutes=30))
    item = Item(
        id="demo", kind="patch", targets=Targets(groups=("local",)), window="nightly",
        expected_duration=timedelta(minutes=30),
        rollout=Rollout(batch_size="1", canary=1, max_errors="0"),
        change=ChangePolicy(type="standard"),
        settings={"runner": "playbook", "playbook": "marker.yml", "extravars": {"out": str(out)}},
    )
    catalogue = Catalogue(
        root=str(tmp_path), windows={"nightly": window}, freezes=(), items=(item,),
        inventory=Inventory(groups={"local": ("l1", "l2", "l3")}, hostvars={}),
        settings=Settings(ansible={"forks": 5}),
    )
    yield LocalEstate(root=tmp_path, out=out, catalogue=catalogue, clock=Clock(T_OPEN))
