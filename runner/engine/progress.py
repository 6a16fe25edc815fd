"""Progress of a run for people and machines: a live display on a terminal, plain lines otherwise,
or one JSON object per event (``--json``). The engine calls ``reporter(event, data)``.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any, Protocol


class Reporter(Protocol):
    def __call__(self, event: str, data: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


class JsonLines:
    """One JSON object per event: ``{"ts": ..., "event": ..., **data}``."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self.out = out or sys.stdout
        self._lock = threading.Lock()

    def __call__(self, event: str, data: Mapping[str, Any]) -> None:
        from runner.redact import redact

        line = json.dumps(redact({"ts": datetime.now(UTC).isoformat(), "event": event, **data}), default=str)
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()

    def close(self) -> None:
        pass


def describe(event: str, data: Mapping[str, Any]) -> str | None:
    """A one-line text for an event, or None for events too fine-grained for plain output."""
    d = data
    texts = {
        "run.started": lambda: f"run {d.get('run_id')} of {d.get('item')} ({d.get('occurrence')}): "
        f"{len(d.get('hosts', []))} host(s) in {d.get('batches')} batch(es)"
        + (f", no new batch after {d['deadline']}" if d.get("deadline") else ""),
        "run.message": lambda: str(d.get("text", "")),
        "change.opened": lambda: f"change {d.get('id')} opened ({d.get('type')})",
        "change.approval": lambda: f"change {d.get('id')}: {d.get('outcome')}",
        "change.closed": lambda: f"change {d.get('id')} closed: {d.get('code')}",
        "batch.started": lambda: f"batch {int(d.get('index', 0)) + 1}/{d.get('of')}: {', '.join(d.get('hosts', []))}",
        "check.result": lambda: f"  {d.get('phase')}-check {d.get('name')} on {d.get('host')}: "
        f"{'ok' if d.get('ok') else 'FAILED'} ({d.get('detail')})",
        "host.result": lambda: f"  {d.get('host')}: {d.get('status')}"
        + (f" - {d.get('message')}" if d.get("message") else ""),
        "batch.finished": lambda: f"batch {int(d.get('index', 0)) + 1}: {d.get('status')}"
        + (f" ({d.get('message')})" if d.get("message") else ""),
        "run.finished": lambda: f"run {d.get('run_id')}: {d.get('status')}"
        + (f" - {d.get('message')}" if d.get("message") else ""),
    }
    make = texts.get(event)
    return make() if make else None


class PlainLines:
    """Plain text lines for logs and pipes."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self.out = out or sys.stdout
        self._lock = threading.Lock()

    def __call__(self, event: str, data: Mapping[str, Any]) -> None:
        from runner.redact import redact_text

        text = describe(event, data)
        if text is not None:
            text = redact_text(text)
            with self._lock:
                self.out.write(text + "\n")
                self.out.flush()

    def close(self) -> None:
        pass


class LiveDisplay:
    """A rich live panel: batch, hosts, ok/changed/failed counts and time left before the cutoff."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console(stderr=False)
        self.state: dict[str, Any] = {"batch": "-", "hosts": [], "counts": {}, "deadline": None, "title": ""}
        self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
        self.live.start()
        self._lock = threading.Lock()

    def __call__(self, event: str, data: Mapping[str, Any]) -> None:
        with self._lock:
            s = self.state
            if event == "run.started":
                s["title"] = f"{data.get('item')}  run {data.get('run_id')}"
                s["deadline"] = data.get("deadline")
                s["total"] = len(data.get("hosts", []))
            elif event == "batch.started":
                s["batch"] = f"{int(data.get('index', 0)) + 1}/{data.get('of')}"
                s["hosts"] = list(data.get("hosts", []))
            elif event == "host.result":
                counts = s["counts"]
                counts[data.get("status")] = counts.get(data.get("status"), 0) + 1
            from runner.redact import redact_text

            text = describe(event, data)
            if text and event not in ("host.result", "check.result"):
                self.live.console.print(redact_text(text), markup=False, highlight=False)
            self.live.update(self._render())

    def _render(self) -> Any:
        from rich.table import Table

        s = self.state
        table = Table.grid(padding=(0, 2))
        table.add_row("run", s["title"])
        table.add_row("batch", f"{s['batch']}  {', '.join(s['hosts'][:8])}{' ...' if len(s['hosts']) > 8 else ''}")
        counts = s["counts"]
        table.add_row(
            "hosts",
            f"ok {counts.get('ok', 0)}  changed {counts.get('changed', 0)}  "
            f"failed {counts.get('failed', 0) + counts.get('unreachable', 0)}  of {s.get('total', 0)}",
        )
        if s["deadline"]:
            left = datetime.fromisoformat(str(s["deadline"])) - datetime.now(UTC)
            mins = max(int(left.total_seconds() // 60), 0)
            table.add_row("window", f"{mins // 60}h{mins % 60:02d}m left before cutoff")
        return table

    def close(self) -> None:
        self.live.stop()


def reporter_for(json_lines: bool, out: IO[str] | None = None) -> Reporter:
    """``--json`` → JSON lines; a terminal → live display; anything else → plain lines."""
    stream = out or sys.stdout
    if json_lines:
        return JsonLines(stream)
    if stream.isatty():
        return LiveDisplay()
    return PlainLines(stream)
