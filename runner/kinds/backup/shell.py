"""Where backup commands run: a small port with a local and an SSH implementation.

Every backup tool (restic, pg_dump, sha256 manifests) runs as a bash script on the host that holds
the data. Secrets (repository password, cloud keys, database password) never appear in a command
line: they are written as the first lines of the script's stdin and read into exported variables by
a preamble, so neither ``ps`` on the host nor the evidence ever sees them.
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from runner.errors import AdapterError
from runner.redact import redact_text


@dataclass(frozen=True, kw_only=True)
class CommandResult:
    """What one script did on one host. ``command`` is the redacted script (without secrets)."""

    host: str
    command: str
    rc: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def tail(self, lines: int = 10) -> str:
        """The last lines of stderr (or stdout when stderr is empty), redacted, for messages."""
        text = self.stderr.strip() or self.stdout.strip()
        return redact_text("\n".join(text.splitlines()[-lines:]))


class CommandFailed(AdapterError):
    """A command on a host exited non-zero; carries its result."""

    def __init__(self, what: str, result: CommandResult) -> None:
        self.result = result
        super().__init__(f"{result.host}: {what} failed (exit {result.rc}): {result.tail(5)}")


class Shell(Protocol):
    """Runs a bash script on one host. Implementations must not log ``secrets``."""

    host: str

    def run(
        self,
        script: str,
        *,
        secrets: Mapping[str, str] | None = None,
        stdin: bytes = b"",
        timeout: float | None = None,
    ) -> CommandResult:
        """Run ``script``; ``secrets`` become exported variables; never raises on a non-zero exit."""
        ...


def compose(script: str, secrets: Mapping[str, str] | None, stdin: bytes) -> tuple[str, bytes]:
    """Return (full script, full stdin): a preamble reads each secret from one stdin line."""
    names = sorted(secrets or {})
    lines = []
    for name in names:
        value = (secrets or {})[name]
        if not name.isidentifier() or "\n" in value:
            raise AdapterError(f"secret {name!r} cannot be passed (bad name or a newline in its value)")
        lines.append(value.encode() + b"\n")
    preamble = "".join(f"IFS= read -r {n} && export {n}\n" for n in names)
    return "set -o pipefail\n" + preamble + script, b"".join(lines) + stdin


@dataclass
class LocalShell:
    """Runs scripts on this machine (unit tests, the runner host itself)."""

    host: str = "localhost"
    env: Mapping[str, str] = field(default_factory=dict)

    def run(
        self,
        script: str,
        *,
        secrets: Mapping[str, str] | None = None,
        stdin: bytes = b"",
        timeout: float | None = None,
    ) -> CommandResult:
        full, data = compose(script, secrets, stdin)
        started = time.monotonic()
        try:
            proc = subprocess.run(
                ["bash", "-c", full],
                input=data,
                capture_output=True,
                timeout=timeout,
                env={**os.environ, **self.env},
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise AdapterError(f"{self.host}: command timed out after {timeout}s: {redact_text(script)}") from exc
        return CommandResult(
            host=self.host,
            command=redact_text(script),
            rc=proc.returncode,
            stdout=proc.stdout.decode(errors="replace"),
            stderr=proc.stderr.decode(errors="replace"),
            duration=time.monotonic() - started,
        )


@dataclass
class SshShell:
    """Runs scripts on a host over SSH (Fabric), host keys checked against a known_hosts file."""

    host: str
    address: str
    known_hosts: str
    user: str = "root"
    key_file: str | None = None
    port: int = 22

    @classmethod
    def from_target(cls, target: Any) -> SshShell:
        """The shell for the engine's ``runner.adapters.ssh.SSHTarget``."""
        return cls(
            host=target.name, address=target.address, known_hosts=str(target.known_hosts), user=target.user,
            key_file=target.key_file, port=target.port,
        )  # fmt: skip

    def run(
        self,
        script: str,
        *,
        secrets: Mapping[str, str] | None = None,
        stdin: bytes = b"",
        timeout: float | None = None,
    ) -> CommandResult:
        full, data = compose(script, secrets, stdin)
        started = time.monotonic()
        conn = self._connect()
        try:
            res = conn.run(
                "bash -c " + shlex.quote(full),
                in_stream=io.StringIO(data.decode()),
                hide=True,
                warn=True,
                timeout=timeout,
                echo_stdin=False,
            )
        except Exception as exc:  # noqa: BLE001 - paramiko/invoke raise many types; translate them all
            raise AdapterError(f"{self.host}: SSH command failed: {redact_text(str(exc))}") from exc
        finally:
            conn.close()
        return CommandResult(
            host=self.host,
            command=redact_text(script),
            rc=int(res.exited),
            stdout=str(res.stdout),
            stderr=str(res.stderr),
            duration=time.monotonic() - started,
        )

    def _connect(self) -> Any:
        import paramiko
        from fabric import Config, Connection

        cfg = Config(overrides={"load_ssh_configs": False})
        kwargs: dict[str, object] = {"look_for_keys": self.key_file is None, "allow_agent": False}
        if self.key_file:
            kwargs["key_filename"] = self.key_file
        conn = Connection(self.address, user=self.user, port=self.port, config=cfg, connect_kwargs=kwargs)
        conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        conn.client.load_host_keys(str(Path(self.known_hosts)))
        return conn
