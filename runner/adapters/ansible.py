"""Run a playbook through ansible-runner, streaming events into per-host results.

How kinds use it::

    spec = PlaybookSpec(playbook=path, inventory=inventory_path, hosts=batch, extravars={...},
                        check=True, diff=True, known_hosts=known_hosts_file)
    result = run_playbook(spec, data_dir=fresh_dir, on_step=callback, cancel=should_cancel)
    result.hosts["web1"].status, result.hosts["web1"].steps[...]

Settings are explicit, never Ansible's defaults by accident: forks, strategy, pipelining, host key
checking with our known_hosts file, and the interpreter (``ansible_python_interpreter`` from the
inventory wins; otherwise ``/usr/bin/python3`` — discovery is never used).

Event volume: ansible-runner writes one JSON file per event under ``artifacts/*/job_events``. We fold
each event into results in memory and return False from the event handler so that the second
(full) file is not written; per-event files are kept only with ``keep_events=True`` (debugging). See
bench/bench_engine.py for the measured cost. The ansible-runner options every run shares (no env files,
in-memory fact cache, no close delay) are in ``runner.adapters.ansible_proc``.
"""

from __future__ import annotations

import os
import shlex
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.adapters.ansible_events import EventFolder
from runner.adapters.ansible_proc import exit_callback_env, runner_options
from runner.engine.kind import HostResult, StepResult
from runner.errors import AdapterError

DEFAULT_INTERPRETER = "/usr/bin/python3"
StepCallback = Callable[[str, StepResult], None]


@dataclass(frozen=True, kw_only=True)
class PlaybookSpec:
    """One playbook run on a set of hosts."""

    playbook: Path
    inventory: Sequence[Path] | Path
    hosts: Sequence[str]
    extravars: Mapping[str, Any] = field(default_factory=dict)
    check: bool = False
    diff: bool = False
    tags: Sequence[str] = ()
    skip_tags: Sequence[str] = ()
    forks: int = 10
    strategy: str = "linear"
    pipelining: bool = True
    known_hosts: Path | None = None
    private_key: Path | None = None
    interpreter: str = DEFAULT_INTERPRETER
    timeout: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    keep_events: bool = False


@dataclass(kw_only=True)
class PlaybookResult:
    """What a playbook run did: per-host results in the order of ``spec.hosts``."""

    rc: int
    status: str  # successful, failed, canceled, timeout
    hosts: dict[str, HostResult]
    stats: dict[str, Any]
    data_dir: Path
    events: int
    stdout_path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == "successful" and not any(r.failed for r in self.hosts.values())

    def stdout_tail(self, chars: int = 4000) -> str:
        if self.stdout_path is None or not self.stdout_path.exists():
            return ""
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")[-chars:]


_cp_lock = threading.Lock()
_cp_dir: list[Path] = []


def control_path_dir() -> Path:
    """A short private folder for SSH control sockets, shared by this process's playbook runs.

    Unix socket paths are limited to 108 bytes, so the run's data dir (deep in the state folder) cannot
    hold them; sharing one folder lets later batches reuse the SSH connections of earlier ones.
    """
    with _cp_lock:
        if not _cp_dir:
            import atexit
            import shutil
            import tempfile

            path = Path(tempfile.mkdtemp(prefix="mctl-cp-"))
            os.chmod(path, 0o700)
            atexit.register(shutil.rmtree, path, True)
            _cp_dir.append(path)
        return _cp_dir[0]


def ansible_env(spec: PlaybookSpec, data_dir: Path) -> dict[str, str]:
    """The environment that pins every behaviour we rely on (pure, for tests and evidence)."""
    ssh_args = ["-o ControlMaster=auto", "-o ControlPersist=60s", "-o StrictHostKeyChecking=yes"]
    if spec.known_hosts is not None:
        ssh_args.append(f"-o UserKnownHostsFile={spec.known_hosts}")
    env = {
        # ansible-runner starts ansible-playbook by name: the venv's bin must come first.
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_ARGS": " ".join(ssh_args),
        "ANSIBLE_PYTHON_INTERPRETER": spec.interpreter,
        "ANSIBLE_STRATEGY": spec.strategy,
        "ANSIBLE_PIPELINING": "True" if spec.pipelining else "False",
        "ANSIBLE_FORKS": str(spec.forks),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_LOCAL_TEMP": str(data_dir / "tmp"),
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_path_dir()),
    }
    if spec.private_key is not None:
        env["ANSIBLE_PRIVATE_KEY_FILE"] = str(spec.private_key)
    env.update(spec.env)
    return env


def ansible_cmdline(spec: PlaybookSpec) -> list[str]:
    """Extra ansible-playbook arguments for check/diff mode and tags (pure)."""
    args: list[str] = []
    if spec.check:
        args.append("--check")
    if spec.diff:
        args.append("--diff")
    if spec.tags:
        args += ["--tags", ",".join(spec.tags)]
    if spec.skip_tags:
        args += ["--skip-tags", ",".join(spec.skip_tags)]
    return args


def private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def prepare_data_dir(data_dir: Path) -> None:
    """ansible-runner's private data dir and the folders it and Ansible write to, all 0700."""
    private_dir(data_dir)
    for sub in ("tmp", "project", "artifacts"):
        private_dir(data_dir / sub)


def run_playbook(
    spec: PlaybookSpec,
    *,
    data_dir: Path,
    on_step: StepCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> PlaybookResult:
    """Run ``spec`` with ``data_dir`` (created 0700, must be fresh) as ansible-runner's private data dir.

    ``on_step(host, step)`` is called for every host result as it happens (from the calling thread).
    ``cancel()`` is polled; returning True stops the run (remaining hosts stay ``not_started``).
    Raises ``AdapterError`` when Ansible could not run the playbook at all (syntax error, missing
    file, no hosts matched); a playbook that ran and failed on hosts returns normally.
    """
    from runner.adapters.ansible_runner_loader import load_ansible_runner

    ansible_runner = load_ansible_runner()

    if not spec.playbook.is_file():
        raise AdapterError(f"playbook {spec.playbook} does not exist")
    if not spec.hosts:
        raise AdapterError(f"playbook {spec.playbook.name}: no hosts to run on")
    if data_dir.exists() and any(data_dir.iterdir()):
        raise AdapterError(f"{data_dir}: ansible data dir is not fresh")
    prepare_data_dir(data_dir)
    folder = EventFolder(spec.hosts)
    lock = threading.Lock()

    def handle(event: dict[str, Any]) -> bool:
        with lock:
            produced = folder.feed(event)
        if produced is not None and on_step is not None:
            on_step(*produced)
        return spec.keep_events

    inventories = [spec.inventory] if isinstance(spec.inventory, Path) else list(spec.inventory)
    try:
        runner = ansible_runner.run(
            private_data_dir=str(data_dir),
            project_dir=str(data_dir / "project"),
            artifact_dir=str(data_dir / "artifacts"),
            ident="run",
            playbook=str(spec.playbook.resolve()),
            inventory=[str(p.resolve()) for p in inventories],
            limit=",".join(spec.hosts),
            extravars=dict(spec.extravars),
            envvars={**ansible_env(spec, data_dir), **exit_callback_env()},
            forks=spec.forks,
            cmdline=shlex.join(ansible_cmdline(spec)) or None,
            timeout=spec.timeout,
            event_handler=handle,
            cancel_callback=cancel or (lambda: False),
            settings={"suppress_ansible_output": True},
            **runner_options(),
        )
    except Exception as exc:  # ansible-runner raises its own and plain exceptions alike
        raise AdapterError(f"ansible-runner could not start {spec.playbook.name}: {exc}") from exc
    scrub_command_file(data_dir / "artifacts" / "run" / "command")
    return _result(spec, data_dir, runner, folder)


def scrub_command_file(path: Path) -> None:
    """ansible-runner dumps the whole environment (credentials included) next to the command: drop it."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    data["env"] = {k: v for k, v in data.get("env", {}).items() if k.startswith(("ANSIBLE_", "RUNNER_"))}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def _result(spec: PlaybookSpec, data_dir: Path, runner: Any, folder: EventFolder) -> PlaybookResult:
    stdout = data_dir / "artifacts" / "run" / "stdout"
    rc = int(runner.rc if runner.rc is not None else -1)
    status = str(runner.status)
    result = PlaybookResult(
        rc=rc, status=status, hosts={h: folder.results[h] for h in spec.hosts}, stats=folder.stats,
        data_dir=data_dir, events=folder.events, stdout_path=stdout if stdout.exists() else None,
    )
    if not folder.stats and status in ("canceled", "timeout"):
        # The play never finished: a host that began is partially changed, which is not "done".
        for r in result.hosts.values():
            if r.steps:
                r.status = "failed"
                r.message = f"playbook {status} before it finished on this host (partially applied)"
            else:
                r.status = "not_started"
    if status == "failed" and not folder.stats:
        tail = result.stdout_tail(1500).strip()
        raise AdapterError(
            f"ansible-playbook {spec.playbook.name} did not run (status {status}, rc {rc})"
            + (f":\n{tail}" if tail else "")
        )
    return result
