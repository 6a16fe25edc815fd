"""A thin typed wrapper over the restic binary, run through a :class:`Shell` on the data's host.

Only restic's own machine-readable output is trusted (``--json``); the repository password and
cloud keys travel as secrets (see :mod:`runner.kinds.backup.shell`), never on a command line.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runner.errors import AdapterError
from runner.kinds.backup.shell import CommandFailed, CommandResult, Shell
from runner.redact import register

_PACK_RE = re.compile(r"(?:want|pack|data/[0-9a-f]{2}/)\s*<?([0-9a-f]{64})")
_ERROR_LINE = re.compile(r"(error|does not match|failed|fatal|damaged|invalid)", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class Repository:
    """Where restic keeps data and how to open it.

    ``password`` is the value itself (read by maintctl from a file or an environment variable);
    ``password_file`` is a path on the host where restic runs. ``env`` holds non-secret settings
    (AWS_ENDPOINT_URL, AWS_DEFAULT_REGION...), ``secret_env`` credentials such as AWS keys.
    """

    url: str
    password: str | None = None
    password_file: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: Mapping[str, str] = field(default_factory=dict)

    def secrets(self) -> dict[str, str]:
        out = dict(self.secret_env)
        if self.password is not None:
            out["RESTIC_PASSWORD"] = self.password
        register(out.values())
        return out

    def prefix(self) -> str:
        env = {"RESTIC_REPOSITORY": self.url, **self.env}
        if self.password_file:
            env["RESTIC_PASSWORD_FILE"] = self.password_file
        return " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()))


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    id: str
    short_id: str
    time: datetime
    paths: tuple[str, ...]
    hostname: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class BackupSummary:
    snapshot_id: str
    files_new: int
    files_changed: int
    files_unmodified: int
    data_added: int
    total_files_processed: int
    total_bytes_processed: int
    total_duration: float


@dataclass(frozen=True, kw_only=True)
class CheckReport:
    ok: bool
    read_data_subset: str | None
    damaged_packs: tuple[str, ...]
    errors: tuple[str, ...]


def parse_time(value: str) -> datetime:
    """restic prints nanoseconds; Python keeps microseconds."""
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", value)
    if not m:
        raise AdapterError(f"restic printed an unreadable time: {value!r}")
    frac = (m.group(2) or ".0")[:7]
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.fromisoformat(m.group(1) + frac + tz)


def parse_snapshots(text: str) -> list[Snapshot]:
    try:
        raw = json.loads(text or "[]") or []
    except json.JSONDecodeError as exc:
        raise AdapterError(f"restic snapshots printed invalid JSON: {exc}") from exc
    snaps = [
        Snapshot(
            id=s["id"],
            short_id=s.get("short_id", s["id"][:8]),
            time=parse_time(s["time"]),
            paths=tuple(s.get("paths") or ()),
            hostname=s.get("hostname", ""),
            tags=tuple(s.get("tags") or ()),
        )
        for s in raw
    ]
    return sorted(snaps, key=lambda s: s.time)


def parse_backup(text: str) -> BackupSummary:
    """Pick the summary message out of ``restic backup --json`` output."""
    for line in reversed(text.splitlines()):
        if not line.startswith("{"):
            continue
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("message_type") == "summary":
            return BackupSummary(
                snapshot_id=msg["snapshot_id"],
                files_new=int(msg.get("files_new", 0)),
                files_changed=int(msg.get("files_changed", 0)),
                files_unmodified=int(msg.get("files_unmodified", 0)),
                data_added=int(msg.get("data_added", 0)),
                total_files_processed=int(msg.get("total_files_processed", 0)),
                total_bytes_processed=int(msg.get("total_bytes_processed", 0)),
                total_duration=float(msg.get("total_duration", 0.0)),
            )
    raise AdapterError("restic backup finished without a summary (no snapshot was saved)")


def parse_check(rc: int, output: str, subset: str | None) -> CheckReport:
    """Name every damaged pack and error line restic check reported."""
    packs = tuple(dict.fromkeys(_PACK_RE.findall(output)))
    errors = tuple(line.strip() for line in output.splitlines() if _ERROR_LINE.search(line) and "%" not in line)
    return CheckReport(ok=rc == 0, read_data_subset=subset, damaged_packs=packs, errors=errors)


@dataclass
class Restic:
    """restic commands against one repository, run on one host."""

    shell: Shell
    repo: Repository
    binary: str = "restic"
    timeout: float | None = None

    def _run(
        self,
        args: Sequence[str],
        *,
        what: str,
        pipe_in: str = "",
        check: bool = True,
        extra_secrets: Mapping[str, str] | None = None,
    ) -> CommandResult:
        cmd = f"{self.repo.prefix()} {self.binary} {' '.join(shlex.quote(a) for a in args)}"
        if pipe_in:
            cmd = f"{pipe_in} | {cmd}"
        res = self.shell.run(cmd, secrets=self._secrets(extra_secrets), timeout=self.timeout)
        if check and not res.ok:
            raise CommandFailed(what, res)
        return res

    def _secrets(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        register((extra or {}).values())
        return {**self.repo.secrets(), **(extra or {})}

    def is_initialised(self) -> bool:
        return self._run(["cat", "config", "--no-lock"], what="restic cat config", check=False).ok

    def init(self) -> None:
        """Create the repository unless it exists already."""
        if not self.is_initialised():
            self._run(["init"], what="restic init")

    def backup(
        self,
        paths: Sequence[str],
        *,
        tags: Sequence[str] = (),
        host: str | None = None,
        exclude: Sequence[str] = (),
    ) -> BackupSummary:
        args = ["backup", "--json", *(f"--tag={t}" for t in tags), *(f"--exclude={x}" for x in exclude)]
        if host:
            args.append(f"--host={host}")
        res = self._run([*args, "--", *paths], what="restic backup")
        return parse_backup(res.stdout)

    def backup_stdin(
        self,
        producer: str,
        filename: str,
        *,
        tags: Sequence[str] = (),
        host: str | None = None,
        secrets: Mapping[str, str] | None = None,
        label: str = "producer",
    ) -> BackupSummary:
        """Stream ``producer``'s stdout into a snapshot; a failing producer fails the backup.

        restic saves whatever arrived before the producer died, so that snapshot is forgotten.
        """
        args = ["backup", "--json", "--stdin", f"--stdin-filename={filename}", *(f"--tag={t}" for t in tags)]
        if host:
            args.append(f"--host={host}")
        res = self._run(args, what="restic backup --stdin", pipe_in=producer, check=False, extra_secrets=secrets)
        if res.ok:
            return parse_backup(res.stdout)
        try:
            partial = parse_backup(res.stdout)
            self._run(["forget", partial.snapshot_id], what="restic forget (partial snapshot)", check=False)
        except AdapterError:
            pass
        raise CommandFailed(f"{label} | restic backup --stdin", res)

    def backup_bytes(
        self, data: bytes, filename: str, *, tags: Sequence[str] = (), host: str | None = None
    ) -> BackupSummary:
        """Store ``data`` (a manifest, ...) as a one-file snapshot, fed through stdin."""
        args = ["backup", "--json", "--stdin", f"--stdin-filename={filename}", *(f"--tag={t}" for t in tags)]
        if host:
            args.append(f"--host={host}")
        cmd = f"{self.repo.prefix()} {self.binary} {' '.join(shlex.quote(a) for a in args)}"
        res = self.shell.run(cmd, secrets=self._secrets(None), stdin=data, timeout=self.timeout)
        if not res.ok:
            raise CommandFailed("restic backup --stdin", res)
        return parse_backup(res.stdout)

    def dump(self, snapshot: str, filename: str) -> str:
        """One file of a snapshot, as text."""
        return self._run(["dump", "--no-lock", snapshot, filename], what="restic dump").stdout

    def snapshots(self, *, tags: Sequence[str] = (), host: str | None = None) -> list[Snapshot]:
        args = ["snapshots", "--json", "--no-lock", *(f"--tag={t}" for t in tags)]
        if host:
            args.append(f"--host={host}")
        return parse_snapshots(self._run(args, what="restic snapshots").stdout)

    def forget(
        self, keep: Mapping[str, int], *, tags: Sequence[str] = (), prune: bool = True, within: str | None = None
    ) -> dict[str, Any]:
        """Apply retention (keep-daily/weekly/monthly/last...). Call only after a successful backup."""
        args = ["forget", "--json", *(f"--keep-{k}={int(v)}" for k, v in sorted(keep.items()) if v)]
        if within:
            args.append(f"--keep-within={within}")
        if len(args) == 2:
            raise AdapterError("retention keeps nothing: refusing to forget every snapshot")
        args += [f"--tag={t}" for t in tags]
        if prune:
            args.append("--prune")
        res = self._run(args, what="restic forget")
        removed = kept = 0
        for line in res.stdout.splitlines():
            if line.startswith("[{"):
                for group in json.loads(line):
                    removed += len(group.get("remove") or [])
                    kept += len(group.get("keep") or [])
        return {"kept": kept, "removed": removed, "pruned": prune}

    def restore(self, snapshot: str, target: str, *, include: Sequence[str] = ()) -> CommandResult:
        args = ["restore", snapshot, f"--target={target}", *(f"--include={i}" for i in include)]
        return self._run(args, what="restic restore")

    def dump_into(
        self,
        snapshot: str,
        filename: str,
        consumer: str,
        *,
        secrets: Mapping[str, str] | None = None,
        label: str = "consumer",
    ) -> CommandResult:
        """Stream one file of a snapshot into ``consumer`` (for example pg_restore)."""
        cmd = f"{self.repo.prefix()} {self.binary} dump {shlex.quote(snapshot)} {shlex.quote(filename)}"
        res = self.shell.run(f"{cmd} | {consumer}", secrets=self._secrets(secrets), timeout=self.timeout)
        if not res.ok:
            raise CommandFailed(f"restic dump | {label}", res)
        return res

    def check(self, *, read_data_subset: str | None = None, read_data: bool = False) -> CheckReport:
        args = ["check"]
        if read_data_subset:
            args.append(f"--read-data-subset={read_data_subset}")
        elif read_data:
            args.append("--read-data")
        res = self._run(args, what="restic check", check=False)
        return parse_check(res.rc, res.stdout + "\n" + res.stderr, read_data_subset or ("all" if read_data else None))

    def stats(self, mode: str = "restore-size") -> dict[str, Any]:
        res = self._run(["stats", "--json", "--no-lock", f"--mode={mode}"], what="restic stats")
        out: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
        return out
