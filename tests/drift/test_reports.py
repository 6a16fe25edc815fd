"""Report formats: stable order, JUnit counts and elements, SARIF required fields, exit codes."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from typing import Any

import jsonschema

from runner.kinds.drift.findings import Finding, ItemReport, exit_code
from runner.kinds.drift.report import render


def f(target: str, check: str, status: str, **kw: Any) -> Finding:
    source = kw.pop("source", "ansible")
    return Finding(item=kw.pop("item", "cfg"), source=source, target=target, check=check, status=status, **kw)


FINDINGS = [
    f("web1", "app.conf", "in_sync", location="playbooks/drift-app.yml:7"),
    f(
        "web2",
        "app.conf",
        "drift",
        location="playbooks/drift-app.yml:7",
        diff="--- a\n+++ b\n-x\n+y\n",
        message="would change",
    ),
    f("web1", "reload", "unknown", message="shell is not checked in check mode"),
    f("web3", "app.conf", "error", message="unreachable: refused"),
    f("web2", "motd", "waived", note="waived by W-1 until 2030-01-01: ok"),
    f("s3://logs", "versioning", "drift", source="aws", message="versioning is never enabled"),
    f("s3://stray", "managed", "unmanaged", source="aws", message="carries tag"),
    f("web2", "debian only", "not_applicable"),
]


def reports(shuffle: int | None = None) -> list[ItemReport]:
    items = list(FINDINGS)
    if shuffle is not None:
        random.Random(shuffle).shuffle(items)  # noqa: S311 - test order, not security
    return [
        ItemReport(item="cfg", findings=tuple(items), location="maintenance/items.yml:10"),
        ItemReport(item="aaa-empty", findings=(f("web1", "x", "in_sync", item="aaa-empty"),)),
    ]


def test_every_format_is_stable_under_input_order() -> None:
    for fmt in ("text", "json", "junit", "sarif"):
        outs = {render(reports(seed), fmt) for seed in (None, 1, 2, 3)}
        outs.add(render(list(reversed(reports(4))), fmt))
        assert len(outs) == 1, fmt


def test_exit_codes() -> None:
    clean = ItemReport(
        item="i", findings=(f("h", "t", "in_sync"), f("h", "u", "waived"), f("h", "v", "not_applicable"))
    )
    assert exit_code([clean]) == 0
    assert exit_code([clean, ItemReport(item="j", findings=(f("h", "t", "unknown"),))]) == 2
    assert exit_code([ItemReport(item="j", findings=(f("h", "t", "unmanaged"),))]) == 2
    assert exit_code([ItemReport(item="j", findings=(f("h", "t", "drift"), f("h", "u", "error")))]) == 1
    assert exit_code([ItemReport(item="j", errors=("AWS: denied",))]) == 1


def test_text_lists_problems_with_diff_and_verdict() -> None:
    text = render(reports(), "text")
    assert "DRIFT     web2  app.conf (playbooks/drift-app.yml:7): would change" in text
    assert "            +y" in text
    assert "UNKNOWN   web1  reload" in text and "WAIVED    web2  motd" in text
    assert "OK " not in text  # in-sync findings only with --verbose
    assert text.rstrip().splitlines()[-1].startswith("errors: drift could not be fully checked")
    assert text.index("aaa-empty") < text.index("cfg:")


def test_json_shape() -> None:
    doc = json.loads(render(reports(), "json"))
    assert doc["exit_code"] == 1 and doc["summary"]["drift"] == 2 and doc["summary"]["unmanaged"] == 1
    cfg = next(i for i in doc["items"] if i["item"] == "cfg")
    assert [(x["target"], x["check"]) for x in cfg["findings"]] == [
        ("web1", "app.conf"),
        ("web1", "reload"),
        ("web2", "app.conf"),
        ("web2", "debian only"),
        ("web2", "motd"),
        ("web3", "app.conf"),
        ("s3://logs", "versioning"),
        ("s3://stray", "managed"),
    ]
    drifted = cfg["findings"][2]
    assert drifted["status"] == "drift" and drifted["diff"].endswith("+y\n")


def test_junit_one_suite_per_item_one_case_per_finding() -> None:
    root = ET.fromstring(render(reports(), "junit"))  # noqa: S314 - our own output
    assert root.tag == "testsuites"
    assert [s.get("name") for s in root.findall("testsuite")] == ["aaa-empty", "cfg"]
    cfg = root.findall("testsuite")[1]
    assert (cfg.get("tests"), cfg.get("failures"), cfg.get("errors"), cfg.get("skipped")) == ("8", "3", "2", "2")
    assert root.get("tests") == "9" and root.get("failures") == "3"
    cases = {(c.get("classname"), c.get("name")): c for c in cfg.findall("testcase")}
    drift = cases[("cfg.ansible.web2", "app.conf")]
    failure = drift.find("failure")
    assert failure is not None and failure.get("type") == "drift" and "+y" in (failure.text or "")
    assert drift.get("file") == "playbooks/drift-app.yml" and drift.get("line") == "7"
    unknown = cases[("cfg.ansible.web1", "reload")].find("error")
    assert unknown is not None and unknown.get("type") == "unknown"
    assert cases[("cfg.ansible.web2", "motd")].find("skipped") is not None
    assert len(list(cases[("cfg.ansible.web1", "app.conf")])) == 0  # in sync: a passed test case


# The parts of the SARIF 2.1.0 schema (oasis-tcs/sarif-spec) that a consumer relies on, as a schema.
SARIF_REQUIRED = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "properties": {
                                                "defaultConfiguration": {
                                                    "properties": {
                                                        "level": {"enum": ["none", "note", "warning", "error"]}
                                                    }
                                                }
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "level", "message", "locations"],
                            "properties": {
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {"type": "object", "anyOf": [{"required": ["text"]}, {"required": ["id"]}]},
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation"],
                                                "properties": {"region": {"properties": {"startLine": {"minimum": 1}}}},
                                            }
                                        },
                                    },
                                },
                                "suppressions": {"type": "array", "items": {"type": "object", "required": ["kind"]}},
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_valid_and_complete() -> None:
    doc = json.loads(render(reports(), "sarif"))
    jsonschema.validate(doc, SARIF_REQUIRED)
    run = doc["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    results = run["results"]
    assert all(r["ruleId"] in rule_ids and rule_ids[r["ruleIndex"]] == r["ruleId"] for r in results)
    assert len(results) == 6  # in sync and not applicable are not results
    by_rule = {}
    for r in results:
        by_rule.setdefault(r["ruleId"], []).append(r)
    assert len(by_rule["drift/task-drift"]) == 2  # the drift and the waived one
    waived = next(r for r in results if "suppressions" in r)
    assert waived["suppressions"][0]["status"] == "accepted"
    aws = by_rule["drift/aws-drift"][0]
    assert aws["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "maintenance/items.yml"
    assert aws["locations"][0]["physicalLocation"]["region"]["startLine"] == 10
    assert by_rule["drift/task-unknown"][0]["level"] == "warning"
    assert by_rule["drift/check-error"][0]["level"] == "error"
    prints = [r["partialFingerprints"]["maintctlFinding/v1"] for r in results]
    assert len(set(prints)) == len(prints)
