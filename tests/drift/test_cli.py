"""The real `maintctl` CLI on local-connection hosts: exit codes, formats, and the engine paths
(a scheduled-style `maintctl run` only checks; `maintctl drift --remediate` fixes under a change record)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from drift_helpers import app_conf, local_estate

HOSTS = ["h1", "h2"]


def write_catalogue(root: Path, **drift: Any) -> None:
    doc = {
        # always open: every minute, for an hour
        "windows": {"always": {"cron": "* * * * *", "timezone": "UTC", "duration": "1h"}},
        "items": [
            {
                "id": "cfg",
                "kind": "drift",
                "targets": {"groups": ["all"]},
                "window": "always",
                "expected_duration": "5m",
                "change": {"type": "standard"},
                "drift": {"playbooks": ["drift-app.yml"], **drift},
            }
        ],
    }
    (root / "maintenance" / "items.yml").write_text(json.dumps(doc, indent=2))


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    root = local_estate(tmp_path, HOSTS)
    write_catalogue(
        root, waivers=[{"task": "app config self-test", "justification": "read-only probe", "expires": "2099-01-01"}]
    )
    return root


def maintctl(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAINTCTL_STATE_DIR": str(root / ".maintctl")}
    exe = Path(sys.executable).parent / "maintctl"
    return subprocess.run(
        [str(exe), "--estate", str(root), *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def conf(root: Path, host: str) -> Path:
    return root.parent / "hosts" / host / "app.conf"


def test_exit_codes_and_formats(estate: Path) -> None:
    clean = maintctl(estate, "drift")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.rstrip().endswith("2 waived, 4 in sync)")
    conf(estate, "h2").write_text("listen = *:1\n")
    drifted = maintctl(estate, "drift", "cfg", "--format", "json")
    assert drifted.returncode == 2
    doc = json.loads(drifted.stdout)
    assert [(f["target"], f["status"]) for f in doc["items"][0]["findings"] if f["check"] == "app.conf"] == [
        ("h1", "in_sync"),
        ("h2", "drift"),
    ]
    assert maintctl(estate, "drift", "cfg", "--format", "json").stdout == drifted.stdout  # stable
    out = estate / "out" / "report.xml"
    junit = maintctl(estate, "drift", "--format", "junit", "--output", str(out))
    assert junit.returncode == 2 and out.read_text().startswith("<?xml") and "DRIFT" in junit.stdout
    assert maintctl(estate, "drift", "nope").returncode == 1
    (estate / "maintenance" / "items.yml").write_text("items: [")
    bad = maintctl(estate, "drift")
    assert bad.returncode == 1 and "items.yml" in bad.stderr and "Traceback" not in bad.stderr


def test_engine_run_only_checks_and_remediate_fixes_with_a_change_record(estate: Path) -> None:
    conf(estate, "h1").write_text("hand edited\n")
    run = maintctl(estate, "run", "cfg")
    assert run.returncode == 0, run.stdout + run.stderr
    assert conf(estate, "h1").read_text() == "hand edited\n"  # a drift run changes nothing
    changes = json.loads(maintctl(estate, "changes", "list", "--json").stdout or "[]")
    assert changes == []  # ... and opens no change record

    # The occurrence already ran (the check above): an extra run is ad hoc, with a reason.
    fixed = maintctl(estate, "drift", "cfg", "--remediate", "--force", "--reason", "drift found by CI")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert conf(estate, "h1").read_text() == app_conf("h1")
    changes = json.loads(maintctl(estate, "changes", "list", "--json").stdout)
    assert len(changes) == 1 and changes[0]["state"] == "closed", changes
    assert fixed.stdout.rstrip().splitlines()[-1].startswith("no drift")
    verify = maintctl(estate, "evidence", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
