"""Lab host lifecycle seen from the machine: boot (through a keeper), find its init, wait, enter, stop."""
from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from .config import HOSTFILES, Host
from .net import netns_list, netns_pids
from .proc import LabError, is_lab_process, kill_pids, pid_alive, read_pid, spawn, wait_tcp


def keeper_name(host: Host) -> str:
    return f"keeper-{host.name}"


def start(host: Host) -> None:
    """Boots `host` (its upper layer must exist) under a keeper that reboots it on request."""
    pid = read_pid(keeper_name(host))
    if pid and pid_alive(pid):
        return
    spawn(keeper_name(host), ["bash", str(HOSTFILES / "keeper.sh"), host.name, str(host.dir), host.netns,
                              str(HOSTFILES / "boot.sh")])


def init_pid(host: Host) -> int | None:
    """PID (in the machine's namespace) of the host's init: the process that is PID 1 in its namespace."""
    if host.netns not in netns_list():
        return None
    for pid in netns_pids(host.netns):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("NSpid:"):
                ids = line.split()[1:]
                if len(ids) > 1 and ids[-1] == "1":
                    return pid
    return None


def host_path(host: Host, path: str) -> Path | None:
    """A path inside the running host's own root (through /proc/PID/root), or None when it is down."""
    pid = init_pid(host)
    return Path(f"/proc/{pid}/root") / path.lstrip("/") if pid else None


def ready_boot_id(host: Host) -> str | None:
    p = host_path(host, "/run/lab-ready")
    try:
        return p.read_text().strip() if p else None
    except OSError:
        return None


def wait_ready(host: Host, timeout: float) -> None:
    """Until the host's init says ready and its sshd answers with an SSH banner."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready_boot_id(host) and wait_tcp(host.address, 22, 1, banner=b"SSH-"):
            return
        pid = read_pid(keeper_name(host))
        if not pid or not pid_alive(pid):
            break
        time.sleep(0.1)
    state = (host.dir / "state").read_text().strip() if (host.dir / "state").exists() else "unknown"
    raise LabError(f"lab host {host.name} did not become ready ({state}); see "
                   f"tests/lab/run/logs/{keeper_name(host)}.log and /var/log/lab-init.log inside the host "
                   f"(tests/lab/run/hosts/{host.name}/upper/var/log/lab-init.log)")


def first_boot_status(host: Host) -> str:
    p = host_path(host, "/var/lib/lab/provisioned")
    return p.read_text().strip() if p and p.exists() else "missing"


def exec_argv(host: Host, cmd: Sequence[str]) -> list[str]:
    """argv that runs `cmd` inside the running host (all its namespaces and its root), as its root."""
    pid = init_pid(host)
    if pid is None:
        raise LabError(f"lab host {host.name} is not running")
    return ["nsenter", "-t", str(pid), "-m", "-u", "-i", "-n", "-p", "-r", "-w",
            "env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
            "HOME=/root", *cmd]


def exec_in(host: Host, cmd: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(exec_argv(host, cmd), capture_output=True, text=True, timeout=timeout)


def stop_all(many: Sequence[Host]) -> None:
    """Stops many hosts at once (keepers first, then everything in their namespaces)."""
    keepers = [p for p in (read_pid(keeper_name(h)) for h in many) if p and is_lab_process(p)]
    kill_pids(keepers, group=True, grace=1.0)
    existing = set(netns_list())
    kill_pids([pid for h in many if h.netns in existing for pid in netns_pids(h.netns)], grace=1.0)


def stop(host: Host) -> None:
    """Stops the host at once: its keeper first (so it does not boot it again), then every process in
    its network namespace (the init's death ends its PID and mount namespaces, so the overlay goes)."""
    keeper = read_pid(keeper_name(host))
    if keeper and is_lab_process(keeper):
        kill_pids([keeper], group=True, grace=0.5)
    if host.netns in netns_list():
        kill_pids(netns_pids(host.netns), grace=0.5)
