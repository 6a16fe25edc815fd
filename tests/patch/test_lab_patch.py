"""Patch windows end to end in the lab, through the real CLI: publish newer packages, patch web1,
web2 and db1 in batches of one with web1 as canary, and check what the hosts really have over SSH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def _version() -> str:
    # Strictly newer than anything published before, so the test can run again on the same lab.
    time.sleep(1.1)
    return f"1.{int(time.time())}"


def _estate(tmp: Path, lab: Any, *, baseline: dict[str, Any], item: dict[str, Any],
            window: dict[str, Any] | None = None) -> Path:
    (tmp / "maintenance").mkdir()
    (tmp / "patching").mkdir()
    (tmp / "inventory").mkdir()
    (tmp / "playbooks").symlink_to(REPO / "playbooks")
    (tmp / "inventory" / "hosts.yml").write_text(Path(lab.inventory).read_text())
    win = window or {"cron": "0 2 * * 2", "timezone": "Europe/Berlin", "duration": "3h", "cutoff": "30m"}
    doc = {
        "settings": {"ansible": {"known_hosts": str(lab.known_hosts), "forks": 5}},
        "windows": {"lab-window": win},
        "items": [{"id": "patch-lab", "kind": "patch", "window": "lab-window", "expected_duration": "20m",
                   "change": {"type": "standard"}, **item}],
    }
    (tmp / "maintenance" / "main.yml").write_text(json.dumps(doc))
    (tmp / "patching" / "baselines.yml").write_text(json.dumps({"baselines": {"lab": baseline}}))
    return tmp


def _maintctl(estate: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("MAINTCTL_STATE_DIR", None)
    proc = subprocess.run([sys.executable, "-m", "runner.cli.main", "--estate", str(estate), *args],
                          capture_output=True, text=True, env=env, timeout=900)
    assert "Traceback" not in proc.stderr, proc.stderr
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _installed(lab: Any, host: str, package: str) -> str:
    return str(lab.ssh(host, f"dpkg-query -W -f='${{Version}}' {package}").stdout).strip()


def _boot_id(lab: Any, host: str) -> str:
    return str(lab.ssh(host, "cat /proc/sys/kernel/random/boot_id").stdout).strip()


def _changes(estate: Path) -> list[dict[str, Any]]:
    out = _maintctl(estate, "changes", "list", "--json", check=True).stdout
    data = json.loads(out)
    return list(data["changes"] if isinstance(data, dict) else data)


ROLLOUT = {"batch_size": 1, "canary": 1, "max_errors": 0}
ALL = {"groups": ["web", "db"]}


def test_rolling_patch_with_reboot_if_needed(lab: Any, tmp_path: Path) -> None:
    v = _version()
    lab.publish("lab-tool", v)
    lab.publish("lab-kernel", v, reboot=True)
    estate = _estate(tmp_path, lab, baseline={"package_manager": "apt", "approve": "all", "exclude": ["lab-broken*"]},
                     item={"targets": ALL, "rollout": ROLLOUT,
                           "patch": {"baseline": "lab", "reboot": "if_needed",
                                     "pre_patch": {"commands": [f"echo {v} > /var/tmp/maintctl-pre-patch"]}}})
    boots = {h: _boot_id(lab, h) for h in ("web1", "web2", "db1")}

    scan = json.loads(_maintctl(estate, "patch", "scan", "--json", check=True).stdout)
    missing = {h["host"]: {u["name"] for u in h["updates"] if u["approved"]} for h in scan[0]["hosts"]}
    assert all({"lab-tool", "lab-kernel"} <= names for names in missing.values()), missing
    assert _installed(lab, "web1", "lab-tool") != v, "scan must change nothing"

    run = _maintctl(estate, "run", "patch-lab", "--force", "--reason", "lab test", "--json")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    batches = [e for e in events if e.get("event") == "batch.started"]
    assert [b["hosts"] for b in batches] == [["web1"], ["web2"], ["db1"]]
    playbook_runs = sorted(p.name.split("-", 1)[1] for p in (estate / ".maintctl" / "runs").glob("[0-9]*/[0-9]*-*"))
    assert playbook_runs == ["session"], f"one ansible-playbook for the scan and every batch: {playbook_runs}"
    said = [e.get("text", "") for e in events if e.get("event") == "run.message"]
    assert any("Ansible started ahead" in t for t in said), "the run's session was not the one started ahead"

    for host in ("web1", "web2", "db1"):
        assert _installed(lab, host, "lab-tool") == v
        assert _installed(lab, host, "lab-kernel") == v
        assert _boot_id(lab, host) != boots[host], f"{host} was not rebooted"
        assert lab.ssh(host, "test -e /var/run/reboot-required && echo yes || echo no").stdout.strip() == "no"
        assert lab.ssh(host, "cat /var/tmp/maintctl-pre-patch").stdout.strip() == v, "pre-patch protection did not run"

    status = {r["host"]: r for r in json.loads(_maintctl(estate, "patch", "status", "--json", check=True).stdout)}
    assert {h: s["state"] for h, s in status.items()} == {"web1": "compliant", "web2": "compliant", "db1": "compliant"}
    assert {c["name"] for c in status["db1"]["installed"]} >= {"lab-tool", "lab-kernel"}
    assert all(s["rebooted"] for s in status.values())

    changes = _changes(estate)
    assert len(changes) == 1 and changes[0]["close_code"] == "successful"
    _maintctl(estate, "evidence", "verify", check=True)
    shown = _maintctl(estate, "evidence", "list", "--json", check=True).stdout
    assert "patch-lab" in shown


def _sessions_of(estate: Path) -> list[str]:
    """ansible-playbook processes still running for this estate's runs."""
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return [line for line in ps.splitlines() if "ansible-playbook" in line and str(estate) in line]


def test_a_change_not_approved_stops_the_session_started_ahead_before_any_task(lab: Any, tmp_path: Path) -> None:
    v = _version()
    lab.publish("lab-tool", v)
    estate = _estate(tmp_path, lab, baseline={"package_manager": "apt", "approve": "all", "exclude": ["lab-broken*"]},
                     item={"targets": {"hosts": ["web1"]}, "patch": {"baseline": "lab"},
                           "change": {"type": "normal", "approval_timeout": "3s", "on_timeout": "cancel"}})
    before = _installed(lab, "web1", "lab-tool")
    run = _maintctl(estate, "run", "patch-lab", "--force", "--reason", "lab test", "--json")
    assert run.returncode == 1 and "cancelled" in run.stderr, run.stdout[-3000:] + run.stderr
    assert "Ansible started ahead" in run.stdout
    assert _installed(lab, "web1", "lab-tool") == before
    assert _sessions_of(estate) == []
    left = sorted(p.name for p in (estate / ".maintctl" / "runs").glob("*/*"))
    assert left == [], f"the session's folder was left behind: {left}"
    assert _changes(estate)[0]["close_code"] == "cancelled"
    _maintctl(estate, "evidence", "verify", check=True)


def test_reboot_never_leaves_pending_reboot(lab: Any, tmp_path: Path) -> None:
    v = _version()
    lab.publish("lab-kernel", v, reboot=True)
    estate = _estate(tmp_path, lab, baseline={"package_manager": "apt", "approve": "all", "exclude": ["lab-broken*"]},
                     item={"targets": {"hosts": ["web2"]}, "patch": {"baseline": "lab", "reboot": "never"}})
    boot = _boot_id(lab, "web2")
    run = _maintctl(estate, "run", "patch-lab", "--force", "--reason", "lab test")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr
    assert _installed(lab, "web2", "lab-kernel") == v
    assert _boot_id(lab, "web2") == boot
    assert lab.ssh("web2", "test -e /var/run/reboot-required && echo yes").stdout.strip() == "yes"
    status = json.loads(_maintctl(estate, "patch", "status", "--json", check=True).stdout)
    assert [(r["host"], r["state"], r["pending_reboot"]) for r in status] == [("web2", "pending_reboot", True)]
    lab.lab_sh("restart-host", "web2")  # leave the lab as it was: no pending reboot


def test_failed_install_halts_and_leaves_the_rest_untouched(lab: Any, tmp_path: Path) -> None:
    v = _version()
    lab.publish("lab-tool", v)
    lab.publish("lab-broken", v, fail=True)
    before = {h: _installed(lab, h, "lab-tool") for h in ("web2", "db1")}
    estate = _estate(tmp_path, lab, baseline={"package_manager": "apt", "approve": "all"},
                     item={"targets": ALL, "rollout": ROLLOUT, "patch": {"baseline": "lab", "reboot": "never"}})
    try:
        run = _maintctl(estate, "run", "patch-lab", "--force", "--reason", "lab test")
        assert run.returncode == 1, run.stdout[-4000:] + run.stderr
        assert "halted" in run.stdout + run.stderr
        for host in ("web2", "db1"):
            assert _installed(lab, host, "lab-tool") == before[host], f"{host} was touched after the halt"
        status = {r["host"]: r["state"] for r in json.loads(_maintctl(estate, "patch", "status", "--json").stdout)}
        assert status == {"web1": "failed"}
        changes = _changes(estate)
        assert changes[0]["close_code"] == "unsuccessful"
        _maintctl(estate, "evidence", "verify", check=True)
    finally:
        fixed = _version()
        lab.publish("lab-broken", fixed)
        lab.exec("web1", ["sh", "-c", f"apt-get -q update >/dev/null; apt-get -q -y install lab-broken={fixed}"])


def test_cutoff_passed_before_start_runs_nothing(lab: Any, tmp_path: Path) -> None:
    v = _version()
    lab.publish("lab-tool", v)
    start = datetime.now(UTC) - timedelta(minutes=10)
    window = {"cron": f"{start.minute} {start.hour} * * *", "timezone": "UTC", "duration": "1h",
              "cutoff": "55m", "max_start_delay": "1h"}
    estate = _estate(tmp_path, lab, baseline={"package_manager": "apt", "approve": "all", "exclude": ["lab-broken*"]},
                     item={"targets": {"hosts": ["web1"]}, "patch": {"baseline": "lab"}}, window=window)
    before = _installed(lab, "web1", "lab-tool")
    run = _maintctl(estate, "run", "patch-lab")
    assert run.returncode == 2 and "missed" in run.stderr, run.stderr
    assert _installed(lab, "web1", "lab-tool") == before
    runs = json.loads(_maintctl(estate, "runs", "--json", check=True).stdout)
    rows = runs["runs"] if isinstance(runs, dict) else runs
    assert [(r["status"], r["started"]) for r in rows] == [("missed", None)]


def test_cutoff_reached_during_a_run_starts_no_new_batch(lab: Any, tmp_path: Path) -> None:
    v = _version()
    lab.publish("lab-tool", v)
    now = datetime.now(UTC)
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=1)
    cutoff_at = now + timedelta(seconds=30)
    cutoff = int((start + timedelta(hours=1) - cutoff_at).total_seconds())
    window = {"cron": f"{start.minute} {start.hour} * * *", "timezone": "UTC", "duration": "1h",
              "cutoff": f"{cutoff}s", "max_start_delay": "10m"}
    # The pre-check makes the first batch outlast the 30 s left before the cutoff.
    rollout = {"batch_size": 1, "on_cutoff": "continue",
               "pre_checks": [{"kind": "command", "name": "slow gate", "command": "sleep 40", "timeout": "90s"}]}
    estate = _estate(tmp_path, lab, baseline={"package_manager": "apt", "approve": "all", "exclude": ["lab-broken*"]},
                     item={"targets": {"hosts": ["web1", "web2"]}, "rollout": rollout, "patch": {"baseline": "lab"}},
                     window=window)
    before = _installed(lab, "web2", "lab-tool")
    run = _maintctl(estate, "run", "patch-lab", "--json")
    assert _installed(lab, "web1", "lab-tool") == v, run.stdout[-3000:] + run.stderr
    assert _installed(lab, "web2", "lab-tool") == before
    runs = json.loads(_maintctl(estate, "runs", "--json", check=True).stdout)
    run_id = (runs["runs"] if isinstance(runs, dict) else runs)[0]["id"]
    shown = json.loads(_maintctl(estate, "show", run_id, "--json", check=True).stdout)
    assert {h["host"]: h["status"] for h in shown["hosts"]}["web2"] == "not_started"


def test_failed_pre_patch_protection_leaves_the_host_unpatched(lab: Any, tmp_path: Path) -> None:
    v = _version()
    lab.publish("lab-tool", v)
    only_tool = {"package_manager": "apt", "approve": "none", "include": ["lab-tool"]}
    estate = _estate(tmp_path, lab, baseline=only_tool, item={"targets": {"hosts": ["web1"]},
                     "patch": {"baseline": "lab", "pre_patch": {"commands": ["echo snapshot failed >&2; exit 3"]}}})
    before = _installed(lab, "web1", "lab-tool")
    run = _maintctl(estate, "run", "patch-lab", "--force", "--reason", "lab test")
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr
    assert "pre-patch protection failed" in run.stdout
    assert _installed(lab, "web1", "lab-tool") == before
    assert _changes(estate)[0]["close_code"] == "unsuccessful"
