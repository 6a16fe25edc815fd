"""One ansible-playbook process for a whole rollout: lead plays once, then a gated play batch by batch.

Why: every ansible-playbook start costs about a second (interpreter, Ansible's imports, inventory,
SSH connections). A rollout run as one process per batch pays that per batch; plain Ansible users
write one play with ``serial:`` and pay it once. A session runs the kind's playbooks the plain way
while the engine keeps every decision it makes between batches (canary, max_errors, cutoff,
pre/post checks, pre-patch protection):

    session = PlaybookSession(spec, lead=[scan_playbook], batches=ctx.batches, data_dir=..., on_step=...)
    session.start()
    scan = session.wait_lead()                       # PlaybookResult of the lead plays, all hosts
    for index, hosts in enumerate(batches):          # the engine's batch loop
        session.open_batch(index, {h: Go({...}) or Skip("why") for h in hosts})
        result = session.wait_batch(index)           # PlaybookResult of that batch's hosts
    session.close()                                  # a play waiting at its gate ends there

``spec.playbook`` is the gated playbook: its play has ``maintctl_gate: true`` in its vars, and its
tasks read the engine's per-host values from ``maintctl_batch.vars`` (``runner.adapters.gated_playbook``
says what makes a playbook one). Ansible runs with the ``maintctl_gate`` strategy, which wraps the
estate's and, before each serial batch of the gated play, asks the engine in Ansible's own process which
hosts go (with their vars), which are skipped, or whether the rollout stopped: no task is spent on it.

How Ansible's batches stay the engine's: the play's ``hosts`` is ``maintctl_order`` (the engine's host
order; Ansible keeps the order of an explicit host list) and its ``serial`` is ``maintctl_serial`` (the
engine's batch sizes), so Ansible's serial batch k is the engine's batch k. Ansible announces every
serial batch with a play start event; counting them places each event in its batch, and a batch is
complete when the next one starts or the process ends. Each batch waits at the gate for the
engine's decisions on its hosts, given by ``open_batch``; ``close`` answers a waiting batch with "stop".

Ansible's own rule ends a play when every host of a serial batch failed. The engine may tolerate that
(max_errors); ``open_batch`` then starts a new process for the remaining batches (the gated playbook
alone). Hosts that failed a lead play are left out of later plays by Ansible and never reach the gate.

Held start: ``start(held=True)`` spawns ansible-playbook at once but makes it wait before its first
play (its start gate) until ``release()``: Ansible's own start-up (about a second of one core) then runs
beside the engine's bookkeeping (state, lease, evidence, change record) instead of after it. ``close()``
before ``release()`` answers the start gate with "stop": the playbook ends before any task has run.

Threads: ansible-runner and each gate answer run in threads of the session; steps reach ``on_step`` in
the caller's thread only (inside ``wait_*``), because the engine's state store belongs to that thread.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from runner.adapters.ansible import (
    PlaybookResult,
    PlaybookSpec,
    StepCallback,
    ansible_cmdline,
    ansible_env,
    prepare_data_dir,
    scrub_command_file,
)
from runner.adapters.ansible_events import EventFolder, stats_from_event
from runner.adapters.ansible_proc import exit_callback_env, runner_options
from runner.adapters.gate_server import GateServer
from runner.adapters.gated_playbook import GATE, gate_problem
from runner.adapters.session_parts import Decision, Go, SessionProcess, Skip
from runner.engine.kind import HostResult, StepResult
from runner.errors import AdapterError

__all__ = ["Decision", "Go", "PlaybookSession", "Skip"]

STRATEGY_PLUGINS = Path(__file__).resolve().parent / "ansible_plugins" / "strategy"
_DEFAULT_STRATEGY_PATH = "~/.ansible/plugins/strategy:/usr/share/ansible/plugins/strategy"
# A play without tasks between the lead playbooks and the gated one: its start event marks the end of
# the lead plays however many plays (and imports) they hold.
MARKER_PLAY = "maintctl session: batches follow"
_POLL = 0.2  # seconds between checks of the run's cancel signal and batch timeout while waiting


class PlaybookSession:
    """See the module docstring. Not reusable: start once, close once."""

    def __init__(
        self,
        spec: PlaybookSpec,
        *,
        lead: Sequence[Path] = (),
        batches: Sequence[Sequence[str]],
        data_dir: Callable[[str], Path],
        on_step: StepCallback | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> None:
        problem = gate_problem(spec.playbook)
        if problem:
            raise AdapterError(f"{spec.playbook}: this playbook cannot run as a session: {problem} "
                               "(see maintctl's playbooks/patch-apply.yml)")
        self.spec = spec
        self.lead = [p.resolve() for p in lead]
        self.batches = [tuple(b) for b in batches]
        self._batch_of = {h: i for i, b in enumerate(self.batches) for h in b}
        self._data_dir = data_dir
        self._on_step = on_step
        self._cancel = cancel or (lambda: False)
        self._cond = threading.Condition()
        self._steps: queue.SimpleQueue[tuple[str, StepResult] | None] = queue.SimpleQueue()
        self._decisions: dict[str, dict[str, Any]] = {}
        self._opened: dict[int, float] = {}
        self._passed: set[str] = set()
        self._stopping = False
        self._held = False
        self._released = False
        self._procs: list[SessionProcess] = []
        self._lead = EventFolder(self.hosts)
        self._gated = EventFolder(self.hosts)
        self._server = GateServer(self._gate)

    @property
    def hosts(self) -> list[str]:
        return [h for b in self.batches for h in b]

    # -- the caller's side -------------------------------------------------------------------

    def start(self, *, held: bool = False) -> None:
        """Start the server and the first process: the lead plays, then the gated play from batch 0.
        ``held``: the process waits before its first play until ``release()``."""
        self._held = held
        self._server.start()
        self._spawn(0)

    def release(
        self, *, on_step: StepCallback | None = None, cancel: Callable[[], bool] | None = None
    ) -> None:
        """Let a held session's first play start, now reporting to ``on_step`` and stopping on ``cancel``."""
        with self._cond:
            if on_step is not None:
                self._on_step = on_step
            if cancel is not None:
                self._cancel = cancel
            self._released = True
            self._cond.notify_all()

    def data_dirs(self) -> list[Path]:
        """The private folder of each process started (ansible-runner's input and artifacts)."""
        return [p.data_dir for p in self._procs]

    def wait_lead(self) -> PlaybookResult:
        """Block until the lead plays are done on every host; their per-host results."""
        proc = self._procs[0]
        self._wait(lambda: proc.done or proc.marked, None)
        self._raise_if_not_run(proc)
        status = proc.status if proc.ended and not proc.marked else "successful"
        return self._result(proc, self.hosts, self._lead, status)

    def batch_index(self, hosts: Sequence[str]) -> int:
        """The index of the batch made of ``hosts`` (the engine's batches are the session's)."""
        try:
            return self.batches.index(tuple(hosts))
        except ValueError:
            raise AdapterError(f"hosts {', '.join(hosts)} are not a batch of this session") from None

    def open_batch(self, index: int, decisions: Mapping[str, Decision]) -> None:
        """Hand the engine's decision for each host of batch ``index`` to the gate."""
        replies = {h: ({"go": True, "vars": dict(d.vars)} if isinstance(d, Go) else {"skip": True, "msg": d.message})
                   for h, d in decisions.items()}
        with self._cond:
            proc = self._procs[-1]
            restart = proc.done and proc.batch < index and any("go" in r for r in replies.values())
            self._decisions.update(replies)
            self._opened[index] = time.monotonic()
            self._cond.notify_all()
        if restart and not self._cancel():
            # Ansible ended the play (a whole batch failed) but the engine goes on: the rest in a new process.
            self._spawn(index)

    def wait_batch(self, index: int) -> PlaybookResult:
        """Block until batch ``index`` is complete; the results of its hosts."""
        proc = self._procs[-1]
        self._wait(lambda: proc.done or proc.batch > index, index)
        self._raise_if_not_run(proc)
        hosts = list(self.batches[index])
        result = self._result(proc, hosts, self._gated, proc.status if proc.ended else "successful")
        if proc.ended and proc.killed and proc.batch <= index:
            for h, r in result.hosts.items():
                if h in self._passed and not r.failed:  # let through the gate: its work had begun
                    r.status, r.message = "failed", f"playbook {proc.status} before it finished on this host " \
                                                    "(partially applied)"
                elif h not in self._passed:
                    r.status = "not_started"
        return result

    def close(self) -> None:
        """End the session: hosts at a gate are told to stop; a process still at work is cancelled."""
        with self._cond:
            self._stopping = True
            busy = [p for p in self._procs if not p.ended and not self._at_gate(p)]
            for p in busy:
                p.kill = True
            self._cond.notify_all()
        for p in self._procs:
            if p.thread is not None:
                p.thread.join(timeout=60)
                if p.thread.is_alive():
                    p.kill = True
                    p.thread.join()
        self._drain()
        self._server.close()

    def logs(self) -> list[tuple[str, bytes]]:
        """Each process's Ansible output (name, bytes), for evidence."""
        out = []
        for n, p in enumerate(self._procs, 1):
            path = p.data_dir / "artifacts" / "run" / "stdout"
            if path.exists():
                out.append((f"session{n}.log", path.read_bytes()))
        return out

    def __enter__(self) -> PlaybookSession:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _at_gate(self, proc: SessionProcess) -> bool:
        """True when the process needs no kill to end: between batches (its current batch has no
        decision yet) or past its last play."""
        held = self._held and not self._released and proc.first == 0
        return proc.done or held or (proc.batch >= 0 and proc.batch not in self._opened)

    def _wait(self, done: Callable[[], bool], index: int | None) -> None:
        timeout = self.spec.timeout
        while True:
            self._drain()
            with self._cond:
                if done():
                    break
                proc = self._procs[-1]
                opened = self._opened.get(index) if index is not None else None
                if timeout and opened is not None and time.monotonic() - opened > timeout and not proc.kill:
                    proc.kill = proc.timed_out = True
                self._cond.wait(_POLL)
        self._drain()

    def _drain(self) -> None:
        while True:
            try:
                item = self._steps.get_nowait()
            except queue.Empty:
                return
            if item is not None and self._on_step is not None:
                self._on_step(*item)

    def _gate(self, request: dict[str, Any]) -> dict[str, Any]:
        """A batch reached the gate: wait for the engine's decision on each of its hosts (or the end of
        the session)."""
        if request.get("start"):
            with self._cond:
                self._cond.wait_for(lambda: self._released or self._stopping)
                if self._stopping:
                    return {"stop": True, "msg": "the run ended before its first play"}
                return {"go": True}
        hosts = [str(h) for h in request.get("hosts") or ()]
        ours = [h for h in hosts if h in self._batch_of]
        with self._cond:
            self._cond.wait_for(lambda: all(h in self._decisions for h in ours) or self._stopping)
            if self._stopping and not all(h in self._decisions for h in ours):
                return {"stop": True, "msg": "the rollout stopped before this batch"}
            replies = {h: self._decisions.pop(h) for h in ours}
            self._passed.update(h for h, r in replies.items() if r.get("go"))
            return {"hosts": replies}

    def _spawn(self, first: int) -> None:
        hosts = tuple(h for b in self.batches[first:] for h in b)
        label = "session" if first == 0 else f"session-from-batch{first + 1}"
        proc = SessionProcess(first=first, hosts=hosts, data_dir=self._data_dir(label))
        playbooks = (self.lead if first == 0 else []) + [self.spec.playbook.resolve()]
        extravars = {
            **self.spec.extravars,
            "maintctl_order": list(hosts),
            "maintctl_serial": [len(b) for b in self.batches[first:]],
        }
        with self._cond:
            self._procs.append(proc)
        proc.thread = threading.Thread(target=self._run, args=(proc, playbooks, extravars),
                                       name=f"maintctl-{label}", daemon=True)
        proc.thread.start()

    def _run(self, proc: SessionProcess, playbooks: list[Path], extravars: dict[str, Any]) -> None:
        from runner.adapters.ansible_runner_loader import load_ansible_runner

        try:
            data_dir = proc.data_dir
            prepare_data_dir(data_dir)
            wrapper = data_dir / "project" / "session.yml"
            plays: list[dict[str, Any]] = [{"import_playbook": str(p)} for p in playbooks]
            marker = {"name": MARKER_PLAY, "hosts": "{{ maintctl_order }}", "gather_facts": False, "tasks": []}
            plays.insert(len(playbooks) - 1, marker)
            wrapper.write_text(json.dumps(plays), encoding="utf-8")
            env = {**ansible_env(self.spec, data_dir), **exit_callback_env(), **self._gate_env()}
            if self._held and proc.first == 0:
                env["MAINTCTL_GATE_START"] = "1"
            runner = load_ansible_runner().run(
                private_data_dir=str(data_dir),
                project_dir=str(data_dir / "project"),
                artifact_dir=str(data_dir / "artifacts"),
                ident="run",
                playbook=str(wrapper),
                inventory=[str(Path(p).resolve()) for p in self._inventories()],
                limit=",".join(proc.hosts),
                extravars=extravars,
                envvars=env,
                forks=self.spec.forks,
                cmdline=shlex.join(ansible_cmdline(self.spec)) or None,
                event_handler=lambda event: self._event(proc, event),
                cancel_callback=lambda: proc.kill or self._cancel(),
                settings={"suppress_ansible_output": True},
                **runner_options(),
            )
            scrub_command_file(data_dir / "artifacts" / "run" / "command")
            status = "timeout" if proc.timed_out else str(runner.status)
            rc = int(runner.rc if runner.rc is not None else -1)
            error = ""
        except Exception as exc:  # noqa: BLE001 - reported to the caller's thread, not lost in this one
            status, rc, error = "failed", -1, f"ansible-runner could not start the session: {exc}"
        with self._cond:
            proc.status, proc.rc, proc.error, proc.ended = status, rc, error, True
            self._cond.notify_all()
        self._steps.put(None)

    def _gate_env(self) -> dict[str, str]:
        return {
            "MAINTCTL_GATE": self._server.path,
            "MAINTCTL_STRATEGY": self.spec.strategy,
            "ANSIBLE_STRATEGY": GATE,
            "ANSIBLE_STRATEGY_PLUGINS": os.pathsep.join(
                [str(STRATEGY_PLUGINS), os.environ.get("ANSIBLE_STRATEGY_PLUGINS") or _DEFAULT_STRATEGY_PATH]),
        }

    def _inventories(self) -> list[Path]:
        inv = self.spec.inventory
        return [inv] if isinstance(inv, Path) else list(inv)

    def _event(self, proc: SessionProcess, event: dict[str, Any]) -> bool:
        kind = event.get("event")
        with self._cond:
            if kind == "playbook_on_play_start":
                if proc.marked:
                    proc.play_starts += 1
                elif (event.get("event_data") or {}).get("play") == MARKER_PLAY:
                    proc.marked = True
                self._cond.notify_all()
            elif kind == "playbook_on_stats":
                proc.stats = stats_from_event(event)
                self._cond.notify_all()
            else:
                folder = self._lead if proc.batch < 0 else self._gated
                produced = folder.feed(event)
                if produced is not None:
                    self._steps.put(produced)
        return self.spec.keep_events

    def _raise_if_not_run(self, proc: SessionProcess) -> None:
        if proc.error:
            raise AdapterError(proc.error)
        if proc.ended and proc.status == "failed" and not proc.stats:
            path = proc.data_dir / "artifacts" / "run" / "stdout"
            tail = path.read_text(encoding="utf-8", errors="replace")[-1500:].strip() if path.exists() else ""
            raise AdapterError(f"ansible-playbook {self.spec.playbook.name} did not run (rc {proc.rc})"
                               + (f":\n{tail}" if tail else ""))

    def _result(self, proc: SessionProcess, hosts: Sequence[str], folder: EventFolder, status: str) -> PlaybookResult:
        stdout = proc.data_dir / "artifacts" / "run" / "stdout"
        with self._cond:
            results = {h: _copy(folder.results.get(h)) or HostResult(host=h, status="not_started") for h in hosts}
        return PlaybookResult(rc=proc.rc if proc.ended else 0, status=status, hosts=results, stats=dict(proc.stats),
                              data_dir=proc.data_dir, events=folder.events,
                              stdout_path=stdout if stdout.exists() else None)


def _copy(result: HostResult | None) -> HostResult | None:
    if result is None:
        return None
    return HostResult(host=result.host, status=result.status, steps=list(result.steps), message=result.message,
                      data=dict(result.data))

