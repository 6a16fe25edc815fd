"""The parts of an Ansible session (``runner.adapters.ansible_session``): the engine's per-host decisions
at the gate, and what the session knows of each ansible-playbook process it started."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Go:
    """Let the host through the gate; ``vars`` reach the play as ``maintctl_batch.vars``."""

    vars: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Skip:
    """Keep the host out of this batch's work (the gate ends it before the batch's first task)."""

    message: str


Decision = Go | Skip


@dataclass
class SessionProcess:
    """One ansible-playbook process of the session."""

    first: int  # the engine's index of the first gated batch this process runs
    hosts: tuple[str, ...]
    data_dir: Path
    marked: bool = False  # the marker play started: the lead plays are done
    play_starts: int = 0  # play starts after the marker: one per serial batch of the gated play
    ended: bool = False
    status: str = "running"
    rc: int = -1
    error: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    kill: bool = False
    timed_out: bool = False
    thread: threading.Thread | None = None

    @property
    def batch(self) -> int:
        """The engine's index of the gated batch the event stream is in (-1: still in the lead plays)."""
        return self.first + self.play_starts - 1 if self.marked else -1

    @property
    def done(self) -> bool:
        """Every play has finished (the playbook's stats came) or the process is gone."""
        return self.ended or bool(self.stats)

    @property
    def killed(self) -> bool:
        return self.status in ("canceled", "timeout")
