"""``maintctl changes``: list, show, approve and reject change records."""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("changes", help="review, approve and reject change records")
    cmds = p.add_subparsers(dest="changes_command", metavar="ACTION", required=True)
    ls = cmds.add_parser("list", help="list change records")
    ls.add_argument("--open", action="store_true", help="only records not yet closed or cancelled")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)
    sh = cmds.add_parser("show", help="show one change record with its history")
    sh.add_argument("change_id")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=_show)
    for name, verb in (("approve", "approve"), ("reject", "reject")):
        a = cmds.add_parser(name, help=f"{verb} a change record")
        a.add_argument("change_id")
        a.add_argument("--by", metavar="NAME", help="who decides (default: the current user)")
        a.add_argument("--note", default="", help="why")
        a.add_argument("--json", action="store_true")
        a.set_defaults(func=_decide, decision=name)


def _backend(args: argparse.Namespace) -> Any:
    from runner.changes.local import LocalChangeBackend
    from runner.estate import find_root, state_dir
    from runner.redact import register_environment

    register_environment()  # credentials in the environment never reach the terminal

    return LocalChangeBackend(state_dir(find_root(Path(args.estate) if args.estate else None)))


def _as_dict(rec: Any) -> dict[str, Any]:
    d = dict(vars(rec))
    d["planned_start"], d["planned_end"] = rec.planned_start.isoformat(), rec.planned_end.isoformat()
    d["hosts"], d["history"] = list(rec.hosts), [list(h) for h in rec.history]
    return d


def _list(args: argparse.Namespace) -> int:
    from runner.changes.local import OPEN_STATES

    records = [r for r in _backend(args).list() if not args.open or r.state in OPEN_STATES]
    if args.json:
        print(json.dumps([_as_dict(r) for r in records], indent=2, sort_keys=True))
        return 0
    head = ("ID", "TYPE", "STATE", "APPROVAL", "ITEM", "START", "END", "HOSTS")
    rows = [head] + [
        (r.id, r.type, r.state, r.approval, r.item_id, r.planned_start.isoformat()[:16],
         r.planned_end.isoformat()[:16], ",".join(r.hosts)[:40])
        for r in records
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _print(rec: Any) -> None:
    d = _as_dict(rec)
    history = d.pop("history")
    for key in sorted(d):
        print(f"{key:>18}: {d[key]}")
    print("           history:")
    for when, what in history:
        print(f"    {when}  {what}")


def _show(args: argparse.Namespace) -> int:
    rec = _backend(args).get(args.change_id)
    if args.json:
        print(json.dumps(_as_dict(rec), indent=2, sort_keys=True))
    else:
        _print(rec)
    return 0


def _decide(args: argparse.Namespace) -> int:
    by = args.by or getpass.getuser()
    backend = _backend(args)
    rec = (
        backend.approve(args.change_id, by, args.note)
        if args.decision == "approve"
        else backend.reject(args.change_id, by, args.note)
    )
    if args.json:
        print(json.dumps(_as_dict(rec), indent=2, sort_keys=True))
    else:
        print(f"{rec.id}: {rec.approval} by {rec.approver}; state {rec.state}")
    return 0
