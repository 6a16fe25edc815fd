"""Pre/post checks: HTTP status, TCP connect, command on the runner (real sockets and processes)."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from runner.adapters.ssh import SSHTarget
from runner.catalogue.model import Check
from runner.engine.checks import run_checks


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def targets(host: str) -> SSHTarget:
    from pathlib import Path

    return SSHTarget(name=host, address="127.0.0.1", known_hosts=Path("/nonexistent"))


def test_http(web: int) -> None:
    ok, bad = run_checks(
        [Check(kind="http", url=f"http://{{address}}:{web}/health"),
         Check(kind="http", url=f"http://127.0.0.1:{web}/down", on="runner", name="down")],
        ["web1"], targets,
    )
    assert ok.ok and ok.host == "web1" and "HTTP 200" in ok.detail
    assert not bad.ok and bad.host == "runner" and "HTTP 503" in bad.detail and bad.name == "down"
    (expected,) = run_checks([Check(kind="http", url=f"http://127.0.0.1:{web}/x", expect_status=503)], ["a"])
    assert expected.ok
    (refused,) = run_checks([Check(kind="http", url=f"http://127.0.0.1:{closed_port()}/")], ["a"])
    assert not refused.ok
    (scheme,) = run_checks([Check(kind="http", url="file:///etc/passwd")], ["a"])
    assert not scheme.ok


def test_tcp(web: int) -> None:
    results = run_checks(
        [Check(kind="tcp", port=web), Check(kind="tcp", host="127.0.0.1", port=closed_port(),
                                            timeout=timedelta(seconds=1))],
        ["h1", "h2"], targets,
    )
    assert [r.ok for r in results] == [True, True, False, False]


def test_command_on_runner() -> None:
    good, bad = run_checks([Check(kind="command", command="echo fine", on="runner"),
                            Check(kind="command", command="echo broken >&2; exit 2", on="runner")], [])
    assert good.ok and "fine" in good.detail
    assert not bad.ok and "exit 2" in bad.detail and "broken" in bad.detail


def test_command_without_target_fails() -> None:
    (r,) = run_checks([Check(kind="command", command="true")], ["h"], None)
    assert not r.ok
