#!/usr/bin/python3
"""PID 1 of a lab host (inside the host's own PID namespace).

Boots the host's services with their Debian init scripts, runs the one-time first-boot script, reaps
orphans, and stops everything in this host only on SIGHUP (reboot now), SIGTERM/SIGINT/SIGPWR (power off
now) or SIGUSR1 with a request in /run/lab-power-request ("reboot 1" = reboot in 1 s), which is how
lab-reboot/lab-poweroff ask: they return at once and leave no process behind that a closing SSH session
could kill. Exit status 10 asks the machine-side keeper to boot the host again; 0 leaves it down.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

LOG = Path("/var/log/lab-init.log")
PROVISIONED = Path("/var/lib/lab/provisioned")
REQUEST = Path("/run/lab-power-request")
REBOOT, POWEROFF = 10, 0
requested: list[int] = []
scheduled: list[tuple[int, float]] = []


def log(msg: str) -> None:
    with LOG.open("a") as fh:
        fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {msg}\n")


def on_signal(signum: int, _frame: Any) -> None:
    if signum == signal.SIGUSR1:
        try:
            action, delay = REQUEST.read_text().split()[:2]
            if action == "cancel":
                scheduled.clear()
                return
            scheduled.append((REBOOT if action == "reboot" else POWEROFF, time.monotonic() + float(delay)))
        except (OSError, ValueError):
            scheduled.append((REBOOT, time.monotonic()))
        return
    requested.append(REBOOT if signum == signal.SIGHUP else POWEROFF)


def sh(cmd: list[str], timeout: float) -> int:
    """Runs cmd while reaping every other child: as PID 1 we inherit daemons, and init scripts that
    wait for a daemon to exit would otherwise wait for a zombie nobody reaps."""
    with LOG.open("a") as out:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        except OSError as exc:
            out.write(f"{cmd}: {exc}\n")
            return 1
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 1
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode
        if pid == 0:
            if time.monotonic() > deadline:
                log(f"{cmd} timed out after {timeout}s")
                proc.kill()
                deadline = time.monotonic() + 5
            time.sleep(0.02)


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def services() -> list[str]:
    info = json.loads(Path("/etc/lab/host.json").read_text())
    return list(info["services"])


def boot() -> None:
    boot_id = Path("/run/lab-boot-id").read_text().strip()
    log(f"boot {boot_id}")
    for svc in services():
        rc = sh([f"/etc/init.d/{svc}", "start"], timeout=120)
        log(f"start {svc}: {rc}")
    if not PROVISIONED.exists():
        rc = sh(["/usr/local/sbin/lab-firstboot"], timeout=300)
        log(f"first boot: {rc}")
        PROVISIONED.parent.mkdir(parents=True, exist_ok=True)
        PROVISIONED.write_text(f"{rc}\n")
    Path("/run/lab-ready").write_text(boot_id + "\n")
    log("ready")


def stop(action: int) -> int:
    log("reboot" if action == REBOOT else "power off")
    Path("/run/lab-ready").unlink(missing_ok=True)
    for svc in reversed(services()):
        rc = sh([f"/etc/init.d/{svc}", "stop"], timeout=20)
        log(f"stop {svc}: {rc}")
    # From PID 1 of a PID namespace, kill(-1) reaches every process of this host and nothing else.
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 2.0)):
        try:
            os.kill(-1, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            reap()
            try:
                os.kill(-1, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
    log("stopped")
    return action


def name_process() -> None:
    """Calls PID 1 `init` (in /proc/1/comm), so Ansible's service_mgr fact finds sysvinit, not python3."""
    import ctypes
    try:
        ctypes.CDLL(None).prctl(15, b"init", 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def main() -> int:
    name_process()
    for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGTERM, signal.SIGINT, signal.SIGPWR):
        signal.signal(sig, on_signal)
    os.chdir("/")
    boot()
    while not requested:
        reap()
        if scheduled and time.monotonic() >= scheduled[0][1]:
            requested.append(scheduled[0][0])
            break
        time.sleep(0.1)
    return stop(requested[0])


if __name__ == "__main__":
    raise SystemExit(main())
