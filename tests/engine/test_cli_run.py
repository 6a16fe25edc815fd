"""`maintctl run / runs / show` as a user calls them, on an estate of local-connection hosts."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

MAINTCTL = str(Path(sys.executable).parent / "maintctl")


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    start = datetime.now(UTC) - timedelta(minutes=1)
    for d in ("maintenance", "patching", "inventory", "playbooks", "out"):
        (tmp_path / d).mkdir()
    (tmp_path / "inventory" / "hosts.yml").write_text(
        "all:\n  children:\n    local:\n      hosts:\n        l1: {ansible_connection: local}\n"
        "        l2: {ansible_connection: local}\n")
    (tmp_path / "playbooks" / "marker.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: write\n"
        "      copy: {content: \"x\\n\", dest: \"{{ out }}/{{ inventory_hostname }}\"}\n")
    (tmp_path / "patching" / "b.yml").write_text("baselines:\n  any: {package_manager: apt, approve: all}\n")
    (tmp_path / "maintenance" / "c.yml").write_text(textwrap.dedent(f"""\
        windows:
          open-now: {{cron: "{start.minute} {start.hour} * * *", timezone: UTC, duration: 1h, cutoff: 5m}}
          closed: {{cron: "0 0 1 1 *", timezone: UTC, duration: 1h}}
        items:
          - id: now
            kind: patch
            targets: {{groups: [local]}}
            window: open-now
            expected_duration: 5m
            patch: {{baseline: any, runner: playbook, playbook: marker.yml, extravars: {{out: "{tmp_path}/out"}}}}
          - id: later
            kind: patch
            targets: {{hosts: ["l*"]}}
            window: closed
            expected_duration: 5m
            patch: {{baseline: any, runner: playbook, playbook: marker.yml, extravars: {{out: "{tmp_path}/out"}}}}
    """))
    return tmp_path


def cli(estate: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(estate), "MAINTCTL_STATE_DIR": str(estate / "state")}
    return subprocess.run([MAINTCTL, "--estate", str(estate), *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_run_runs_show(estate: Path) -> None:
    done = cli(estate, "run", "now")
    assert done.returncode == 0, done.stderr
    assert "batch 1/1: l1, l2" in done.stdout and "succeeded" in done.stdout  # plain lines: not a terminal
    assert cli(estate, "run", "now").returncode == 3
    outside = cli(estate, "run", "later")
    assert outside.returncode == 2 and "--force" in outside.stderr and "Traceback" not in outside.stderr
    assert cli(estate, "run", "later", "--force").returncode == 2
    adhoc = cli(estate, "run", "later", "--force", "--reason", "urgent fix", "--json")
    assert adhoc.returncode == 0, adhoc.stderr
    lines = [json.loads(x) for x in adhoc.stdout.splitlines()]
    assert lines[0]["event"] == "run.started" and lines[-1]["event"] == "run.finished"
    runs = json.loads(cli(estate, "runs", "--json").stdout)
    assert [(r["item_id"], r["status"], r["adhoc"]) for r in runs] == [("later", "succeeded", True),
                                                                         ("now", "succeeded", False)]
    assert runs[0]["reason"] == "urgent fix"
    table = cli(estate, "runs").stdout
    assert "later" in table and "done:2" in table
    view = json.loads(cli(estate, "show", runs[1]["id"][:20], "--json").stdout)
    assert [h["host"] for h in view["hosts"]] == ["l1", "l2"] and view["hosts"][0]["steps"][0]["name"] == "write"
    text = cli(estate, "show", runs[1]["id"]).stdout
    assert "batch 1: done" in text and "l2: changed" in text
    missing = cli(estate, "show", "nope")
    assert missing.returncode == 1 and "unknown run" in missing.stderr
    assert cli(estate, "run").returncode == 2
    assert cli(estate, "run", "nope").returncode == 2


def test_run_due(estate: Path) -> None:
    done = cli(estate, "run", "--due", "--json")
    assert done.returncode == 0, done.stderr
    finished = [json.loads(x) for x in done.stdout.splitlines() if '"run.finished"' in x]
    assert len(finished) == 1 and finished[0]["status"] == "succeeded"
    again = cli(estate, "run", "--due")
    assert again.returncode == 0 and "nothing due" in again.stdout


def test_serve_runs_due_work_and_stops_on_sigterm(estate: Path) -> None:
    import signal
    import time

    env = {"PATH": "/usr/bin:/bin", "HOME": str(estate), "MAINTCTL_STATE_DIR": str(estate / "state")}
    proc = subprocess.Popen([MAINTCTL, "--estate", str(estate), "serve", "--interval", "1", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    seen: list[dict[str, object]] = []
    deadline = time.monotonic() + 240
    for line in proc.stdout:
        seen.append(json.loads(line))
        if seen[-1]["event"] == "run.finished" or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert any(e["event"] == "run.finished" and e["status"] == "succeeded" for e in seen)
    assert '"stopped"' in out
    runs = json.loads(cli(estate, "runs", "--json").stdout)
    assert [(r["item_id"], r["status"]) for r in runs] == [("now", "succeeded")]  # once, not every pass
