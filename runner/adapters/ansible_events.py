"""Fold ansible-runner events into per-host results as they arrive. Pure: no I/O.

Ansible censors ``no_log`` task results itself (``censored`` replaces the result); we keep only what
evidence needs from each result — message, rc, a short stdout/stderr tail, the diff — so that secrets
in large module outputs never get copied around, and the folding stays cheap for large runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from runner.engine.kind import HostResult, HostStatus, StepResult

# event name -> step status (``changed`` is decided from the result)
_RESULT_EVENTS: dict[str, HostStatus] = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
    "runner_item_on_ok": "ok",
    "runner_item_on_failed": "failed",
    "runner_item_on_skipped": "skipped",
}
_TAIL = 2000
CAPTURE_PREFIX = "capture:"
_KEEP = ("msg", "rc", "cmd", "path", "dest", "state", "skip_reason", "skipped_reason")


def _tail(text: Any) -> str:
    s = text if isinstance(text, str) else "\n".join(map(str, text)) if isinstance(text, list) else str(text)
    return s[-_TAIL:]


def _ts(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def step_from_event(event: Mapping[str, Any]) -> tuple[str, StepResult] | None:
    """Turn one host result event into (host, step); None for events that are not host results."""
    kind = event.get("event", "")
    status = _RESULT_EVENTS.get(kind)
    data = event.get("event_data") or {}
    host = data.get("host") or data.get("remote_addr")
    if status is None or not host:
        return None
    res = data.get("res") or {}
    if not isinstance(res, dict):
        res = {}
    if status == "failed" and data.get("ignore_errors"):
        status = "ok"
    if status == "ok" and res.get("changed"):
        status = "changed"
    facts: dict[str, Any] = {"action": data.get("task_action", ""), "changed": bool(res.get("changed"))}
    if res.get("censored"):
        facts["censored"] = True
    for key in _KEEP:
        if key in res and res[key] not in (None, ""):
            facts[key] = res[key] if isinstance(res[key], (int, float, bool)) else _tail(res[key])
    # Tasks named "capture: ..." hand their whole stdout to the kind (scan output, versions).
    full = str(data.get("task") or "").startswith(CAPTURE_PREFIX)
    for stream in ("stdout", "stderr"):
        if res.get(stream):
            facts[stream] = str(res[stream]) if full and stream == "stdout" else _tail(res[stream])
    if res.get("diff"):
        facts["diff"] = res["diff"]
    if data.get("ignore_errors") and kind.endswith("failed"):
        facts["ignored"] = True
    if kind.startswith("runner_item"):
        facts["item"] = _tail(res.get("item", data.get("item", "")))
    message = str(facts.get("msg", "")) if status in ("failed", "unreachable") else ""
    step = StepResult(
        name=str(data.get("task") or kind), status=status, started=_ts(data.get("start")),
        finished=_ts(data.get("end") or event.get("created")), message=message[-_TAIL:], data=facts,
    )
    return str(host), step


def stats_from_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The per-host counters of a ``playbook_on_stats`` event."""
    data = event.get("event_data") or {}
    return {k: data.get(k) or {} for k in ("ok", "failures", "dark", "skipped", "changed", "ignored", "rescued",
                                           "processed")}


def status_from_stats(host: str, stats: Mapping[str, Any]) -> HostStatus | None:
    """A host's overall status from the playbook_on_stats counters (None when the host is absent)."""
    def count(name: str) -> int:
        value = (stats.get(name) or {}).get(host, 0)
        return int(value) if isinstance(value, int) else 0

    if not any(host in (stats.get(k) or {}) for k in ("ok", "failures", "dark", "skipped", "changed")):
        return None
    if count("dark"):
        return "unreachable"
    if count("failures"):
        return "failed"
    if count("changed"):
        return "changed"
    if count("ok"):
        return "ok"
    return "skipped"


def status_from_steps(steps: Iterable[StepResult]) -> HostStatus:
    """A host's status from its steps, used while a play is still running."""
    seen = {s.status for s in steps}
    for status in ("unreachable", "failed", "changed", "ok"):
        if status in seen:
            return status
    return "skipped" if seen else "not_started"


class EventFolder:
    """Accumulates per-host results for the hosts of one playbook run."""

    def __init__(self, hosts: Iterable[str]) -> None:
        self.results: dict[str, HostResult] = {h: HostResult(host=h, status="not_started") for h in hosts}
        self.stats: dict[str, Any] = {}
        self.events = 0

    def feed(self, event: Mapping[str, Any]) -> tuple[str, StepResult] | None:
        """Take one event; return the (host, step) it produced, if it was a host result."""
        self.events += 1
        if event.get("event") == "playbook_on_stats":
            self.stats = stats_from_event(event)
            for host, result in self.results.items():
                final = status_from_stats(host, self.stats)
                if final is not None:
                    result.status = final
            return None
        found = step_from_event(event)
        if found is None:
            return None
        host, step = found
        result = self.results.setdefault(host, HostResult(host=host, status="not_started"))
        result.steps.append(step)
        if not self.stats:
            result.status = status_from_steps(result.steps)
        if step.status in ("failed", "unreachable") and step.message:
            result.message = step.message
        return found
