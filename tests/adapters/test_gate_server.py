"""The engine's side of the gate: one JSON request per connection, a private socket, an immediate close."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
from pathlib import Path
from typing import Any

from runner.adapters.gate_server import GateServer


def ask(path: str, payload: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(payload)
        with sock.makefile("rb") as reader:
            return reader.readline()


def test_answers_each_request_and_keeps_the_socket_private() -> None:
    seen: list[dict[str, Any]] = []

    def answer(request: dict[str, Any]) -> dict[str, Any]:
        seen.append(request)
        return {"hosts": {h: {"go": True} for h in request["hosts"]}}

    server = GateServer(answer)
    server.start()
    try:
        reply = json.loads(ask(server.path, b'{"hosts": ["a", "b"]}\n'))
        assert reply == {"hosts": {"a": {"go": True}, "b": {"go": True}}}
        assert seen == [{"hosts": ["a", "b"]}]
        assert stat.S_IMODE(os.stat(server.path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(Path(server.path).parent).st_mode) == 0o700
        assert ask(server.path, b"not json\n") == b"", "nonsense gets no answer"
        assert ask(server.path, b"[1, 2]\n") == b""
    finally:
        server.close()
    assert not Path(server.path).parent.exists()


def test_close_wakes_the_accepting_thread_while_an_answer_is_pending() -> None:
    entered, release = threading.Event(), threading.Event()

    def answer(_request: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        release.wait(30)
        return {"stop": True}

    server = GateServer(answer)
    server.start()
    replies: list[bytes] = []
    asker = threading.Thread(target=lambda: replies.append(ask(server.path, b'{"hosts": []}\n')))
    asker.start()
    assert entered.wait(10)
    closer = threading.Thread(target=server.close)
    closer.start()
    closer.join(timeout=10)
    assert not closer.is_alive(), "close must not wait for pending answers"
    release.set()
    asker.join(timeout=10)
    assert replies == [b'{"stop": true}\n'], "a request being answered still gets its answer"
    try:
        ask(server.path, b"{}\n")
        raise AssertionError("a closed gate must refuse connections")
    except OSError:
        pass
