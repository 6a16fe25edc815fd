"""``maintctl serve``: run due occurrences continuously (what ``run --due`` does, every interval)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run due occurrences continuously until stopped (SIGTERM/SIGINT finish the current run)")
    p.add_argument("--interval", type=float, default=30.0, metavar="S", help="seconds between passes (default 30)")
    p.add_argument("--json", action="store_true", help="one JSON event per line on stdout")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from runner.cli._engine import build_engine
    from runner.engine.due import due_pass
    from runner.engine.progress import JsonLines, PlainLines
    from runner.errors import UsageError

    if args.interval <= 0:
        raise UsageError("maintctl serve: --interval must be positive")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    reporter = JsonLines(sys.stdout) if args.json else PlainLines(sys.stdout)
    reporter("run.message", {"text": f"serving: a pass every {args.interval:g}s"})
    while not stop.is_set():
        engine = build_engine(args, reporter)  # re-read the catalogue: the estate may have changed
        try:
            due_pass(engine, engine.clock())
        finally:
            engine.store.close()
        stop.wait(args.interval)
    reporter("run.message", {"text": "stopped"})
    return 0
