"""Single commands on a target host, for the certificate steps that must happen *on* the host
(key and CSR generation, HTTP-01 token files, reading certificate files).

``Shell`` is the small port; ``LocalShell`` runs on this machine (hosts whose connection is local,
and tests); the SSH implementation runs over the engine's SSH adapter (host keys checked).
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from runner.errors import AdapterError


@dataclass(frozen=True, kw_only=True)
class CommandResult:
    host: str
    command: str
    rc: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def tail(self, chars: int = 400) -> str:
        from runner.redact import redact_text

        text = (self.stderr or self.stdout).decode("utf-8", "replace").strip()
        return redact_text(text[-chars:])


class CommandFailed(AdapterError):
    def __init__(self, result: CommandResult, what: str) -> None:
        self.result = result
        super().__init__(f"{result.host}: {what} failed (exit {result.rc}): {result.tail()}")


class Shell(Protocol):
    def run(self, host: str, command: str, *, stdin: bytes | None = None, timeout: float = 60) -> CommandResult:
        """Run ``command`` with /bin/sh on ``host``; never raises for a non-zero exit."""
        ...


def check(result: CommandResult, what: str) -> CommandResult:
    if not result.ok:
        raise CommandFailed(result, what)
    return result


class LocalShell:
    """Runs commands on this machine (connection: local)."""

    def run(self, host: str, command: str, *, stdin: bytes | None = None, timeout: float = 60) -> CommandResult:
        try:
            proc = subprocess.run(  # noqa: S602 - commands are built with shlex.quote by this package
                command, shell=True, input=stdin or b"", capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise AdapterError(f"{host}: command timed out after {timeout:g}s") from exc
        return CommandResult(host=host, command=command, rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)


class SshShell:
    """Runs commands over SSH (the engine's adapter, host keys checked), reaching each host with its
    connection variables as Ansible resolves them from the inventory sources (group vars, templates).

    ``hostvars`` overrides the inventory for hosts listed in it (the engine's resolved cloud hosts).
    """

    def __init__(self, inventory: Sequence[Path], known_hosts: Path | None,
                 hostvars: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.inventory = list(inventory)
        self.known_hosts = known_hosts
        self.hostvars = dict(hostvars or {})

    def vars_for(self, host: str) -> dict[str, Any]:
        from runner.adapters.inventory import connection_vars

        given = self.hostvars.get(host)
        return dict(given) if given is not None else connection_vars(self.inventory, host)

    def run(self, host: str, command: str, *, stdin: bytes | None = None, timeout: float = 60) -> CommandResult:
        from runner.adapters import ssh

        if stdin:
            raise AdapterError(f"{host}: the SSH adapter runs commands without input")
        target = ssh.SSHTarget.from_hostvars(host, self.vars_for(host), self.known_hosts)
        res = ssh.run_command(target, command, timeout=timeout, check=False)
        return CommandResult(host=host, command=command, rc=res.exited, stdout=res.stdout.encode(),
                             stderr=res.stderr.encode())


def shell_for(host: str, ssh: SshShell) -> Shell:
    """LocalShell for hosts whose Ansible connection is local, else SSH."""
    if ssh.vars_for(host).get("ansible_connection") == "local":
        return LocalShell()
    return ssh


def run_shell(ctx: Any) -> SshShell:
    """The SSH shell of an engine run (its inventory sources, known_hosts and resolved hosts)."""
    from runner.engine import tools

    return SshShell(tools.inventory_sources(ctx), tools.known_hosts(ctx), ctx.options.get("hostvars"))


def q(value: str) -> str:
    return shlex.quote(value)
