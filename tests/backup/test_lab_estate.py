"""The example estate's backup item (backup-db: /etc/postgresql and appdb on db1, plan db-nightly)
backed up by the backup kind, then proven by the real ``maintctl backup restore-test`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner.catalogue.loader import load_catalogue
from runner.engine.kind import RunContext
from runner.kinds.backup.runner import BackupRunner

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]


def test_example_estate_backup_then_cli_restore_test(lab_env: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from runner.evidence.recorder import open_recorder

    state = tmp_path / "state"
    env = {"MAINTCTL_STATE_DIR": str(state), "MAINTCTL_KNOWN_HOSTS": str(lab_env.known_hosts),
           "RESTIC_PASSWORD": "estate-lab-restic-canary"}  # fmt: skip  # fixed: the bucket outlives one test
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cat = load_catalogue(REPO)
    item = cat.item("backup-db")
    rec = open_recorder(REPO)
    bundle = rec.open_bundle(run_id="lab-estate", item_id=item.id, occurrence="lab", asked={})
    ctx = RunContext(run_id="lab-estate", item=item, catalogue=cat, estate_root=str(REPO), state_dir=str(state),
                     occurrence="lab", bundle_id=bundle, evidence=rec, hosts=["db1"], deadline=None,
                     options={"inventory": [str(lab_env.inventory)]})  # fmt: skip
    kind = BackupRunner()
    kind.before(ctx)
    [res] = kind.run_batch(ctx, ["db1"])
    kind.after(ctx, [res])
    rec.close_bundle(bundle, outcome="succeeded" if not res.failed else "failed", summary={})
    assert res.status == "changed", res.message

    out = subprocess.run([sys.executable, "-m", "runner.cli.main", "--estate", str(REPO), "backup", "restore-test",
                          "backup-db", "--json"], capture_output=True, text=True, env={**os.environ, **env},
                         timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr + out.stdout
    report = json.loads(out.stdout)
    [host] = report["results"]
    kinds = sorted(t["kind"] for t in host["restore_tests"])
    assert kinds == ["files", "postgres"] and all(t["ok"] for t in host["restore_tests"])
    assert host["repository_check"]["checks"][0]["read_data_subset"] == "10%"
    assert env["RESTIC_PASSWORD"] not in out.stdout + out.stderr

    listing = subprocess.run([sys.executable, "-m", "runner.cli.main", "--estate", str(REPO), "backup", "list",
                              "--json"], capture_output=True, text=True, env={**os.environ, **env})  # fmt: skip
    [row] = [r for r in json.loads(listing.stdout) if r["item"] == "backup-db"]
    assert row["last_backup"]["host"] == "db1" and row["last_verified_restore"]["rpo"] is not None
