"""``maintctl drift``: check drift items now and report for CI.

Exit codes (as ``terraform plan -detailed-exitcode``): 0 no drift, 2 drift found (drifted,
unmanaged or unknown findings that no live waiver covers), 1 error (a check could not run, bad
input). See docs/ci.md. Heavy imports happen inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

FORMATS = ("text", "json", "junit", "sarif")
# Modules that render a format beyond text and JSON (imported by report.render on demand).
_WRITERS = {"junit": "runner.kinds.drift.report_junit", "sarif": "runner.kinds.drift.report_sarif"}


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "drift",
        help="check drift items (playbooks in check+diff mode, AWS baselines); exit 0 clean, 2 drift, 1 error",
        description="Check drift items now. Exit 0: no drift; 2: drift, unmanaged or unknown found; 1: error.",
    )
    p.add_argument("items", nargs="*", metavar="ITEM", help="drift item ids (default: every enabled drift item)")
    p.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    p.add_argument("--output", metavar="FILE", help="write the report to FILE (a text summary still goes to stdout)")
    p.add_argument("--verbose", action="store_true", help="text format: list in-sync checks too")
    p.add_argument("--hosts", metavar="HOST,...", help="check only these hosts of the items' targets")
    p.add_argument(
        "--remediate",
        action="store_true",
        help="apply the playbooks to drifted hosts through the engine: inside the item's window, with a change record",
    )
    p.add_argument("--force", action="store_true", help="with --remediate: run outside the window (needs --reason)")
    p.add_argument("--reason", default="", help="with --remediate --force: why this ad-hoc run")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runner.errors import MaintctlError

    try:
        return _run(args)
    except MaintctlError as exc:
        # Errors exit 1 here, never 2: in CI, 2 means "drift found".
        from runner import redact

        redact.register_environment()  # however early the error came
        print(f"maintctl drift: {redact.redact_text(str(exc))}", file=sys.stderr)
        return 1


def _items(catalogue: Any, wanted: list[str]) -> list[Any]:
    from runner.errors import UsageError

    drift = [i for i in catalogue.items if i.kind == "drift"]
    if not wanted:
        return [i for i in drift if i.enabled]
    known = {i.id: i for i in drift}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        names = ", ".join(sorted(known)) or "none"
        raise UsageError(f"not a drift item: {', '.join(unknown)} (drift items: {names})")
    return [known[w] for w in wanted]


def _run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from runner.estate import find_root
    from runner.kinds.drift.check import check_item, options_for

    root = find_root(Path(args.estate) if args.estate else None)
    from runner.catalogue.loader import load_catalogue

    catalogue = load_catalogue(root)
    items = _items(catalogue, list(args.items))
    if args.remediate:
        from runner.kinds.drift.remediate_cli import remediate_items

        failed = remediate_items(root, catalogue, items, force=args.force, reason=args.reason)
        if failed:
            return failed
    opts = options_for(catalogue, root, on_start=lambda: _import_for_report(args.format))
    now = datetime.now(UTC)
    only = [h for h in (args.hosts or "").split(",") if h]
    reports = []
    for item in items:
        hosts = None
        if only:
            from runner.kinds.drift.check import resolve_hosts

            hosts = [h for h in resolve_hosts(item, catalogue) if h in only]
        reports.append(check_item(item, catalogue, opts, now, hosts=hosts))
    from runner import redact
    from runner.kinds.drift.findings import exit_code
    from runner.kinds.drift.report import render, to_text

    redact.register_environment()
    body = redact.redact_text(render(reports, args.format, verbose=args.verbose))
    if args.output:
        _write(Path(args.output), body)
        sys.stdout.write(redact.redact_text(to_text(reports)))
    else:
        sys.stdout.write(body)
    return exit_code(reports)


def _import_for_report(fmt: str) -> None:
    """Import what renders and redacts the report while a playbook runs (ansible-playbook has the other
    core): imported before the playbook starts or after it exits, the same modules cost wall time."""
    for name in ("runner.redact", "runner.kinds.drift.report", _WRITERS.get(fmt)):
        if name is not None:
            importlib.import_module(name)


def _write(path: Path, body: str) -> None:
    """Write atomically: a CI step reading the file never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(body)
    os.replace(tmp, path)
