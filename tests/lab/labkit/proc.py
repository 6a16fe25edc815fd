"""Process helpers: logged commands, detached daemons with PID files, and safe killing by PID."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .config import RUN_DIR

LOG_DIR = RUN_DIR / "logs"
PID_DIR = RUN_DIR / "pids"
MARKER = "MAINTCTL_LAB_RUN"


class LabError(Exception):
    """A lab step failed; the message says which and where its log is."""


def log(msg: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"lab {stamp} {msg}", file=sys.stderr, flush=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / "lab.log", "a") as fh:
        fh.write(f"{stamp} {msg}\n")


def run(cmd: Sequence[str], *, check: bool = True, input: str | None = None,
        env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120) -> str:
    """Runs a command, returns stdout; on failure raises LabError with its stderr."""
    proc = subprocess.run(list(cmd), input=input, capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise LabError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}")
    return proc.stdout


def quiet(cmd: Sequence[str]) -> bool:
    """Runs a command whose failure is expected at times (cleanup); returns success."""
    return subprocess.run(list(cmd), capture_output=True).returncode == 0


def daemon_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           MARKER: str(RUN_DIR)}
    env.update(extra or {})
    return env


def spawn(name: str, cmd: Sequence[str], *, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> int:
    """Starts a detached daemon in its own session, logging to logs/NAME.log; records its PID."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    PID_DIR.mkdir(parents=True, exist_ok=True)
    logf = open(LOG_DIR / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                            env=daemon_env(env), cwd=cwd, start_new_session=True)
    logf.close()
    (PID_DIR / f"{name}.pid").write_text(f"{proc.pid}\n")
    return proc.pid


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0): treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def is_lab_process(pid: int) -> bool:
    """True if the process carries this lab's marker in its environment (guards against PID reuse)."""
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"{MARKER}={RUN_DIR}".encode() in env


def lab_processes() -> list[int]:
    """Every process on the machine started by this lab (found by the environment marker)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid() and is_lab_process(int(entry)):
            out.append(int(entry))
    return out


def kill_pids(pids: Sequence[int], *, group: bool = False, grace: float = 3.0) -> None:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL whatever is left."""
    def send(sig: int) -> None:
        for pid in pids:
            try:
                if group:
                    os.killpg(pid, sig)
                else:
                    os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    send(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.05)
    send(signal.SIGKILL)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.05)


def read_pid(name: str) -> int | None:
    try:
        return int((PID_DIR / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def wait_tcp(host: str, port: int, timeout: float, *, banner: bytes | None = None) -> bool:
    """Waits until host:port accepts a connection (and sends `banner` first, if given)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1) as sock:
                if banner is None:
                    return True
                sock.settimeout(2)
                if sock.recv(64).startswith(banner):
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False
