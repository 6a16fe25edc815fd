"""maintctl_gate: Ansible's own strategy with maintctl's gate before each batch of a gated play.

maintctl runs a rollout as one ansible-playbook session (``runner.adapters.ansible_session``) and sets
``ANSIBLE_STRATEGY=maintctl_gate``; ``MAINTCTL_STRATEGY`` names the strategy that does the work
(``linear`` unless the estate chose another). For a play whose vars say ``maintctl_gate: true``, each
serial batch first asks the engine, over the Unix socket named by ``MAINTCTL_GATE``, what to do with
its hosts, and waits (the engine may take minutes: pre-checks, backups, snapshots):

* request ``{"hosts": [names]}``; reply ``{"hosts": {name: {"go": true, "vars": {...}}
  | {"skip": true, "msg": ...}}}``, or ``{"stop": true, "msg": ...}`` when the rollout is over;
* a host let through gets the engine's ``vars`` as the host variable ``maintctl_batch.vars``; a host
  skipped, or not named in the reply, ends before the batch's first task; stop ends the play.

A session started ahead of the engine's bookkeeping (``MAINTCTL_GATE_START=1``: ansible-playbook loads
while maintctl claims the run and opens its change record) also waits before its first play: request
``{"start": true}``; reply ``{"go": true}``, or ``{"stop": true, "msg": ...}``, on which the playbook
ends with an error before any task of any play has run.

Nothing runs without the engine's decision: if the engine cannot be asked, the playbook fails. Other
plays, and every play run by hand (no ``MAINTCTL_GATE``), run exactly as the working strategy runs them.
Why a strategy and not a task: the gate then costs one socket round trip in Ansible's own process per
batch, not a worker per host and three more tasks' events.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from ansible.errors import AnsibleError  # type: ignore[import-not-found,unused-ignore]
from ansible.plugins.loader import strategy_loader  # type: ignore[import-not-found,unused-ignore]

_WORKING = os.environ.get("MAINTCTL_STRATEGY") or "linear"
_start_gate = [os.environ.get("MAINTCTL_GATE_START") == "1"]  # asked once, before the first play
_Base: Any = strategy_loader.get(_WORKING, class_only=True)
if _Base is None or _WORKING == "maintctl_gate":
    raise AnsibleError(f"maintctl_gate: MAINTCTL_STRATEGY names no usable strategy: {_WORKING!r}")


class StrategyModule(_Base):  # type: ignore[misc,valid-type,unused-ignore]
    def run(self, iterator: Any, play_context: Any, *args: Any, **kwargs: Any) -> Any:
        path = os.environ.get("MAINTCTL_GATE")
        play = iterator._play
        if path and _start_gate[0]:
            _start_gate[0] = False
            reply = _ask(path, {"start": True})
            if not reply.get("go"):
                raise AnsibleError(f"maintctl did not start this run: {reply.get('msg') or 'stopped at its start'}")
        if path and _is_true((play.vars or {}).get("maintctl_gate")):
            self._set_hosts_cache(play)
            hosts = [h.name for h in self.get_hosts_left(iterator) if not iterator.is_failed(h)]
            self._apply(iterator, hosts, _ask(path, {"hosts": hosts}))
        return super().run(iterator, play_context, *args, **kwargs)

    def _apply(self, iterator: Any, hosts: list[str], reply: dict[str, Any]) -> None:
        decided = reply.get("hosts") or {}
        for name in hosts:
            decision = decided.get(name) or {}
            if reply.get("stop") or not decision.get("go"):
                iterator.end_host(name)
            else:  # keyed by name, as the variable manager reads it back
                self._variable_manager.set_host_variable(name, "maintctl_batch", {"vars": decision.get("vars") or {}})
        if reply.get("stop"):
            iterator.end_play = True


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "yes", "1")


def _ask(path: str, request: dict[str, Any]) -> dict[str, Any]:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(path)
            sock.sendall(json.dumps(request).encode() + b"\n")
            with sock.makefile("rb") as reader:
                line = reader.readline()
    except OSError as exc:
        raise AnsibleError(f"maintctl gate {path}: {exc}") from None
    if not line:
        raise AnsibleError("maintctl went away before deciding this batch: nothing runs without its decision")
    reply = json.loads(line)
    if not isinstance(reply, dict):
        raise AnsibleError(f"maintctl gate {path}: unexpected reply {line[:200]!r}")
    return reply
