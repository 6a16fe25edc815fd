"""``maintctl runs``: list runs, newest first."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("runs", help="list runs (newest first)")
    p.add_argument("--item", help="only runs of this item")
    p.add_argument("--status", action="append", default=[], help="only runs in this status (repeatable)")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_runs)


def run_dict(r: Any) -> dict[str, Any]:
    out = dict(vars(r))
    for k, v in out.items():
        if hasattr(v, "isoformat"):
            out[k] = v.isoformat()
    out["summary"] = dict(r.summary)
    return out


def _runs(args: argparse.Namespace) -> int:
    from runner.cli._engine import open_state
    from runner.errors import UsageError
    from runner.state.base import RUN_STATUSES

    bad = [s for s in args.status if s not in RUN_STATUSES]
    if bad:
        raise UsageError(f"--status: unknown status {bad[0]!r} (one of {', '.join(RUN_STATUSES)})")
    store = open_state(args)
    runs = store.list_runs(item_id=args.item, statuses=args.status, limit=args.limit)
    if args.json:
        print(json.dumps([run_dict(r) for r in runs], indent=2, sort_keys=True, default=str))
        return 0
    head = ("RUN", "ITEM", "OCCURRENCE", "STATUS", "STARTED", "FINISHED", "HOSTS", "CHANGE")
    rows = [head]
    for r in runs:
        counts = dict(r.summary.get("counts") or {})
        hosts = " ".join(f"{k}:{v}" for k, v in sorted(counts.items())) or "-"
        rows.append((r.id, r.item_id, r.occurrence[:40], r.status,
                     (r.started or r.created).isoformat(timespec="seconds")[:19],
                     r.finished.isoformat(timespec="seconds")[:19] if r.finished else "-", hosts, r.change_id or "-"))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if len(rows) == 1:
        print("no runs")
    return 0
