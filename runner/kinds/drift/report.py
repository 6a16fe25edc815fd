"""Drift reports: text for people, JSON for scripts, JUnit XML for Jenkins/GitLab, SARIF for GitHub.

Every format is pure (reports in, string out) and stable: findings sorted by item, source, target
and check; no timestamps unless given. Status mapping in JUnit: drift and unmanaged are failures,
unknown and error are errors (an unchecked task is not a passed test), waived and not_applicable
are skipped, in_sync passes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from runner.kinds.drift.findings import ItemReport, counts, exit_code, sort_findings

FORMATS = ("text", "json", "junit", "sarif")


def render(reports: Sequence[ItemReport], fmt: str, *, verbose: bool = False) -> str:
    """Render ``reports`` in ``fmt`` (one of FORMATS)."""
    ordered = sorted(reports, key=lambda r: r.item)
    if fmt == "json":
        return to_json(ordered)
    if fmt == "junit":
        from runner.kinds.drift.report_junit import to_junit

        return to_junit(ordered)
    if fmt == "sarif":
        from runner.kinds.drift.report_sarif import to_sarif

        return to_sarif(ordered)
    return to_text(ordered, verbose=verbose)


def to_json(reports: Sequence[ItemReport]) -> str:
    all_findings = [f for r in reports for f in r.findings]
    doc: dict[str, Any] = {
        "format": "maintctl-drift/1",
        "exit_code": exit_code(reports),
        "summary": counts(all_findings),
        "items": [
            {
                "item": r.item,
                "location": r.location,
                "errors": list(r.errors),
                "notes": list(r.notes),
                "summary": counts(r.findings),
                "findings": [
                    {
                        "source": f.source,
                        "target": f.target,
                        "check": f.check,
                        "status": f.status,
                        "message": f.message,
                        "note": f.note,
                        "waiver": f.waiver,
                        "diff": f.diff,
                        "location": f.location,
                        "action": f.action,
                    }
                    for f in sort_findings(r.findings)
                ],
            }
            for r in reports
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


_LABEL = {
    "drift": "DRIFT",
    "unmanaged": "UNMANAGED",
    "unknown": "UNKNOWN",
    "error": "ERROR",
    "waived": "WAIVED",
    "in_sync": "OK",
    "not_applicable": "N/A",
}


def to_text(reports: Sequence[ItemReport], *, verbose: bool = False) -> str:
    """Human report: every finding that is not in sync (all with ``verbose``), diffs indented."""
    lines: list[str] = []
    for r in reports:
        c = counts(r.findings)
        summary = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in c.items() if n)
        lines.append(f"{r.item}: {summary or 'nothing checked'}")
        lines += [f"  ERROR    {e}" for e in r.errors]
        for f in sort_findings(r.findings):
            if f.status in ("in_sync", "not_applicable") and not verbose:
                continue
            where = f" ({f.location})" if f.location else ""
            text = f"  {_LABEL[f.status]:<9} {f.target}  {f.check}{where}"
            if f.message:
                text += f": {f.message}"
            lines.append(text)
            if f.note:
                lines.append(f"            {f.note}")
            lines += [f"            {d}" for d in f.diff.splitlines()]
        lines += [f"  note: {n}" for n in r.notes]
    total = counts(f for r in reports for f in r.findings)
    rc = exit_code(reports)
    verdict = {0: "no drift", 1: "errors: drift could not be fully checked", 2: "drift found"}[rc]
    errors = total["error"] + sum(len(r.errors) for r in reports)
    lines.append(
        f"{verdict} ({total['drift']} drifted, {total['unmanaged']} unmanaged, {total['unknown']} unknown, "
        f"{errors} errors, {total['waived']} waived, {total['in_sync']} in sync)"
    )
    return "\n".join(lines) + "\n"
