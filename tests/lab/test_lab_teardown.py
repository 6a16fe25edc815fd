"""`lab.sh down` leaves nothing behind, also after an `up` killed halfway, and `up`/`down` are idempotent.

Runs against a second, separate lab instance (LAB_INSTANCE=1: bridge mlab1, 10.213.1.0/24, its own run
dir; instance 2 if the session itself uses instance 1) so the shared lab other tests use stays up; the test
also checks that it does.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from labkit.config import INSTANCE
from labkit.handle import Lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]
LAB_SH = Path(__file__).resolve().parent / "lab.sh"
OTHER = 2 if INSTANCE == 1 else 1
RUN = Path(__file__).resolve().parent / "run" / f"instance-{OTHER}"
ENV = dict(os.environ, LAB_INSTANCE=str(OTHER), LAB_HOSTS="")


def lab1(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(LAB_SH), *args], capture_output=True, text=True, env=ENV,
                          timeout=timeout)


def leftovers() -> list[str]:
    """Everything of the other instance that still exists on the machine."""
    found: list[str] = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [f"netns {n.split()[0]}" for n in netns.splitlines() if n.startswith(f"mlab{OTHER}-")]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    for line in links.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(f"mlv{OTHER}-") or name == f"mlab{OTHER}":
            found.append(f"link {name}")
    marker = f"MAINTCTL_LAB_RUN={RUN}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            mounts = Path(f"/proc/{pid}/mountinfo").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker in env or str(RUN).encode() in cmdline:
            found.append(f"process {pid}")
        if str(RUN) in mounts:
            found.append(f"mount seen by process {pid}")
    if RUN.exists():
        kept = ("logs", ".lab.lock", ".repo.lock", ".users")  # locks, logs and the session registry
        found += [f"file {p.name}" for p in RUN.iterdir() if p.name not in kept]
    return sorted(set(found))


def test_up_twice_then_down_twice_leaves_nothing(lab: Lab) -> None:
    first = lab1("up", "--hosts", "2")
    assert first.returncode == 0, first.stderr
    ssh = subprocess.run(["ssh", "-F", str(RUN / "ssh_config"), "web2", "hostname -I"], capture_output=True,
                         text=True, timeout=60)
    assert ssh.stdout.split() == [f"10.213.{OTHER}.12"], ssh.stderr
    again = lab1("up", "--hosts", "2")
    assert again.returncode == 0 and "already up" in again.stderr
    assert lab1("down").returncode == 0
    assert leftovers() == []
    assert lab1("down").returncode == 0
    assert leftovers() == []
    # The shared lab was not touched.
    assert lab.ssh("web1", "hostname").stdout.strip() == "web1"


def test_down_after_an_up_killed_halfway(lab: Lab) -> None:
    proc = subprocess.Popen(["bash", str(LAB_SH), "up", "--hosts", "2"], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    try:
        while not (RUN / "pids" / "keeper-web1.pid").exists():
            assert time.monotonic() < deadline, "the up never got to booting hosts"
            assert proc.poll() is None, "the up ended before it could be interrupted"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    time.sleep(1)
    assert any(item.startswith("netns") for item in leftovers())
    down = lab1("down")
    assert down.returncode == 0, down.stderr
    assert leftovers() == []
    assert lab.ssh("web2", "hostname").stdout.strip() == "web2"
