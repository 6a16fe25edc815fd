"""``maintctl backup list | status [ITEM] | restore-test ITEM``: backups and their proven restores.

Heavy imports happen inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("backup", help="backup items: last backup, verified restore, RTO, RPO")
    cmds = p.add_subparsers(dest="backup_command", metavar="ACTION", required=True)
    ls = cmds.add_parser("list", help="list backup items with last backup, last verified restore, RTO and RPO")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)
    st = cmds.add_parser("status", help="details of one or every backup item")
    st.add_argument("item", nargs="?", help="item id (default: every backup item)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=_status)
    rt = cmds.add_parser("restore-test", help="restore the latest (or a random) recovery point now and validate it")
    rt.add_argument("item", help="backup item id")
    rt.add_argument("--point", choices=("latest", "random"), help="which recovery point (default: the plan's)")
    rt.add_argument("--host", action="append", metavar="HOST", help="only this source host (repeatable)")
    rt.add_argument("--json", action="store_true")
    rt.set_defaults(func=_restore_test)


def _load(args: argparse.Namespace) -> tuple[Path, Any]:
    from runner.catalogue.loader import load_catalogue
    from runner.estate import find_root

    root = find_root(Path(args.estate) if args.estate else None)
    return root, load_catalogue(root)


def _store(root: Path, catalogue: Any) -> Any:
    from runner.kinds.backup.store import BackupStore

    return BackupStore.for_estate(root, catalogue.settings.state)


def _age(seconds: float | None) -> str:
    """A short human duration: 4.2s, 3.5m, 2.0h, 1.5d."""
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.1f}s"


def _rows(root: Path, catalogue: Any, only: str | None = None) -> list[dict[str, Any]]:
    from runner.kinds.backup.service import backup_item, backup_items, item_status

    store = _store(root, catalogue)
    try:
        items = [backup_item(catalogue, only)] if only else backup_items(catalogue)
        return [item_status(catalogue, store, i) for i in items]
    finally:
        store.close()


def _list(args: argparse.Namespace) -> int:
    root, catalogue = _load(args)
    rows = _rows(root, catalogue)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    head = f"{'ITEM':<22} {'PLAN':<18} {'LAST BACKUP':<26} {'LAST VERIFIED RESTORE':<26} {'RTO':>8} {'RPO':>8}"
    print(head)
    for r in rows:
        b, v = r["last_backup"] or {}, r["last_verified_restore"] or {}
        print(f"{r['item']:<22} {str(r['plan']):<18} {b.get('at', 'never'):<26} {v.get('at', 'never'):<26} "
              f"{_age(v.get('rto')):>8} {_age(v.get('rpo')):>8}")  # fmt: skip
    return 0


def _status(args: argparse.Namespace) -> int:
    root, catalogue = _load(args)
    rows = _rows(root, catalogue, args.item)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for r in rows:
        print(f"{r['item']} (plan {r['plan']}, targets {', '.join(r['targets']) or '-'}, {r['runs']} runs)")
        for label, key in (
            ("last backup", "last_backup"),
            ("last restore test", "last_restore_test"),
            ("last verified restore", "last_verified_restore"),
            ("last repository check", "last_check"),
        ):
            val = r[key]
            text = (
                "never"
                if not val
                else ", ".join(f"{k}={_age(v) if k in ('rto', 'rpo') else v}" for k, v in val.items())
            )
            print(f"  {label + ':':<24} {text}")
    return 0


def _restore_test(args: argparse.Namespace) -> int:
    from runner.kinds.backup.service import backup_item, restore_test

    root, catalogue = _load(args)
    item = backup_item(catalogue, args.item)
    results, bundle = restore_test(root, catalogue, item, point=args.point, hosts=args.host)
    failed = [r for r in results if r.failed]
    if args.json:
        out = [{"host": r.host, "status": r.status, "message": r.message, **r.data} for r in results]
        print(json.dumps({"bundle": bundle, "results": out}, indent=2, default=str))
    else:
        for r in results:
            for t in r.data.get("restore_tests", []):
                verdict = "PASS" if t["ok"] else "FAIL"
                print(f"{verdict} {t['kind']} from {r.host} restored on {t['host']}: snapshot {t['snapshot_id'][:8]} "
                      f"({t['point']}), RTO {_age(t['rto_seconds'])}, RPO {_age(t['rpo_seconds'])}")  # fmt: skip
                for d in t["differences"] + ([t["error"]] if t["error"] else []):
                    print(f"     {d}")
            if r.failed:
                print(f"FAIL {r.host}: {r.message}")
        print(f"evidence bundle {bundle}")
    if failed:
        print(f"maintctl: restore test of {item.id} failed on {', '.join(r.host for r in failed)}", file=sys.stderr)
        return 1
    return 0
