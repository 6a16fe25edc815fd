"""``maintctl run``: run one item now (or every due occurrence with ``--due``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from runner.catalogue.model import Catalogue
    from runner.engine.prestart import Prestarted


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "run", help="run an item's open occurrence now, or every due occurrence (--due)",
        description="Run ITEM's occurrence whose window is open now. Outside its window only with --force and "
        "--reason (recorded as an ad-hoc run). --resume RUN continues an interrupted, halted or cancelled run "
        "with the hosts that never started. Exit 0 when the run succeeded, 1 when it failed, halted or was "
        "cancelled, 2 for bad usage, 3 when another runner holds the item or the occurrence already ran.",
    )
    p.add_argument("item", nargs="?", help="item id")
    p.add_argument("--due", action="store_true", help="run every occurrence open now, record missed ones, exit")
    p.add_argument("--force", action="store_true", help="run outside the item's window (needs --reason)")
    p.add_argument("--reason", default="", help="why this ad-hoc run is needed (recorded in evidence)")
    p.add_argument("--resume", metavar="RUN", help="continue RUN of the same occurrence with not-started hosts")
    p.add_argument("--check", action="store_true", help="check mode: change nothing, report what would change")
    p.add_argument("--json", action="store_true", help="one JSON event per line on stdout")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from runner.cli._engine import build_engine, load_estate
    from runner.engine.progress import reporter_for
    from runner.errors import UsageError

    if args.due == bool(args.item):
        raise UsageError("maintctl run: give either ITEM or --due")
    if args.due and (args.force or args.resume):
        raise UsageError("maintctl run --due: --force and --resume apply to one ITEM")
    reporter = reporter_for(args.json, sys.stdout)
    mode: Literal["apply", "check"] = "check" if args.check else "apply"
    early: Prestarted | None = None
    try:
        loaded = load_estate(args)
        if args.item and not args.resume:
            early = _prestart(args.item, *loaded, mode=mode)
        engine = build_engine(args, reporter, loaded)
        if args.due:
            return _due(engine, reporter)
        from runner.engine.run import RunRequest, ensure_ok

        req = RunRequest(item_id=args.item, force=args.force, reason=args.reason, resume=args.resume,
                         mode=mode, run_id=early.run_id if early else None)
        rec = engine.run(req, early)
        ensure_ok(rec)
        return 0
    finally:
        if early is not None:
            early.close()
        reporter.close()


def _prestart(item_id: str, root: Path, catalogue: Catalogue, *, mode: str) -> Prestarted | None:
    """Start the item's Ansible session now, held, if its kind can (``runner.engine.prestart``)."""
    from datetime import UTC, datetime

    from runner.engine.ids import new_run_id
    from runner.engine.prestart import prestart
    from runner.estate import private_subdir

    item = next((i for i in catalogue.items if i.id == item_id), None)
    if item is None:
        return None
    return prestart(root, private_subdir(root), catalogue, item, mode=mode, run_id=new_run_id(datetime.now(UTC)))


def _due(engine: Any, reporter: Any) -> int:
    from runner.engine.due import due_pass

    outcomes = due_pass(engine, engine.clock())
    failed = 0
    for o in outcomes:
        if o.run is None:
            reporter("run.message", {"text": f"{o.item_id} {o.occurrence}: {o.note}"})
        elif o.run.status != "succeeded":
            failed += 1
    if not outcomes:
        reporter("run.message", {"text": "nothing due"})
    return 1 if failed else 0
