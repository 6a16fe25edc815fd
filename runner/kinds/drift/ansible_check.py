"""Run a drift playbook through ansible-runner in check+diff mode (or apply mode to remediate).

Settings come from the engine's adapter (``runner.adapters.ansible``: pinned environment, host key
checking, interpreter, forks); this module adds what classification needs and the adapter's
per-host step folding drops: the raw result events (task uuid, task path, handler markers) and the
reason a task was skipped, recorded by a small callback plugin. ansible-playbook ends without the
interpreter's teardown (``maintctl_exit``, see ``runner.adapters.ansible_proc``). Events stream to
``on_event`` as they happen; ansible-runner's per-event files are not written.
"""

from __future__ import annotations

import json
import shlex
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from runner.adapters.ansible import PlaybookSpec, ansible_cmdline, ansible_env
from runner.adapters.ansible_proc import exit_callback_env, runner_options
from runner.adapters.ansible_runner_loader import load_ansible_runner
from runner.errors import AdapterError

PLUGIN_DIR = Path(__file__).resolve().parent / "ansible_plugins" / "callback"
EventHandler = Callable[[Mapping[str, Any]], None]
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


@dataclass(kw_only=True)
class CheckRun:
    """Everything a run produced: result events, skip reasons, and ansible's own verdict."""

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


def spec_for(
    playbook: Path, inventory: str | Path | list[Path], *, check: bool = True, forks: int = 10, **kw: Any
) -> PlaybookSpec:
    """A PlaybookSpec for a drift run (diff always on; check unless remediating)."""
    inv = [Path(p) for p in inventory] if isinstance(inventory, list) else Path(inventory)
    kw.setdefault("hosts", ())
    return PlaybookSpec(playbook=Path(playbook), inventory=inv, check=check, diff=True, forks=forks, **kw)


def run_playbook(
    spec: PlaybookSpec,
    *,
    on_event: EventHandler | None = None,
    cancel: Callable[[], bool] | None = None,
    work_dir: Path | None = None,
    on_start: Callable[[], None] | None = None,
) -> CheckRun:
    """Run ``spec`` and collect its result events. ``spec.hosts`` empty means every host of the plays.

    ``on_start()`` is called once, on the run's first event: ansible-playbook is running by then, on
    the other core, so what the caller does there (imports only the results need) costs no wall time.
    """
    ansible_runner = load_ansible_runner()

    if not spec.playbook.is_file():
        raise AdapterError(f"playbook {spec.playbook} does not exist")
    with tempfile.TemporaryDirectory(prefix="maintctl-drift-", dir=work_dir) as tmp:
        data_dir = Path(tmp)
        for sub in ("tmp", "cp"):
            (data_dir / sub).mkdir(mode=0o700)
        skips = data_dir / "skips.jsonl"
        env = ansible_env(spec, data_dir)
        env.update(exit_callback_env([PLUGIN_DIR], ["maintctl_drift_skips"]), MAINTCTL_DRIFT_SKIPS=str(skips))
        kept: list[dict[str, Any]] = []
        started: list[bool] = []

        def handler(event: dict[str, Any]) -> bool:
            if not started:
                started.append(True)
                if on_start is not None:
                    on_start()
            if event.get("event") in _KEEP_EVENTS:
                kept.append(event)
                if on_event is not None:
                    on_event(event)
            return False  # in memory only: per-event files cost time on large runs

        inventories = [spec.inventory] if isinstance(spec.inventory, Path) else list(spec.inventory)
        try:
            result = ansible_runner.run(
                private_data_dir=tmp,
                playbook=str(spec.playbook.resolve()),
                inventory=[str(Path(p).resolve()) for p in inventories],
                cmdline=shlex.join(ansible_cmdline(spec)) or None,
                limit=",".join(spec.hosts) if spec.hosts else None,
                forks=spec.forks,
                extravars=dict(spec.extravars),
                envvars=env,
                event_handler=handler,
                cancel_callback=cancel or (lambda: False),
                settings={"suppress_ansible_output": True, "suppress_output_file": True},
                **runner_options(),
            )
        except Exception as exc:  # ansible-runner raises its own and plain exceptions alike
            raise AdapterError(f"ansible-runner could not start {spec.playbook.name}: {exc}") from exc
        rc = int(result.rc if result.rc is not None else -1)
        if result.status == "failed" and not any(e.get("event") == "playbook_on_stats" for e in kept):
            raise AdapterError(
                f"ansible-playbook {spec.playbook.name} did not run (rc {rc}): syntax or inventory error"
            )
        return CheckRun(status=str(result.status), rc=rc, events=kept, skip_reasons=read_skip_reasons(skips))


def with_hosts(spec: PlaybookSpec, hosts: list[str]) -> PlaybookSpec:
    return replace(spec, hosts=hosts)
