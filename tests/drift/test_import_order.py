"""What `maintctl drift` imports before ansible-playbook starts, and what it imports while it runs.

Modules needed only for the results (classification, waivers, report writers, redaction) are imported
on the playbook's first event, while ansible-playbook works on the other core: neither before the
playbook starts (on the way to it) nor after it exits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from drift_helpers import local_estate

from runner.kinds.drift.ansible_check import run_playbook, spec_for

AFTER_START = [
    "runner.kinds.drift.classify",
    "runner.kinds.drift.diffs",
    "runner.kinds.drift.findings",
    "runner.kinds.drift.waivers",
    "runner.kinds.drift.report",
    "runner.kinds.drift.report_junit",
    "runner.redact",
]

# Runs `maintctl drift` in this interpreter and records sys.modules when ansible-playbook is forked
# (the os.forkpty audit event) and when the drift check's run_playbook returns (the playbook exited).
PROBE = """
import io, json, sys
from contextlib import redirect_stdout
seen = {}

def on_audit(event, args):
    if event == "os.forkpty" and "fork" not in seen:
        seen["fork"] = sorted(sys.modules)

sys.addaudithook(on_audit)
import runner.kinds.drift.ansible_check as ac
real = ac.run_playbook

def run_playbook(*args, **kw):
    result = real(*args, **kw)
    seen["exited"] = sorted(sys.modules)
    return result

ac.run_playbook = run_playbook
from runner.cli.main import main
with redirect_stdout(io.StringIO()) as out:
    rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "report": out.getvalue(), **seen}))
"""


def test_result_modules_are_imported_while_the_playbook_runs(tmp_path: Path) -> None:
    root = local_estate(tmp_path, ["h1", "h2"])
    item = {"id": "cfg", "kind": "drift", "targets": {"groups": ["all"]}, "window": "w",
            "expected_duration": "5m", "drift": {"playbooks": ["drift-app.yml"]}}
    doc = {"windows": {"w": {"cron": "0 * * * *", "timezone": "UTC", "duration": "1h"}}, "items": [item]}
    (root / "maintenance" / "items.yml").write_text(json.dumps(doc))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PROBE), "--estate", str(root), "drift", "--format", "junit"],
        env={**os.environ, "MAINTCTL_STATE_DIR": str(root / ".maintctl")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["rc"] == 2 and out["report"].startswith("<?xml"), out["report"]  # the self-test is unknown
    assert [m for m in AFTER_START if m in out["fork"]] == []
    assert "importlib.metadata" not in out["fork"]
    assert [m for m in AFTER_START if m not in out["exited"]] == []


def test_on_start_is_called_once_when_the_playbook_has_started(tmp_path: Path) -> None:
    root = local_estate(tmp_path, ["h1", "h2"])
    calls: list[int] = []
    events: list[str] = []
    spec = spec_for(root / "playbooks" / "drift-app.yml", root / "inventory" / "hosts.ini", hosts=["h1", "h2"])
    run = run_playbook(
        spec,
        on_event=lambda e: events.append(str(e["event"])),
        on_start=lambda: calls.append(len(events)),
        work_dir=tmp_path,
    )
    assert run.status == "successful" and events and events[-1] == "playbook_on_stats"
    assert calls == [0]  # once, before the first result reached the caller


def test_an_error_is_redacted_however_early_it_comes(tmp_path: Path) -> None:
    root = local_estate(tmp_path, ["h1"])
    (root / "maintenance" / "items.yml").write_text(json.dumps({"items": []}))
    secret = "s3cr3t-Value-0123"  # noqa: S105 - a canary the error message must not show
    done = subprocess.run(
        [str(Path(sys.executable).parent / "maintctl"), "--estate", str(root), "drift", secret],
        env={**os.environ, "MAINTCTL_STATE_DIR": str(root / ".maintctl"), "AWS_SECRET_ACCESS_KEY": secret},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1 and "not a drift item" in done.stderr
    assert secret not in done.stderr and "********" in done.stderr
