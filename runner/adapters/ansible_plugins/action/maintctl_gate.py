"""maintctl_gate: wait at the start of a batch until maintctl says go, skip this host, or stop.

Run by maintctl, ``MAINTCTL_GATE`` names a Unix socket of the engine (in a 0700 folder). Each host
of a batch sends ``{"host": NAME}`` and waits for one JSON line back:

* ``{"go": true, "vars": {...}}``: carry on; ``vars`` are what the engine decided for this batch
  (the play reads them from the registered result);
* ``{"skip": true, "msg": ...}``: this host is not to be changed (the play ends it with ``end_host``);
* ``{"stop": true, "msg": ...}``: the rollout is over (the play ends with ``end_play``).

The engine may take minutes to answer (pre-checks, backups, snapshots run while the play waits).
If the engine goes away the host fails: nothing runs without its decision. Run by hand (no
``MAINTCTL_GATE``), the gate lets every host through with no vars.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from ansible.plugins.action import ActionBase  # type: ignore[import-not-found,unused-ignore]


class ActionModule(ActionBase):  # type: ignore[misc,unused-ignore]
    TRANSFERS_FILES = False
    _requires_connection = False  # the gate talks to maintctl, never to the host

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        path = os.environ.get("MAINTCTL_GATE")
        if not path:
            result.update(changed=False, go=True, vars={}, msg="not run by maintctl: no gate")
            return result
        host = str((task_vars or {}).get("inventory_hostname", ""))
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(path)
                sock.sendall(json.dumps({"host": host}).encode() + b"\n")
                reply = _read_line(sock)
        except OSError as exc:
            result.update(failed=True, msg=f"maintctl gate {path}: {exc}")
            return result
        if not reply:
            result.update(failed=True, msg="maintctl went away before deciding this batch")
            return result
        decided = json.loads(reply)
        result.update(changed=False, **{k: v for k, v in decided.items() if k in ("go", "skip", "stop", "vars", "msg")})
        return result


def _read_line(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks)
