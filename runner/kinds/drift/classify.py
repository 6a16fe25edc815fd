"""Classify Ansible check+diff events into drift findings. Pure: events in, findings out.

Per host and task:
* ``ok`` and not changed -> in_sync; ``ok`` and changed -> drift, with the diff;
* skipped because of check mode (module without check support such as command/shell/raw/script,
  "would have run if not in check mode", or a ``when`` on ``ansible_check_mode``) -> unknown;
  a skip whose reason was not reported is unknown too: a skip never counts as in sync;
* skipped because a condition unrelated to check mode was false -> not_applicable;
* failed or unreachable -> error. Handlers are not findings: they follow from a task's change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from runner.kinds.drift import diffs
from runner.kinds.drift.findings import Finding, Status

# Actions that cannot report what they would do: in check mode they are skipped or lie.
UNCHECKABLE_ACTIONS = frozenset({"command", "shell", "raw", "script", "expect", "win_shell", "win_command", "psexec"})
_RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}
SkipReasons = Mapping[tuple[str, str], Mapping[str, Any]]


def short_action(action: str) -> str:
    """``ansible.builtin.shell`` -> ``shell``."""
    return action.rsplit(".", 1)[-1]


def _skip_status(action: str, reason: Mapping[str, Any] | None) -> tuple[Status, str]:
    if reason is None:
        if short_action(action) in UNCHECKABLE_ACTIONS:
            return (
                "unknown",
                f"{short_action(action)} is not checked in check mode (check mode not supported)",
            )
        return "unknown", "skipped in check mode; reason not reported"
    msg = str(reason.get("msg") or "")
    condition = str(reason.get("false_condition") or "")
    if "check mode" in msg.lower() or "check_mode" in msg.lower():
        return "unknown", f"cannot be checked: {msg}"
    if "ansible_check_mode" in condition:
        return "unknown", f"skipped because of check mode (when: {condition})"
    if reason.get("skip_reason") and condition:
        return "not_applicable", f"not applicable: condition false ({condition})"
    if reason.get("skip_reason"):
        return "not_applicable", f"not applicable: {reason['skip_reason']}"
    return "unknown", f"skipped in check mode: {msg or 'no reason given'}"


def _ok_status(action: str, res: Mapping[str, Any]) -> tuple[Status, str, str]:
    if res.get("skipped"):
        # Some actions report a check-mode skip as an ok result flagged skipped.
        status, message = _skip_status(action, res)
        return status, message, ""
    if res.get("changed"):
        return "drift", "would change in check mode", diffs.from_result(res)
    return "in_sync", "", ""


def _message(res: Mapping[str, Any]) -> str:
    msg = res.get("msg") or res.get("stderr") or res.get("reason") or ""
    return str(msg).strip().splitlines()[0][:500] if str(msg).strip() else ""


def classify_event(item: str, event: Mapping[str, Any], skip_reasons: SkipReasons | None = None) -> Finding | None:
    """The finding for one host-level result event, or None for any other event."""
    kind = _RESULT_EVENTS.get(str(event.get("event", "")))
    data = event.get("event_data") or {}
    if kind is None or not data.get("host"):
        return None
    action = str(data.get("resolved_action") or data.get("task_action") or "")
    res: Mapping[str, Any] = data.get("res") or {}
    diff = ""
    if kind == "ok":
        status, message, diff = _ok_status(action, res)
    elif kind == "skipped":
        reason = (skip_reasons or {}).get((str(data["host"]), str(data.get("task_uuid", ""))))
        status, message = _skip_status(action, reason)
    elif kind == "unreachable":
        status, message = "error", f"unreachable: {_message(res)}"
    else:
        status, message = "error", f"failed: {_message(res)}"
    return Finding(
        item=item,
        source="ansible",
        target=str(data["host"]),
        check=str(data.get("task") or short_action(action) or "unnamed task"),
        status=status,
        message=message,
        diff=diff,
        location=str(data.get("task_path") or ""),
        action=short_action(action),
    )


def classify(
    item: str,
    events: Iterable[Mapping[str, Any]],
    skip_reasons: SkipReasons | None = None,
    hosts: Sequence[str] = (),
) -> list[Finding]:
    """All findings of one check run. Hosts in ``hosts`` that no task reached get an error finding."""
    handler_tasks: set[str] = set()
    findings: list[Finding] = []
    for event in events:
        data = event.get("event_data") or {}
        if event.get("event") == "playbook_on_handler_task_start":
            handler_tasks.add(str(data.get("task_uuid", "")))
            continue
        if str(data.get("task_uuid", "")) in handler_tasks:
            continue
        finding = classify_event(item, event, skip_reasons)
        if finding is not None:
            findings.append(finding)
    seen = {f.target for f in findings}
    for host in hosts:
        if host not in seen:
            findings.append(
                Finding(
                    item=item,
                    source="ansible",
                    target=host,
                    check="(host)",
                    status="error",
                    message="no task ran on this host (not matched by the playbook, or the run stopped)",
                )
            )
    return _dedupe(findings)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per host x task location; a task run twice on a host keeps its worst result."""
    rank = {
        "error": 6,
        "drift": 5,
        "unknown": 4,
        "unmanaged": 3,
        "in_sync": 2,
        "not_applicable": 1,
        "waived": 0,
    }
    best: dict[tuple[str, str, str], Finding] = {}
    for f in findings:
        key = (f.target, f.check, f.location)
        if key not in best or rank[f.status] > rank[best[key].status]:
            best[key] = f
    kept = list(best.values())
    # Two tasks with the same name on a host: name them by location so each keeps its own identity.
    names: dict[tuple[str, str], int] = {}
    for f in kept:
        names[(f.target, f.check)] = names.get((f.target, f.check), 0) + 1
    return [replace(f, check=f"{f.check} @ {f.location}") if names[(f.target, f.check)] > 1 else f for f in kept]
