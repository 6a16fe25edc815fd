"""PostgreSQL backups: ``pg_dump -Fc`` streamed into restic, restored into a scratch database.

The scratch database is always dropped afterwards, also when the restore or a check failed.
"""

from __future__ import annotations

import re
import secrets as _secrets
import shlex
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from runner.errors import AdapterError
from runner.kinds.backup.restic import BackupSummary, Restic
from runner.kinds.backup.shell import CommandFailed, Shell


@dataclass(frozen=True, kw_only=True)
class PgTarget:
    """How to reach one database from the host it lives on.

    ``run_as`` runs the client tools as that OS user (peer authentication on a local socket);
    ``password`` travels as the secret PGPASSWORD, never on a command line.
    """

    database: str
    host: str | None = None
    port: int | None = None
    user: str | None = None
    run_as: str | None = None
    password: str | None = None
    bin_dir: str = ""

    def tool(self, name: str, *args: str, database: str | None = None) -> str:
        argv = [f"{self.bin_dir.rstrip('/')}/{name}" if self.bin_dir else name]
        if self.host:
            argv.append(f"--host={self.host}")
        if self.port:
            argv.append(f"--port={self.port}")
        if self.user:
            argv.append(f"--username={self.user}")
        argv += ["--no-password", *args]
        if database is not None:
            argv.append(database)
        cmd = " ".join(shlex.quote(a) for a in argv)
        if self.run_as:
            # runuser keeps the environment (PGPASSWORD) and needs no password as root
            cmd = f"runuser -u {shlex.quote(self.run_as)} -- {cmd}"
        return cmd

    def secrets(self) -> dict[str, str]:
        return {"PGPASSWORD": self.password} if self.password else {}

    @property
    def dump_filename(self) -> str:
        return f"{self.database}.dump"


@dataclass(frozen=True, kw_only=True)
class SqlCheck:
    """A query on the restored database and what it must return (first row, first column)."""

    name: str
    query: str
    expect: str | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True, kw_only=True)
class SqlOutcome:
    name: str
    ok: bool
    got: str
    expected: str


def backup_database(
    restic: Restic, target: PgTarget, *, tags: Sequence[str] = (), host: str | None = None
) -> BackupSummary:
    """Stream a custom-format dump into a restic snapshot holding one file, ``<db>.dump``."""
    dump = target.tool("pg_dump", "--format=custom", database=target.database)
    return restic.backup_stdin(
        dump, target.dump_filename, tags=tags, host=host, secrets=target.secrets(), label="pg_dump"
    )


def scratch_name(database: str) -> str:
    safe = re.sub(r"[^a-z0-9_]", "_", database.lower())[:30]
    return f"maintctl_verify_{safe}_{_secrets.token_hex(4)}"


@contextmanager
def scratch_database(shell: Shell, target: PgTarget, name: str | None = None) -> Iterator[str]:
    """Create an empty scratch database and drop it on the way out, whatever happened."""
    name = name or scratch_name(target.database)
    res = shell.run(target.tool("createdb", database=name), secrets=target.secrets())
    if not res.ok:
        raise CommandFailed(f"createdb {name}", res)
    try:
        yield name
    finally:
        drop = shell.run(target.tool("dropdb", "--if-exists", "--force", database=name), secrets=target.secrets())
        if not drop.ok:
            raise CommandFailed(f"dropdb {name} (scratch database left behind)", drop)


def restore_into(restic: Restic, snapshot: str, target: PgTarget, scratch: str) -> None:
    """Stream the dump out of restic into pg_restore on the database's host."""
    restore = target.tool("pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={scratch}")
    restic.dump_into(snapshot, "/" + target.dump_filename, restore, secrets=target.secrets(), label="pg_restore")


def query(shell: Shell, target: PgTarget, database: str, sql: str) -> str:
    cmd = target.tool("psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql, database=database)
    res = shell.run(cmd, secrets=target.secrets())
    if not res.ok:
        raise CommandFailed(f"SQL {sql!r}", res)
    return res.stdout.strip().splitlines()[0] if res.stdout.strip() else ""


def run_checks(shell: Shell, target: PgTarget, database: str, checks: Sequence[SqlCheck]) -> list[SqlOutcome]:
    """Run every check (a failing one does not stop the others) and say what each returned."""
    out = []
    for c in checks:
        try:
            got = query(shell, target, database, c.query)
        except AdapterError as exc:
            out.append(SqlOutcome(name=c.name, ok=False, got=f"error: {exc}", expected=_expected(c)))
            continue
        out.append(SqlOutcome(name=c.name, ok=_matches(c, got), got=got, expected=_expected(c)))
    return out


def _matches(c: SqlCheck, got: str) -> bool:
    if c.expect is not None and got != c.expect:
        return False
    if c.min is not None or c.max is not None:
        try:
            value = float(got)
        except ValueError:
            return False
        if c.min is not None and value < c.min:
            return False
        if c.max is not None and value > c.max:
            return False
    return True


def _expected(c: SqlCheck) -> str:
    parts = []
    if c.expect is not None:
        parts.append(f"= {c.expect!r}")
    if c.min is not None:
        parts.append(f">= {c.min:g}")
    if c.max is not None:
        parts.append(f"<= {c.max:g}")
    return " and ".join(parts) or "any value"
