"""Pre- and post-checks run around every batch: a command (over SSH on each host, or on the runner),
an HTTP request (expected status) and a TCP connect. Any failed check halts the rollout.

``url`` and ``host`` may name ``{host}`` (inventory name) or ``{address}`` (ansible_host) so that one
check declared on the item runs against each host of the batch.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from runner.adapters.ssh import SSHTarget, run_command
from runner.catalogue.model import Check
from runner.errors import AdapterError


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """The outcome of one pre- or post-check on one host."""

    name: str
    kind: str
    host: str  # inventory host, or "runner"
    ok: bool
    detail: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


TargetFor = Callable[[str], SSHTarget]


def check_name(check: Check) -> str:
    return check.name or {"command": check.command, "http": check.url, "tcp": f"{check.host}:{check.port}"}[
        check.kind
    ]


def _fill(text: str, host: str, target_for: TargetFor | None) -> str:
    address = target_for(host).address if target_for is not None and "{address}" in text else host
    return text.replace("{host}", host).replace("{address}", address)


def _command(check: Check, host: str, target_for: TargetFor | None) -> tuple[bool, str]:
    timeout = check.timeout.total_seconds()
    if host == "runner":
        try:
            done = subprocess.run(
                ["/bin/sh", "-c", check.command], capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return False, f"timed out after {timeout:g}s"
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        return done.returncode == 0, f"exit {done.returncode}" + (f": {tail}" if tail else "")
    if target_for is None:
        return False, "no SSH target known"
    try:
        result = run_command(target_for(host), check.command, timeout=timeout, check=False)
    except AdapterError as exc:
        return False, str(exc)
    return result.ok, f"exit {result.exited}" + (f": {result.tail(5)}" if result.tail(5) else "")


def _http(check: Check, host: str, target_for: TargetFor | None) -> tuple[bool, str]:
    import urllib.error  # urllib.request pulls in http.client, ssl and email: only for HTTP checks
    import urllib.request

    url = _fill(check.url, host, target_for)
    if not url.startswith(("http://", "https://")):
        return False, f"{url}: only http and https URLs are checked"
    try:
        with urllib.request.urlopen(url, timeout=check.timeout.total_seconds()) as resp:  # noqa: S310
            status = int(resp.status)
    except urllib.error.HTTPError as exc:
        status = int(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{url}: {getattr(exc, 'reason', exc)}"
    return status == check.expect_status, f"{url}: HTTP {status} (expected {check.expect_status})"


def _tcp(check: Check, host: str, target_for: TargetFor | None) -> tuple[bool, str]:
    where = _fill(check.host or "{address}", host, target_for)
    try:
        socket.create_connection((where, check.port), timeout=check.timeout.total_seconds()).close()
    except OSError as exc:
        return False, f"{where}:{check.port}: {exc}"
    return True, f"{where}:{check.port}: connected"


_RUNNERS = {"command": _command, "http": _http, "tcp": _tcp}


def run_checks(
    checks: Sequence[Check], hosts: Sequence[str], target_for: TargetFor | None = None
) -> list[CheckResult]:
    """Run every check (per host of the batch, or once on the runner); return every result."""
    results: list[CheckResult] = []
    for check in checks:
        where = ["runner"] if check.on == "runner" else list(hosts)
        for host in where:
            started = time.monotonic()
            ok, detail = _RUNNERS[check.kind](check, host, target_for)
            results.append(CheckResult(name=check_name(check), kind=check.kind, host=host, ok=ok,
                                       detail=detail[-1000:], seconds=round(time.monotonic() - started, 3)))
    return results
