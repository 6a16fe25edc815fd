"""``maintctl patch scan|status``: what each host is missing against its baseline, and compliance."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("patch", help="patch scan and compliance status")
    psub = p.add_subparsers(dest="patch_command", metavar="ACTION", required=True)
    scan = psub.add_parser("scan", help="report per host what is missing against the baseline; changes nothing")
    scan.add_argument("item", nargs="?", help="patch item id (default: every enabled patch item)")
    scan.add_argument("--json", action="store_true", help="machine-readable output")
    scan.set_defaults(func=run_scan)
    status = psub.add_parser("status", help="per-host compliance after the last patch runs")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=run_status)


def run_scan(args: argparse.Namespace) -> int:
    from runner.catalogue.loader import load_catalogue
    from runner.estate import find_root
    from runner.kinds.patch.scanonly import scan_items

    root = find_root(Path(args.estate) if args.estate else None)
    catalogue = load_catalogue(root)
    reports = scan_items(root, catalogue, args.item)
    if args.json:
        json.dump(reports, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        for rep in reports:
            _print_scan(rep)
    failed = any(not h["ok"] for rep in reports for h in rep["hosts"])
    return 1 if failed else 0


def _print_scan(rep: dict[str, Any]) -> None:
    print(f"{rep['item']} (baseline {rep['baseline']})")
    for h in rep["hosts"]:
        if not h["ok"]:
            print(f"  {h['host']}: scan failed: {h['message']}")
            continue
        approved = [u for u in h["updates"] if u["approved"]]
        reboot = ", reboot required" if h["reboot_required"] else ""
        print(f"  {h['host']}: {len(approved)} approved update(s) missing, "
              f"{len(h['updates']) - len(approved)} not approved{reboot}")
        for u in h["updates"]:
            mark = "+" if u["approved"] else "-"
            sec = " [security]" if u["security"] else ""
            print(f"    {mark} {u['name']} {u['installed'] or '(new)'} -> {u['candidate']}{sec}: {u['reason']}")


def run_status(args: argparse.Namespace) -> int:
    from runner.cli._engine import estate_root, open_state
    from runner.estate import state_dir
    from runner.kinds.patch.store import PatchStore

    # open_state: the store settings.state chooses, also when the catalogue does not load.
    store = PatchStore(open_state(args), owned=True, legacy_dir=state_dir(estate_root(args)))
    try:
        rows = store.compliance()
    finally:
        store.close()
    if args.json:
        json.dump(rows, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    if not rows:
        print("no patch runs recorded yet")
        return 0
    for r in rows:
        inst = ", ".join(f"{c['name']} {c['before']}->{c['after']}" for c in r["installed"]) or "-"
        miss = ", ".join(f"{c['name']} (want {c['approved']})" for c in r["missing"]) or "-"
        print(f"{r['host']:<12} {r['state']:<15} item={r['item']} run={r['run_id']} at={r['at']}")
        print(f"{'':<12} installed: {inst}")
        print(f"{'':<12} missing:   {miss}")
    return 0
