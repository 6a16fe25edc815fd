"""JUnit XML: one testsuite per item, one testcase per host x task or resource x check.

drift/unmanaged -> <failure>, unknown/error -> <error> (type says which), waived/not_applicable ->
<skipped>. Jenkins and GitLab both mark errors as failing, so the test view agrees with the exit code.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from runner.kinds.drift.findings import Finding, ItemReport, sort_findings

_FAIL = {"drift", "unmanaged"}
_ERROR = {"unknown", "error"}
_SKIP = {"waived", "not_applicable"}


def _case(suite: ET.Element, f: Finding) -> None:
    case = ET.SubElement(suite, "testcase", classname=f"{f.item}.{f.source}.{f.target}", name=f.check)
    if f.location:
        file, _, line = f.location.rpartition(":")
        case.set("file", file if line.isdigit() else f.location)
        if line.isdigit():
            case.set("line", line)
    message = f"{f.status}: {f.message}" + (f" [{f.note}]" if f.note else "")
    if f.status in _FAIL:
        ET.SubElement(case, "failure", type=f.status, message=message).text = f.diff or f.message
    elif f.status in _ERROR:
        ET.SubElement(case, "error", type=f.status, message=message).text = f.message
    elif f.status in _SKIP:
        ET.SubElement(case, "skipped", message=message)


def _suite(root: ET.Element, r: ItemReport) -> dict[str, int]:
    findings = sort_findings(r.findings)
    n = {
        "tests": len(findings) + len(r.errors),
        "failures": sum(f.status in _FAIL for f in findings),
        "errors": sum(f.status in _ERROR for f in findings) + len(r.errors),
        "skipped": sum(f.status in _SKIP for f in findings),
    }
    suite = ET.SubElement(root, "testsuite", {"name": r.item, **{k: str(v) for k, v in n.items()}})
    for f in findings:
        _case(suite, f)
    for k, err in enumerate(r.errors):
        case = ET.SubElement(suite, "testcase", classname=f"{r.item}.run", name=f"check {k + 1}")
        ET.SubElement(case, "error", type="error", message=err).text = err
    return n


def to_junit(reports: Sequence[ItemReport]) -> str:
    root = ET.Element("testsuites", name="maintctl drift")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in reports:
        for k, v in _suite(root, r).items():
            totals[k] += v
    for k in ("tests", "failures", "errors", "skipped"):
        root.set(k, str(totals[k]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
