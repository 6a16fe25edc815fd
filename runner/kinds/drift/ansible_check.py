"""Run drift playbooks through ansible-runner in check+diff mode (or apply mode for remediation).

The events stream to ``on_event`` as they happen; nothing but the returned ``CheckRun`` is kept
in memory, and ansible-runner's per-event files are not written (the evidence gets the findings).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import AdapterError

PLUGIN_DIR = Path(__file__).resolve().parent / "ansible_plugins" / "callback"
EventHandler = Callable[[Mapping[str, Any]], None]


@dataclass(kw_only=True)
class CheckRun:
    """Everything a check run produced: result events, skip reasons, and ansible's own verdict."""

    status: str
    rc: int
    events: list[dict[str, Any]] = field(default_factory=list)
    skip_reasons: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def read_skip_reasons(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Parse the callback's JSON lines into (host, task uuid) -> reason fields."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out[(str(row["host"]), str(row["task_uuid"]))] = dict(row.get("res") or {})
    return out


_KEEP_EVENTS = frozenset(
    {
        "runner_on_ok",
        "runner_on_failed",
        "runner_on_unreachable",
        "runner_on_skipped",
        "playbook_on_handler_task_start",
        "playbook_on_stats",
    }
)


def run_playbook(
    playbook: Path,
    inventory: str,
    *,
    check: bool = True,
    limit: Sequence[str] = (),
    forks: int = 10,
    extravars: Mapping[str, Any] | None = None,
    envvars: Mapping[str, str] | None = None,
    on_event: EventHandler | None = None,
    work_dir: Path | None = None,
) -> CheckRun:
    """Run one playbook (``--check --diff`` unless ``check`` is False) and collect its result events."""
    import ansible_runner

    with tempfile.TemporaryDirectory(prefix="maintctl-drift-", dir=work_dir) as tmp:
        skips = Path(tmp) / "skips.jsonl"
        env = {
            "ANSIBLE_CALLBACK_PLUGINS": str(PLUGIN_DIR),
            "ANSIBLE_CALLBACKS_ENABLED": "maintctl_drift_skips",
            "MAINTCTL_DRIFT_SKIPS": str(skips),
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            **dict(envvars or {}),
        }
        kept: list[dict[str, Any]] = []

        def handler(event: dict[str, Any]) -> bool:
            if event.get("event") in _KEEP_EVENTS:
                kept.append(event)
                if on_event is not None:
                    on_event(event)
            return False  # keep events in memory only: per-event files cost time on large runs

        cmdline = "--diff" + (" --check" if check else "")
        try:
            result = ansible_runner.run(
                private_data_dir=tmp,
                playbook=str(playbook),
                inventory=inventory,
                cmdline=cmdline,
                limit=",".join(limit) if limit else None,
                forks=forks,
                extravars=dict(extravars or {}),
                envvars=env,
                quiet=True,
                suppress_output_file=True,
                event_handler=handler,
            )
        except Exception as exc:  # ansible-runner raises bare exceptions for bad set-ups
            raise AdapterError(f"{playbook}: ansible-runner could not start: {exc}") from exc
        return CheckRun(
            status=str(result.status),
            rc=int(result.rc or 0),
            events=kept,
            skip_reasons=read_skip_reasons(skips),
        )


def ensure_path() -> None:
    """ansible-runner shells out to ansible-playbook: put this interpreter's bin folder on PATH."""
    import sys

    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
