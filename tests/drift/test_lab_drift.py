"""End to end in the lab: the real `maintctl drift` CLI against real hosts over SSH and moto.

One estate in a temp folder (the lab's inventory, the repository's drift playbook, a catalogue
written by the test); web2's app.conf is edited by hand over SSH and restored afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from drift_helpers import REPO

pytestmark = pytest.mark.lab

APP_CONF = "/etc/app/app.conf"


def catalogue(waivers: list[dict[str, Any]], aws: dict[str, Any]) -> str:
    items = {
        "windows": {"hourly": {"cron": "0 * * * *", "timezone": "UTC", "duration": "1h"}},
        "items": [
            {
                "id": "app-config-drift",
                "kind": "drift",
                "targets": {"groups": ["lab"]},
                "window": "hourly",
                "expected_duration": "10m",
                "drift": {"playbooks": ["playbooks/drift-app.yml"], "waivers": waivers},
            },
            {
                "id": "aws-drift",
                "kind": "drift",
                "targets": {"groups": ["lab"]},
                "window": "hourly",
                "expected_duration": "5m",
                "drift": {"aws": aws},
            },
        ],
    }
    return json.dumps(items, indent=2)  # JSON is YAML


@pytest.fixture
def estate(tmp_path: Path, lab: Any) -> Iterator[Path]:
    root = tmp_path / "estate"
    for d in ("maintenance", "inventory", "playbooks"):
        (root / d).mkdir(parents=True)
    shutil.copy(lab.inventory, root / "inventory" / "hosts.yml")
    shutil.copy(REPO / "playbooks" / "drift-app.yml", root / "playbooks")
    shutil.copytree(REPO / "playbooks" / "templates", root / "playbooks" / "templates")
    original = lab.ssh("web2", f"cat {APP_CONF}").stdout
    try:
        yield root
    finally:
        lab.ssh("web2", f"cat > {APP_CONF}", input=original)


def drift(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    maintctl = Path(sys.executable).parent / "maintctl"
    return subprocess.run(
        [str(maintctl), "--estate", str(root), "drift", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def findings(out: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    doc = json.loads(out)
    return {(i["item"], f["target"], f["check"]): f for i in doc["items"] for f in i["findings"]}


def test_drift_end_to_end(estate: Path, lab_env: Any, request: pytest.FixtureRequest) -> None:
    env = {**os.environ, **lab_env.env(), "MAINTCTL_STATE_DIR": str(estate / ".maintctl")}
    tag_value = f"e2e-{secrets.token_hex(4)}"
    declared, stray = f"drift-declared-{tag_value}", f"drift-stray-{tag_value}"
    aws = {
        "region": "us-east-1",
        "estate_tag": f"maintctl:estate={tag_value}",
        "unmanaged": True,
        "s3_buckets": [{"name": declared, "versioning": "enabled", "encryption": "AES256"}],
    }
    tomorrow, yesterday = date.today() + timedelta(days=1), date.today() - timedelta(days=1)
    shell_waiver = {
        "id": "W-probe",
        "host": "web1",
        "task": "app config self-test",
        "justification": "read-only probe",
        "expires": tomorrow.isoformat(),
    }
    (estate / "maintenance" / "drift.yml").write_text(catalogue([shell_waiver], aws))

    # 1. The lab as built is in sync; the shell task is unknown (not in sync), waived on web1.
    first = drift(estate, env, "app-config-drift", "--format", "json")
    assert first.returncode == 2, first.stderr
    f = findings(first.stdout)
    assert {f[("app-config-drift", h, "app.conf")]["status"] for h in lab_env.hosts} == {"in_sync"}
    assert f[("app-config-drift", "web2", "app config self-test")]["status"] == "unknown"
    assert f[("app-config-drift", "db1", "app config self-test")]["status"] == "unknown"
    assert f[("app-config-drift", "web1", "app config self-test")]["status"] == "waived"

    # 2. A hand edit on web2: drift on web2 only, with the diff.
    lab_env.ssh("web2", f"sed -i 's/^workers = 4$/workers = 12/' {APP_CONF}")
    second = drift(estate, env, "app-config-drift", "--format", "json")
    assert second.returncode == 2
    f = findings(second.stdout)
    web2 = f[("app-config-drift", "web2", "app.conf")]
    assert web2["status"] == "drift"
    assert "-workers = 12" in web2["diff"] and "+workers = 4" in web2["diff"]
    assert web2["location"] == "playbooks/drift-app.yml:15"
    assert f[("app-config-drift", "web1", "app.conf")]["status"] == "in_sync"
    assert f[("app-config-drift", "db1", "app.conf")]["status"] == "in_sync"
    assert "workers = 12" in lab_env.ssh("web2", f"cat {APP_CONF}").stdout  # check mode changed nothing

    # 3. Waive web2's drift and every unchecked probe: clean, exit 0.
    accept = {
        "id": "W-web2",
        "host": "web2",
        "task": "app.conf",
        "justification": "CHG-1 hotfix",
        "expires": tomorrow.isoformat(),
    }
    probes = {**shell_waiver, "host": "*", "id": "W-probes"}
    (estate / "maintenance" / "drift.yml").write_text(catalogue([accept, probes], aws))
    third = drift(estate, env, "app-config-drift", "--format", "json")
    assert third.returncode == 0, third.stdout
    assert findings(third.stdout)[("app-config-drift", "web2", "app.conf")]["status"] == "waived"

    # 4. The same waiver, expired: drift again, and the finding says so.
    expired = {**accept, "expires": yesterday.isoformat()}
    (estate / "maintenance" / "drift.yml").write_text(catalogue([expired, probes], aws))
    fourth = drift(estate, env, "app-config-drift", "--format", "json")
    assert fourth.returncode == 2
    web2 = findings(fourth.stdout)[("app-config-drift", "web2", "app.conf")]
    assert web2["status"] == "drift" and web2["note"].startswith(f"waiver expired on {yesterday.isoformat()}")

    # 5. AWS: a declared bucket with versioning off is drift; an untracked tagged bucket is unmanaged.
    import boto3

    s3 = boto3.client("s3")  # lab_env points AWS_* at the lab's moto
    tagging = {"TagSet": [{"Key": "maintctl:estate", "Value": tag_value}]}
    for name in (declared, stray):
        s3.create_bucket(Bucket=name)
        request.addfinalizer(lambda name=name: s3.delete_bucket(Bucket=name))  # the lab's moto is shared
        s3.put_bucket_tagging(Bucket=name, Tagging=tagging)
    s3.put_bucket_encryption(
        Bucket=declared,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    out = estate / "reports"
    fifth = drift(estate, env, "aws-drift", "--format", "junit", "--output", str(out / "drift.xml"))
    assert fifth.returncode == 2, fifth.stdout + fifth.stderr
    assert "UNMANAGED" in fifth.stdout and f"s3://{stray}" in fifth.stdout  # the text summary on stdout
    suite = ET.parse(out / "drift.xml").getroot().find("testsuite")  # noqa: S314 - our own output
    assert suite is not None and suite.get("name") == "aws-drift"
    cases = {(c.get("classname"), c.get("name")): c for c in suite.findall("testcase")}
    versioning = cases[(f"aws-drift.aws.s3://{declared}", "versioning")].find("failure")
    assert versioning is not None and versioning.get("type") == "drift"
    assert cases[(f"aws-drift.aws.s3://{declared}", "encryption")].find("failure") is None
    unmanaged = cases[(f"aws-drift.aws.s3://{stray}", "managed")].find("failure")
    assert unmanaged is not None and unmanaged.get("type") == "unmanaged"

    sarif = drift(estate, env, "--format", "sarif", "--output", str(out / "drift.sarif"))
    assert sarif.returncode == 2
    doc = json.loads((out / "drift.sarif").read_text())
    rules = {r["ruleId"] for r in doc["runs"][0]["results"]}
    assert {"drift/task-drift", "drift/aws-drift", "drift/aws-unmanaged"} <= rules

    # 6. Fixed by hand: the bucket and web2 are back in line; the stray bucket is declared. Exit 0.
    s3.put_bucket_versioning(Bucket=declared, VersioningConfiguration={"Status": "Enabled"})
    lab_env.ssh("web2", f"sed -i 's/^workers = 12$/workers = 4/' {APP_CONF}")
    aws["s3_buckets"] = [*aws["s3_buckets"], {"name": stray}]
    (estate / "maintenance" / "drift.yml").write_text(catalogue([expired, probes], aws))
    clean = drift(estate, env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.rstrip().splitlines()[-1].startswith("no drift")
    assert "waiver W-web2 covers no finding" in clean.stdout

    # 7. Errors exit 1, never 2: an unknown item, and an unreachable host.
    assert drift(estate, env, "no-such-item").returncode == 1
    inv = (estate / "inventory" / "hosts.yml").read_text().replace("10.213.0.21", "10.213.0.250")
    (estate / "inventory" / "hosts.yml").write_text(inv)
    broken = drift(estate, env, "app-config-drift", "--format", "json")
    assert broken.returncode == 1
    assert findings(broken.stdout)[("app-config-drift", "db1", "app config folder")]["status"] == "error"
