"""Progress output: live display on a terminal, plain lines for pipes, JSON lines for machines."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runner import redact
from runner.engine.progress import JsonLines, LiveDisplay, PlainLines, reporter_for


def events() -> list[tuple[str, dict[str, Any]]]:
    """The events of a short run whose cutoff is 75 minutes (and a few seconds) from now."""
    deadline = (datetime.now(UTC) + timedelta(minutes=75, seconds=20)).isoformat()
    return [("run.started", {"run_id": "r1", "item": "patch-web", "occurrence": "w@x", "hosts": ["web1", "web2"],
                             "batches": 2, "deadline": deadline}), *EVENTS]


EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("batch.started", {"index": 0, "of": 2, "hosts": ["web1"]}),
    ("host.step", {"host": "web1", "name": "apt", "status": "changed"}),
    ("host.result", {"host": "web1", "status": "changed", "message": ""}),
    ("batch.finished", {"index": 0, "status": "done", "message": ""}),
    ("host.result", {"host": "web2", "status": "failed", "message": "token s3cr3t-canary-value leaked"}),
    ("run.finished", {"run_id": "r1", "status": "halted", "message": "1 failed host(s) exceed max_errors (0)"}),
]


@pytest.fixture(autouse=True)
def secret() -> Iterator[None]:
    redact.register(["s3cr3t-canary-value"])
    yield
    redact.reset_for_tests()


def test_plain_lines() -> None:
    out = io.StringIO()
    rep = PlainLines(out)
    for e, d in events():
        rep(e, d)
    text = out.getvalue()
    assert "run r1 of patch-web (w@x): 2 host(s) in 2 batch(es)" in text
    assert "batch 1/2: web1" in text and "  web1: changed" in text and "run r1: halted" in text
    assert "apt" not in text  # steps are too fine-grained for plain output
    assert "s3cr3t" not in text and "********" in text


def test_json_lines() -> None:
    out = io.StringIO()
    rep = JsonLines(out)
    for e, d in events():
        rep(e, d)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [x["event"] for x in lines] == ["run.started"] + [e for e, _ in EVENTS]
    assert all("ts" in x for x in lines)
    assert "s3cr3t" not in out.getvalue()


def test_live_display_on_a_terminal() -> None:
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=100, color_system=None)
    rep = LiveDisplay(console)
    for e, d in events():
        rep(e, d)
    rep.close()
    text = buf.getvalue()
    assert "1/2  web1" in text  # the current batch and its hosts
    assert "ok 0  changed 1  failed 1  of 2" in text
    assert "1h15m left before cutoff" in text
    assert "s3cr3t" not in text


def test_reporter_choice() -> None:
    assert isinstance(reporter_for(True, io.StringIO()), JsonLines)
    assert isinstance(reporter_for(False, io.StringIO()), PlainLines)  # not a terminal
