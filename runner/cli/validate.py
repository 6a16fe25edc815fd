"""``maintctl validate [PATH]``: check the catalogue (schema, semantics, cross-references).

Exit 0 when valid, 2 when any problem was found (every problem is printed, file:line:column first).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.catalogue.loader import Result


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "validate",
        help="check the catalogue: schemas, rules, cross-references",
        description="Check an estate, a catalogue folder or a single file. Exit 0 valid, 2 invalid.",
    )
    p.add_argument("path", nargs="?", metavar="PATH", help="estate root, folder or file (default: the estate)")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runner.catalogue.loader import check_path
    from runner.estate import find_root

    if args.path:
        target = Path(args.path)
    else:
        target = find_root(Path(args.estate) if args.estate else None)
    result = check_path(target)
    if args.json:
        from runner.redact import redact

        json.dump(redact(_as_json(target, result)), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif result.problems:
        from runner.redact import redact_text

        for problem in result.problems:
            print(redact_text(str(problem)))
        count = len(result.problems)
        print(f"invalid: {count} problem{'s' if count != 1 else ''}")
    else:
        print(_summary(result))
    return 2 if result.problems else 0


def _summary(result: Result) -> str:
    files = len(result.catalogue_files)
    text = (
        f"ok: {result.count('windows')} windows, {result.count('freezes')} freezes, "
        f"{result.count('items')} items in {files} file{'s' if files != 1 else ''}"
    )
    if not result.cross_checked:
        text += " (outside an estate: references not checked)"
    return text


def _as_json(target: Any, result: Result) -> dict[str, Any]:
    return {
        "path": str(target),
        "valid": not result.problems,
        "references_checked": result.cross_checked,
        "counts": {
            "windows": result.count("windows"),
            "freezes": result.count("freezes"),
            "items": result.count("items"),
            "baselines": result.count("baselines"),
            "plans": result.count("plans"),
            "files": len(result.catalogue_files),
        },
        "files": [{"path": pf.name, "sha256": pf.sha256} for pf in result.files],
        "problems": [
            {"file": p.file, "line": p.line, "column": p.column, "path": p.path, "message": p.message}
            for p in result.problems
        ],
    }
