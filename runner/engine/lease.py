"""Leases while a run is in progress: an owner id that says which process holds it, and a keeper
thread that renews the lease every third of its time to live.

The owner id is ``host:pid:process-start-ticks:token``. A runner on the same machine can therefore
tell that the holder of a lease is dead (no such process, or a different process under that pid)
without waiting for the lease to expire; runners elsewhere rely on the expiry.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from runner.state.base import StateStore

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _start_ticks(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            # Field 22 (starttime) follows the parenthesised command name, which may contain spaces.
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def make_owner() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}:{secrets.token_hex(4)}"


def owner_is_dead(owner: str) -> bool:
    """True only when ``owner`` names a process on this machine that no longer runs."""
    parts = owner.split(":")
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _start_ticks(pid) != parts[2]


class LeaseKeeper:
    """Renews ``key`` for ``owner`` in the background; ``lost`` is set when a renewal fails."""

    def __init__(self, store: StateStore, key: str, owner: str, ttl: timedelta, clock: Clock = utcnow) -> None:
        self.store, self.key, self.owner, self.ttl, self.clock = store, key, owner, ttl, clock
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{key}", daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def _loop(self) -> None:
        interval = max(self.ttl.total_seconds() / 3, 0.05)
        while not self._stop.wait(interval):
            try:
                ok = self.store.renew(self.key, self.owner, self.ttl, self.clock())
            except Exception:  # noqa: BLE001, S112 - a storage hiccup: retry next round; expiry decides
                continue
            if not ok:
                self.lost.set()
                return

    def stop(self, release: bool = True) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if release and not self.lost.is_set():
            self.store.release(self.key, self.owner)
