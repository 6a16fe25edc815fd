"""End to end against the lab: `maintctl run` rolls a playbook over web1, web2 and db1 in batches of one
with web1 as canary, checks run over SSH, and a runner killed mid-run is recovered without repeats."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .labestate import MAINTCTL, env, events, maintctl, show, write_estate

pytestmark = pytest.mark.lab


def markers(lab: object, host: str, token: str) -> list[str]:
    out = lab.ssh(host, f"cat /tmp/maintctl-e2e-{token} 2>/dev/null || true")  # type: ignore[attr-defined]
    return [line for line in out.stdout.splitlines() if line.strip()]


def test_rollout_over_the_lab(lab: object, tmp_path: Path) -> None:
    token = secrets.token_hex(4)
    kh = lab.known_hosts  # type: ignore[attr-defined]
    write_estate(tmp_path, lab.inventory, token)  # type: ignore[attr-defined]
    done = maintctl(tmp_path, kh, "run", "lab-marker", "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    evs = events(done.stdout)
    assert [e["hosts"] for e in evs if e["event"] == "batch.started"] == [["web1"], ["web2"], ["db1"]]
    checks = [e for e in evs if e["event"] == "check.result"]
    assert {(c["phase"], c["host"], c["ok"]) for c in checks} == {
        (p, h, True) for p in ("pre", "post") for h in ("web1", "web2", "db1")}
    for host in ("web1", "web2", "db1"):
        assert markers(lab, host, token) == [f"{token} {host}"]  # checked over real SSH
    run_id = next(e["run_id"] for e in evs if e["event"] == "run.started")
    view = show(tmp_path, kh, run_id)
    assert view["run"]["status"] == "succeeded"
    assert [(h["host"], h["batch"], h["status"]) for h in view["hosts"]] == [
        ("web1", 0, "changed"), ("web2", 1, "changed"), ("db1", 2, "changed")]
    assert [s["name"] for s in view["hosts"][0]["steps"]] == ["mark", "slow"]
    again = maintctl(tmp_path, kh, "run", "lab-marker")
    assert again.returncode == 3 and "at most once" in again.stderr
    assert markers(lab, "web1", token) == [f"{token} web1"]
    runs = json.loads(maintctl(tmp_path, kh, "runs", "--json").stdout)
    assert [r["status"] for r in runs] == ["succeeded"]


def test_killed_runner_is_interrupted_and_never_repeats(lab: object, tmp_path: Path) -> None:
    token = secrets.token_hex(4)
    kh = lab.known_hosts  # type: ignore[attr-defined]
    write_estate(tmp_path, lab.inventory, token, nap=20, post_check=False)  # type: ignore[attr-defined]
    proc = subprocess.Popen([MAINTCTL, "--estate", str(tmp_path), "run", "lab-marker", "--json"],
                            stdout=subprocess.PIPE, text=True, start_new_session=True,
                            env=env(tmp_path, kh, MAINTCTL_LEASE_TTL="8"))
    assert proc.stdout is not None
    run_id = ""
    deadline = time.monotonic() + 180
    for line in proc.stdout:
        ev = json.loads(line)
        run_id = ev.get("run_id", run_id) if ev["event"] == "run.started" else run_id
        if ev["event"] == "host.step" and ev["host"] == "web2" and ev["name"] == "mark":
            break  # web1 done, web2 in the middle of its batch
        assert time.monotonic() < deadline, "the run never reached web2"
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and its ansible-playbook die at once, like a crash
    proc.wait(timeout=30)
    assert run_id
    # The next start finds the dead run, marks it interrupted, and does not run the occurrence again.
    nxt = maintctl(tmp_path, kh, "run", "lab-marker")
    assert nxt.returncode == 3 and "died" in nxt.stderr, nxt.stderr  # its lease has not expired yet
    view = show(tmp_path, kh, run_id)
    assert view["run"]["status"] == "interrupted"
    assert {h["host"]: h["status"] for h in view["hosts"]} == {"web1": "changed", "web2": "interrupted"}
    from runner.evidence.query import bundle_records

    records = bundle_records(tmp_path / "state" / "evidence", view["run"]["bundle_id"])
    closed = [r for _n, r in records if r.get("type") == "bundle.closed"]
    assert len(closed) == 1 and "interrupted" in json.dumps(closed[0])
    time.sleep(9)  # the lease expires on its own
    again = maintctl(tmp_path, kh, "run", "lab-marker")
    assert again.returncode == 3 and "at most once" in again.stderr
    # Explicit resumption runs only the host that never started: not web1 (done), not web2 (unknown).
    resumed = maintctl(tmp_path, kh, "run", "lab-marker", "--resume", run_id, "--json",
                       MAINTCTL_LEASE_TTL="8")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr
    started = [e["hosts"] for e in events(resumed.stdout) if e["event"] == "batch.started"]
    assert started == [["db1"]]
    assert markers(lab, "web1", token) == [f"{token} web1"]
    assert markers(lab, "web2", token) == [f"{token} web2"]
    assert markers(lab, "db1", token) == [f"{token} db1"]
