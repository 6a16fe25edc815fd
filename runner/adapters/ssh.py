"""Single commands over SSH (Fabric), host keys checked against the estate's known_hosts.

Fabric trusts unknown host keys by default (paramiko's AutoAddPolicy); we replace its client with one
that knows only the estate's known_hosts file and rejects every other key.

How kinds use it::

    target = ssh_target(catalogue, "web1", known_hosts_path(root, catalogue.settings.ansible))
    result = run_command(target, "systemctl is-active nginx", timeout=10)   # AdapterError if it fails
    result.stdout, result.tail()
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.adapters.known_hosts import configured_known_hosts as configured_known_hosts
from runner.adapters.known_hosts import default_known_hosts as default_known_hosts
from runner.adapters.known_hosts import known_hosts_path as known_hosts_path
from runner.errors import AdapterError


@dataclass(frozen=True, kw_only=True)
class Result:
    """What one command did."""

    host: str
    command: str
    exited: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.exited == 0

    @property
    def failed(self) -> bool:
        return not self.ok

    def tail(self, lines: int = 10, stream: str = "") -> str:
        """The last ``lines`` lines of stdout and stderr (or of one ``stream``)."""
        text = {"stdout": self.stdout, "stderr": self.stderr}.get(stream) or "\n".join(
            s for s in (self.stdout.rstrip(), self.stderr.rstrip()) if s
        )
        return "\n".join(text.splitlines()[-lines:])


class CommandFailed(AdapterError):
    """A command ran and exited non-zero (or could not run); carries its Result."""

    def __init__(self, result: Result, why: str = "") -> None:
        detail = why or f"exited {result.exited}"
        tail = result.tail(5)
        super().__init__(f"{result.host}: `{result.command}` {detail}" + (f":\n{tail}" if tail else ""))
        self.result = result


@dataclass(frozen=True, kw_only=True)
class SSHTarget:
    """Where and how to reach one inventory host."""

    name: str
    address: str
    port: int = 22
    user: str = "root"
    key_file: str | None = None
    known_hosts: Path

    @classmethod
    def from_hostvars(cls, name: str, hostvars: Mapping[str, Any], known_hosts: Path | None = None) -> SSHTarget:
        """Build from (templated) inventory variables.

        known_hosts: the configured file (``MAINTCTL_KNOWN_HOSTS`` / ``settings.ansible.known_hosts``)
        wins; when none is configured (None, or the ``~/.ssh/known_hosts`` default) the file the
        inventory names for the host (``UserKnownHostsFile`` in its SSH args) is used.
        """
        from runner.adapters.inventory import known_hosts_from_vars

        if known_hosts is None or known_hosts == default_known_hosts():
            known_hosts = known_hosts_from_vars(hostvars) or known_hosts or default_known_hosts()
        key = hostvars.get("ansible_ssh_private_key_file") or hostvars.get("ansible_private_key_file")
        return cls(
            name=name,
            address=str(hostvars.get("ansible_host") or name),
            port=int(hostvars.get("ansible_port") or hostvars.get("ansible_ssh_port") or 22),
            user=str(hostvars.get("ansible_user") or hostvars.get("ansible_ssh_user") or "root"),
            key_file=str(key) if key else None,
            known_hosts=known_hosts,
        )


def ssh_target(catalogue: Any, host: str, known_hosts: Path) -> SSHTarget:
    """Build the target for inventory host ``host`` from the catalogue's inventory host vars."""
    hostvars = catalogue.inventory.hostvars.get(host, {}) if catalogue is not None else {}
    return SSHTarget.from_hostvars(host, hostvars, known_hosts)


def _client(target: SSHTarget) -> Any:
    import paramiko

    if not target.known_hosts.is_file():
        raise AdapterError(f"{target.name}: known_hosts file {target.known_hosts} does not exist")
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.load_host_keys(str(target.known_hosts))
    except (OSError, paramiko.SSHException) as exc:
        raise AdapterError(f"{target.known_hosts}: cannot read known_hosts: {exc}") from exc
    return client


def run_command(target: SSHTarget, command: str, *, timeout: float = 60, check: bool = True) -> Result:
    """Run ``command`` on ``target``; raise ``CommandFailed`` on a non-zero exit when ``check``.

    Connection problems (unknown or changed host key, refused, timeout, auth) raise ``AdapterError``.
    """
    import paramiko
    from fabric import Connection
    from invoke.exceptions import CommandTimedOut, UnexpectedExit

    # No key file: let paramiko look in ~/.ssh (Fabric rejects key_filename=None).
    keys: dict[str, object] = {"key_filename": target.key_file} if target.key_file else {"look_for_keys": True}
    conn = Connection(
        target.address, user=target.user, port=target.port, connect_timeout=timeout,
        connect_kwargs={**keys, "allow_agent": False},
    )
    conn.client = _client(target)
    started = time.monotonic()
    try:
        out = conn.run(command, hide=True, warn=True, timeout=timeout, in_stream=False)
        result = Result(host=target.name, command=command, exited=int(out.exited), stdout=out.stdout,
                        stderr=out.stderr)
        if result.exited == -1 and time.monotonic() - started >= timeout:
            # Invoke's timer closed the channel (no exit status: -1) but its thread had not yet ended when
            # the run returned, so Invoke did not call it a timeout: a race seen on a loaded machine.
            raise CommandFailed(result, f"timed out after {timeout:g}s")
    except CommandTimedOut as exc:
        r = exc.result
        result = Result(host=target.name, command=command, exited=-1, stdout=r.stdout, stderr=r.stderr)
        raise CommandFailed(result, f"timed out after {timeout:g}s") from exc
    except UnexpectedExit as exc:  # pragma: no cover - warn=True prevents it
        r = exc.result
        result = Result(host=target.name, command=command, exited=r.exited, stdout=r.stdout, stderr=r.stderr)
    except paramiko.BadHostKeyException as exc:
        raise AdapterError(
            f"{target.name} ({target.address}): host key does not match {target.known_hosts}: refusing"
        ) from exc
    except paramiko.SSHException as exc:
        raise AdapterError(f"{target.name} ({target.address}:{target.port}): SSH failed: {exc}") from exc
    except OSError as exc:
        raise AdapterError(f"{target.name} ({target.address}:{target.port}): cannot connect: {exc}") from exc
    finally:
        conn.close()
    if check and result.failed:
        raise CommandFailed(result)
    return result
