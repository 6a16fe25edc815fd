"""Through the engine (``maintctl run``) in the lab: the example estate's backup-db succeeds with a
verified restore; a plan whose SQL check cannot hold fails the item, closes the change record
unsuccessful, and the evidence names the check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]

FAILING_PLAN = """
plans:
  db-check:
    what:
      postgres: {databases: [appdb], run_as: postgres}
    where:
      restic: {repository: "s3:http://10.213.0.1:5000/BUCKET/db", password_secret: RESTIC_PASSWORD}
    retention: {keep_daily: 7}
    verification:
      every: 1
      sql_checks:
        - {name: items rows, database: appdb, query: "select count(*) from items", expect: 999999}
"""
ITEMS = """
items:
  - id: backup-db
    kind: backup
    targets: {groups: [db]}
    window: nightly-backup
    expected_duration: 30m
    change: {type: standard}
    backup: {plan: db-check}
"""


def _maintctl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=900)  # fmt: skip


@pytest.fixture()
def env(lab_env: Any, tmp_path: Path) -> dict[str, str]:
    import boto3

    # The example plans' repositories may hold another password's repository (the demo's): start empty.
    bucket = boto3.resource("s3").Bucket("maintctl-backups")
    if bucket.creation_date:
        bucket.objects.all().delete()
    return {"MAINTCTL_STATE_DIR": str(tmp_path / "state"), "MAINTCTL_KNOWN_HOSTS": str(lab_env.known_hosts),
            "RESTIC_PASSWORD": "estate-lab-restic-canary"}  # fmt: skip


def test_engine_run_of_example_item_verifies_restore(env: dict[str, str]) -> None:
    run = _maintctl(env, "--estate", str(REPO), "run", "backup-db", "--force", "--reason", "lab e2e")
    assert run.returncode == 0, run.stdout + run.stderr
    status = _maintctl(env, "--estate", str(REPO), "backup", "status", "backup-db", "--json")
    [row] = json.loads(status.stdout)
    assert row["last_verified_restore"]["restore_host"] == "db1" and row["last_check"]["ok"] is True
    assert env["RESTIC_PASSWORD"] not in run.stdout + run.stderr


def test_engine_run_with_failing_sql_check_closes_change_unsuccessful(env: dict[str, str], tmp_path: Path,
                                                                      lab_env: Any) -> None:  # fmt: skip
    import boto3

    estate = tmp_path / "estate"
    for d in ("maintenance", "backup", "inventory"):
        (estate / d).mkdir(parents=True)
    shutil.copy(REPO / "maintenance" / "windows.yml", estate / "maintenance" / "windows.yml")
    shutil.copy(lab_env.inventory, estate / "inventory" / "hosts.yml")
    (estate / "maintenance" / "items.yml").write_text(ITEMS)
    bucket = f"e2e-{os.urandom(4).hex()}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    (estate / "backup" / "plans.yml").write_text(FAILING_PLAN.replace("BUCKET", bucket))

    run = _maintctl(env, "--estate", str(estate), "run", "backup-db", "--force", "--reason", "failing check")
    assert run.returncode == 1
    assert "SQL check 'items rows' returned '1000', expected = '999999'" in run.stdout
    assert "closed: unsuccessful" in run.stdout
    changes = _maintctl(env, "--estate", str(estate), "changes", "list", "--json")
    [change] = json.loads(changes.stdout)
    assert change["close_code"] == "unsuccessful" and change["evidence_link"].startswith("evidence:")
    evidence = _maintctl(env, "--estate", str(estate), "evidence", "list", "--json")
    [bundle] = json.loads(evidence.stdout)
    assert bundle["outcome"] == "halted" and bundle["change_id"] == change["id"]
    detail = _maintctl(env, "--estate", str(estate), "evidence", "show", bundle["id"], "--json")
    assert "SQL check 'items rows' returned '1000'" in detail.stdout
