"""``maintctl plan``: every occurrence in a range, per item, with conflicts flagged.

Conflicts (overlaps, freezes, too-short windows, rules that never fire) are findings, not errors:
the exit status is 0 unless ``--strict`` is given, which exits 2 when anything is flagged. Bad
arguments exit 2 too (a ``UsageError``); an invalid catalogue exits 2 with every problem listed.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from runner.errors import UsageError

DEFAULT_SPAN = timedelta(days=14)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "plan",
        help="show what would run when and where, with conflicts; export iCalendar",
        description=(
            "List every occurrence of every item in a range (default: now .. now + 14 days) in the "
            "window's timezone and UTC, with conflicts flagged: FROZEN, EMERGENCY-OVERRIDE, TOO-SHORT, "
            "OVERLAP with another item, NEVER-FIRES. Conflicts exit 0 unless --strict."
        ),
    )
    p.add_argument("--from", dest="start", metavar="DATE", help="start: YYYY-MM-DD (00:00 UTC) or ISO datetime")
    p.add_argument("--to", dest="end", metavar="DATE", help="end, exclusive: ISO datetime, or YYYY-MM-DD (whole day)")
    p.add_argument("--item", metavar="ID", help="only this item (conflicts still consider every item)")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout (stable, versioned)")
    p.add_argument("--summary", action="store_true", help="one line per item instead of every occurrence")
    p.add_argument("--ics", metavar="FILE", help="also write the plan as an iCalendar file ('-' for stdout)")
    p.add_argument("--strict", action="store_true", help="exit 2 when any conflict is flagged")
    p.set_defaults(func=run)


def parse_when(value: str, option: str, *, end_of_day: bool = False) -> datetime:
    """``YYYY-MM-DD`` or an ISO 8601 datetime; without an offset, UTC. A bare date as --to means its end."""
    text = value.strip()
    try:
        if len(text) == 10 and text[4] == "-":
            day = date.fromisoformat(text)
            if end_of_day:
                day += timedelta(days=1)
            return datetime.combine(day, time(), UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option} {value!r}: expected YYYY-MM-DD or an ISO datetime such as 2026-03-29T02:00 or "
            f"2026-03-29T02:00+02:00"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def resolve_range(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The plan range from the options; defaults: ``now`` and 14 days after the start."""
    lo = parse_when(start, "--from") if start else now
    hi = parse_when(end, "--to", end_of_day=True) if end else lo + DEFAULT_SPAN
    if hi <= lo:
        raise UsageError(f"--to ({hi.isoformat()}) must be after --from ({lo.isoformat()})")
    return lo, hi


def run(args: argparse.Namespace) -> int:
    import gc
    from pathlib import Path

    from runner.catalogue.loader import load_catalogue
    from runner.estate import find_root
    from runner.plan import build_plan

    start, end = resolve_range(args.start, args.end, datetime.now(UTC))
    root = find_root(Path(args.estate) if args.estate else None)
    # A plan command is one short pass that makes no reference cycles worth collecting; the cyclic
    # collector would only rescan the tens of thousands of catalogue and occurrence objects it builds.
    gc.disable()
    catalogue = load_catalogue(root)
    plan = build_plan(catalogue, start, end, item_id=args.item)
    if args.ics:
        _write_ics(plan, args.ics)
    if args.json:
        import json

        from runner.plan.render import plan_json

        json.dump(plan_json(plan), sys.stdout, indent=1, sort_keys=False)
        sys.stdout.write("\n")
    elif args.summary:
        from runner.plan.render import summary_lines

        sys.stdout.write("".join(line + "\n" for line in summary_lines(plan)))
    elif args.ics != "-":
        _print_text(plan)
    return 2 if args.strict and plan.has_conflicts else 0


def _write_ics(plan: Any, target: str) -> None:
    import os

    from runner.plan.ical import to_ics

    data = to_ics(plan, generated=datetime.now(UTC)).encode("utf-8")
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    tmp = f"{target}.tmp{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        raise UsageError(f"--ics {target}: cannot write: {exc.strerror}") from exc


def _print_text(plan: Any) -> None:
    from runner.plan.render import text_lines

    if not sys.stdout.isatty():
        out = sys.stdout
        for line in text_lines(plan):
            out.write(line + "\n")
        return
    _print_rich(plan)


def _print_rich(plan: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from runner.plan.render import COLUMNS, entry_row, item_heading, summary_line

    console = Console(highlight=False)
    console.print(f"Plan {plan.start.isoformat()} .. {plan.end.isoformat()}")
    for planned in plan.items:
        if not planned.occurrences:
            console.print(f"\n{escape(item_heading(planned))}: no occurrence in range")
            for flag in planned.item_flags:
                console.print(f"[yellow]{flag.code}[/]: {escape(flag.detail)}")
            continue
        table = Table(title=escape(item_heading(planned)), title_justify="left", show_lines=False)
        for column in COLUMNS:
            table.add_column(column, overflow="fold")
        for entry in planned.entries():
            row = entry_row(entry, len(planned.hosts))
            style = "red" if entry.blocked else ("yellow" if entry.flags else None)
            table.add_row(*(escape(cell) for cell in row), style=style)
        for flag in planned.item_flags:
            console.print(f"[yellow]{flag.code}[/]: {escape(flag.detail)}")
        console.print(table)
    console.print(summary_line(plan))
