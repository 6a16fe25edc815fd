"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

Results are the findings that need attention (drift, unmanaged, unknown, error) plus waived ones
carried as suppressed results (``suppressions``: accepted, with the justification). In-sync checks
are not results. Locations point at the task in its playbook, or at the item in the catalogue.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from runner.kinds.drift.findings import Finding, ItemReport, sort_findings

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULES: dict[str, tuple[str, str, str]] = {
    # id -> (name, level, description)
    "drift/task-drift": ("TaskDrift", "error", "A host differs from the desired state a playbook task declares."),
    "drift/task-unknown": ("TaskUnknown", "warning", "A task cannot be checked in check mode; its state is unknown."),
    "drift/aws-drift": ("AwsDrift", "error", "An AWS resource differs from its declared baseline."),
    "drift/aws-unmanaged": ("AwsUnmanaged", "warning", "A resource carries the estate's tag but no item declares it."),
    "drift/check-error": ("CheckError", "error", "A check could not run (failed task, unreachable host, API error)."),
}


def rule_for(f: Finding, status: str) -> str:
    if status == "error":
        return "drift/check-error"
    if f.source == "aws":
        return "drift/aws-unmanaged" if status == "unmanaged" else "drift/aws-drift"
    return "drift/task-unknown" if status == "unknown" else "drift/task-drift"


def _location(loc: str, fallback: str) -> dict[str, Any]:
    where = loc or fallback or "maintenance"
    file, _, line = where.rpartition(":")
    physical: dict[str, Any] = {"artifactLocation": {"uri": file if line.isdigit() else where}}
    if line.isdigit() and int(line) > 0:
        physical["region"] = {"startLine": int(line)}
    return {"physicalLocation": physical}


def _result(r: ItemReport, f: Finding) -> dict[str, Any]:
    status = f.status
    if status == "waived":
        # A waived finding keeps the rule of what it hides; the waiver id says which entry accepts it.
        status = "unmanaged" if f.check == "managed" and f.source == "aws" else "drift"
    rule = rule_for(f, status)
    text = f"{f.item}: {f.target}: {f.check}: {f.status}" + (f": {f.message}" if f.message else "")
    if f.note:
        text += f" ({f.note})"
    if f.diff:
        text += "\n" + f.diff
    location = _location(f.location, r.location)
    location["logicalLocations"] = [{"name": f.target, "kind": "resource" if f.source == "aws" else "host"}]
    out: dict[str, Any] = {
        "ruleId": rule,
        "ruleIndex": list(RULES).index(rule),
        "level": RULES[rule][1],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"maintctlFinding/v1": hashlib.sha256("\0".join(f.key).encode()).hexdigest()},
        "properties": {"status": f.status, "item": f.item, "target": f.target, "check": f.check},
    }
    if f.status == "waived":
        out["suppressions"] = [{"kind": "external", "status": "accepted", "justification": f.note}]
    return out


def to_sarif(reports: Sequence[ItemReport], version: str = "") -> str:
    results = [
        _result(r, f)
        for r in reports
        for f in sort_findings(r.findings)
        if f.status not in ("in_sync", "not_applicable")
    ]
    for r in reports:
        for err in r.errors:
            rule = "drift/check-error"
            results.append(
                {
                    "ruleId": rule,
                    "ruleIndex": list(RULES).index(rule),
                    "level": "error",
                    "message": {"text": f"{r.item}: {err}"},
                    "locations": [_location("", r.location)],
                }
            )
    driver: dict[str, Any] = {
        "name": "maintctl drift",
        "rules": [
            {
                "id": rid,
                "name": name,
                "shortDescription": {"text": desc},
                "fullDescription": {"text": desc},
                "defaultConfiguration": {"level": level},
            }
            for rid, (name, level, desc) in RULES.items()
        ],
    }
    if version:
        driver["version"] = version
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results, "columnKind": "unicodeCodePoints"}],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"
