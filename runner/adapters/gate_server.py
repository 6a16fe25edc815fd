"""The engine's side of the maintctl gate: a private Unix socket answering one JSON request per connection.

ansible-playbook's gate (the ``maintctl_gate`` strategy) connects, sends one JSON line and waits for one
JSON line back. Each connection is answered in its own thread, because an answer may wait minutes for
the engine (pre-checks, backups, snapshots run while the play waits at its gate).

The socket lives in a fresh 0700 folder (short path: Unix socket paths are limited to 108 bytes) and is
itself 0600: only this user's processes may ask. ``close`` returns at once: shutting the listening
socket down wakes the accepting thread, where a polling server would wait out its poll interval.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

Answer = Callable[[dict[str, Any]], dict[str, Any]]


class GateServer:
    """Serve ``answer(request) -> reply`` on a Unix socket until ``close``."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self._dir = Path(tempfile.mkdtemp(prefix="mctl-gate-"))
        os.chmod(self._dir, 0o700)
        self.path = str(self._dir / "gate")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.bind(self.path)
            os.chmod(self.path, 0o600)
            self._sock.listen(64)
        except OSError:
            self._sock.close()
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._accept, name="maintctl-gate", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop accepting (at once), remove the socket; requests being answered finish in their threads."""
        if self._closed:
            return
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # never listened or already shut: nothing to wake
        if self._thread is not None:
            self._thread.join()
        self._sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), name="maintctl-gate-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                with conn.makefile("rb") as reader:
                    line = reader.readline()
                request = json.loads(line) if line else None
                if not isinstance(request, dict):
                    return
                conn.sendall(json.dumps(self._answer(request)).encode() + b"\n")
            except (OSError, ValueError):
                return  # the asking process went away (cancelled) or spoke nonsense: nothing to answer

