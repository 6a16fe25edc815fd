"""Rollout arithmetic shared by every kind: batches, canary, max_errors, cutoff, final host states.

Pure: no I/O, no clock (``now`` is a parameter).

Rules
-----
* Sizes are a count (``"2"``) or a share of all the item's hosts (``"25%"``, rounded up, at least 1).
* With ``canary: N`` (0 < N < hosts) the first batch is exactly the first N hosts; the remaining hosts
  follow in batches of ``batch_size``. Host order is kept.
* ``max_errors`` is how many failed hosts are tolerated: a count, or a share of all hosts rounded
  down (``"10%"`` of 25 hosts tolerates 2). The rollout halts as soon as failures exceed it; a halted
  rollout starts no further batch.
* No batch starts at or after the deadline (window end − cutoff).
* Final state of every host: ``done`` (ok/changed), ``failed`` (failed/unreachable), ``skipped``
  (never run because the rollout halted, or the kind skipped it), ``not_started`` (never run because
  the cutoff came, or the running batch was cancelled at the cutoff).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from runner.errors import UsageError

FinalState = Literal["done", "failed", "skipped", "not_started"]
Stop = Literal["halted", "cutoff"]
Outcome = Literal["succeeded", "failed", "halted", "cancelled"]


def parse_size(text: str | int, total: int, *, field_name: str = "batch_size", minimum: int = 1) -> int:
    """Turn ``"3"`` or ``"25%"`` into a host count for ``total`` hosts (shares round up)."""
    raw = str(text).strip()
    try:
        if raw.endswith("%"):
            share = float(raw[:-1])
            if not 0 <= share <= 100:
                raise ValueError(raw)
            return max(minimum, math.ceil(total * share / 100))
        count = int(raw)
        if count < 0:
            raise ValueError(raw)
        return max(minimum, count)
    except ValueError:
        raise UsageError(f"rollout.{field_name}: {raw!r} is neither a count nor a percentage") from None


def tolerated_errors(text: str | int, total: int) -> int:
    """How many failed hosts ``max_errors`` tolerates (shares round down)."""
    raw = str(text).strip()
    if raw.endswith("%"):
        try:
            share = float(raw[:-1])
        except ValueError:
            raise UsageError(f"rollout.max_errors: {raw!r} is neither a count nor a percentage") from None
        return math.floor(total * share / 100)
    return parse_size(raw, total, field_name="max_errors", minimum=0)


def make_batches(hosts: Sequence[str], batch_size: str | int, canary: int = 0) -> list[tuple[str, ...]]:
    """Split ``hosts`` into batches in order; the first batch is the canary when ``canary`` > 0."""
    hosts = list(dict.fromkeys(hosts))
    if not hosts:
        return []
    size = parse_size(batch_size, len(hosts))
    batches: list[tuple[str, ...]] = []
    rest = hosts
    if 0 < canary < len(hosts):
        batches.append(tuple(hosts[:canary]))
        rest = hosts[canary:]
    for i in range(0, len(rest), size):
        batches.append(tuple(rest[i : i + size]))
    return batches


@dataclass
class Rollout:
    """The progress of one rollout. The engine asks ``may_start`` before each batch and feeds results."""

    batches: list[tuple[str, ...]]
    max_errors: int
    results: dict[str, str] = field(default_factory=dict)
    stopped: Stop | None = None
    stop_reason: str = ""
    cut_running: bool = False  # the cutoff cancelled a batch while it ran (on_cutoff: cancel)

    @classmethod
    def plan(cls, hosts: Sequence[str], batch_size: str | int, canary: int, max_errors: str | int) -> Rollout:
        batches = make_batches(hosts, batch_size, canary)
        total = sum(len(b) for b in batches)
        return cls(batches=batches, max_errors=tolerated_errors(max_errors, total))

    @property
    def hosts(self) -> list[str]:
        return [h for b in self.batches for h in b]

    @property
    def failures(self) -> int:
        return sum(1 for s in self.results.values() if s in ("failed", "unreachable"))

    def may_start(self, index: int, now: datetime, deadline: datetime | None) -> bool:
        """Whether batch ``index`` may start now; records why not (halted or cutoff)."""
        if self.stopped:
            return False
        if deadline is not None and now >= deadline:
            self.stop("cutoff", f"cutoff reached at {deadline.isoformat()}; batch {index + 1} not started")
            return False
        return index < len(self.batches)

    def record(self, host: str, status: str) -> None:
        self.results[host] = status

    def check_errors(self) -> bool:
        """Halt (and return True) when failures exceed what max_errors tolerates."""
        if self.failures > self.max_errors and self.stopped is None:
            self.stop("halted", f"{self.failures} failed host(s) exceed max_errors ({self.max_errors})")
        return self.stopped == "halted"

    def stop(self, why: Stop, reason: str) -> None:
        if self.stopped is None:
            self.stopped, self.stop_reason = why, reason

    def final_states(self) -> dict[str, FinalState]:
        return final_states(self.hosts, self.results, self.stopped)

    def cancel_running(self, reason: str) -> None:
        """The cutoff came while a batch ran and the item cancels running work at the cutoff."""
        self.stop("cutoff", reason)
        self.cut_running = True

    def outcome(self) -> Outcome:
        if self.stopped == "cutoff" and self.cut_running:
            return "cancelled"
        return outcome(self.final_states(), self.stopped)


def final_states(
    hosts: Sequence[str], results: Mapping[str, str], stopped: Stop | None
) -> dict[str, FinalState]:
    """Map every host to its final state (see the module rules)."""
    out: dict[str, FinalState] = {}
    for host in hosts:
        status = results.get(host)
        if status in ("ok", "changed"):
            out[host] = "done"
        elif status in ("failed", "unreachable"):
            out[host] = "failed"
        elif status == "skipped":
            out[host] = "skipped"
        elif status == "not_started" or stopped == "cutoff":
            out[host] = "not_started"
        else:
            out[host] = "skipped"
    return out


def outcome(states: Mapping[str, FinalState], stopped: Stop | None) -> Outcome:
    """The run's outcome: halted beats cancelled (cutoff) beats failed beats succeeded."""
    if stopped == "halted":
        return "halted"
    if stopped == "cutoff" and any(s == "not_started" for s in states.values()):
        return "cancelled"
    if any(s == "failed" for s in states.values()):
        return "failed"
    return "succeeded"
