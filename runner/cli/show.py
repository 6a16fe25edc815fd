"""``maintctl show RUN``: one run, per batch, per host, per step."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("show", help="show one run: batches, hosts and steps")
    p.add_argument("run", help="run id (a unique prefix is enough)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_show)


def _when(v: Any) -> str:
    return v.isoformat(timespec="seconds") if v is not None else "-"


def run_view(store: Any, run_id: str) -> dict[str, Any]:
    from runner.cli.runs import run_dict

    run = store.get_run(run_id)
    steps: dict[str, list[dict[str, Any]]] = {}
    for s in store.steps(run.id):
        steps.setdefault(s.host, []).append({"seq": s.seq, "name": s.name, "status": s.status,
                                             "message": s.message, "started": _when(s.started),
                                             "finished": _when(s.finished), "data": dict(s.data)})
    hosts = [{"host": h.host, "batch": h.batch, "status": h.status, "message": h.message,
              "started": _when(h.started), "finished": _when(h.finished), "steps": steps.get(h.host, [])}
             for h in store.hosts(run.id)]
    batches = [{"index": b.index, "hosts": list(b.hosts), "status": b.status, "message": b.message,
                "started": _when(b.started), "finished": _when(b.finished), "checks": [dict(c) for c in b.checks]}
               for b in store.batches(run.id)]
    return {"run": run_dict(run), "batches": batches, "hosts": hosts}


def _show(args: argparse.Namespace) -> int:
    from runner.cli._engine import open_state
    from runner.redact import redact

    view = redact(run_view(open_state(args), args.run))
    if args.json:
        print(json.dumps(view, indent=2, sort_keys=True, default=str))
        return 0
    r = view["run"]
    print(f"run {r['id']}  item {r['item_id']}  kind {r['kind']}  status {r['status']}")
    print(f"  occurrence {r['occurrence']}  window {r['window_name'] if 'window_name' in r else r['window'] or '-'}")
    print(f"  started {r['started'] or '-'}  finished {r['finished'] or '-'}  deadline {r['deadline'] or '-'}")
    extras = [f"{k} {r[k]}" for k in ("reason", "resumed_from", "change_id", "bundle_id", "owner") if r.get(k)]
    if r.get("adhoc"):
        extras.insert(0, "ad-hoc")
    if extras:
        print("  " + "  ".join(extras))
    if r.get("message"):
        print(f"  {r['message']}")
    by_batch: dict[int, list[dict[str, Any]]] = {}
    for h in view["hosts"]:
        by_batch.setdefault(h["batch"], []).append(h)
    shown = set()
    for b in view["batches"]:
        shown.add(b["index"])
        print(f"batch {b['index'] + 1}: {b['status']}  {b['started']} .. {b['finished']}"
              + (f"  ({b['message']})" if b["message"] else ""))
        for c in b["checks"]:
            verdict = "ok" if c.get("ok") else "FAILED"
            print(f"  check {c.get('name')} on {c.get('host')}: {verdict} - {c.get('detail')}")
        _hosts(by_batch.get(b["index"], []))
    for index, hosts in sorted(by_batch.items()):
        if index not in shown:
            print(f"batch {index + 1}: never started")
            _hosts(hosts)
    return 0


def _hosts(hosts: list[dict[str, Any]]) -> None:
    for h in hosts:
        print(f"  {h['host']}: {h['status']}" + (f" - {h['message']}" if h["message"] else ""))
        for s in h["steps"]:
            print(f"    {s['seq']:>4} {s['status']:<11} {s['name']}" + (f" - {s['message']}" if s["message"] else ""))
