"""Restore tests: restore a recovery point into a scratch target, validate it, measure, clean up.

A restore test never leaves its scratch target behind: directories are removed and scratch
databases dropped in ``finally`` blocks, and the report says whether clean-up succeeded.
"""

from __future__ import annotations

import random
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runner.errors import MaintctlError
from runner.kinds.backup import manifest as mf
from runner.kinds.backup import postgres as pg
from runner.kinds.backup.restic import Restic, Snapshot
from runner.kinds.backup.shell import CommandFailed, Shell

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(kw_only=True)
class RestoreReport:
    """What one restore test did; ``differences`` names every failed validation."""

    kind: str
    host: str
    snapshot_id: str = ""
    snapshot_time: str = ""
    point: str = "latest"
    scratch: str = ""
    rto_seconds: float | None = None
    rpo_seconds: float | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    cleaned: bool = False
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and not self.differences and self.cleaned

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}


def choose_point(snaps: Sequence[Snapshot], point: str, rng: random.Random | None = None) -> Snapshot:
    """``latest`` or ``random`` (uniform over the snapshots given)."""
    if not snaps:
        raise MaintctlError("no recovery point to restore: the repository holds no matching snapshot")
    if point == "random":
        return (rng or random.Random()).choice(list(snaps))  # noqa: S311 - sampling, not crypto
    return max(snaps, key=lambda s: s.time)


def _custom_command(shell: Shell, command: str, env: Mapping[str, str], report: RestoreReport) -> None:
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    res = shell.run(exports + command)
    report.checks.append({"name": "command", "command": command, "ok": res.ok, "rc": res.rc})
    if not res.ok:
        report.differences.append(f"custom command failed (exit {res.rc}): {command}: {res.tail(3)}")


def restore_files(
    restic: Restic,
    snapshot: Snapshot,
    manifest: mf.Manifest | None,
    *,
    command: str = "",
    scratch_base: str = "/var/tmp",
    clock: Clock = utcnow,
    point: str = "latest",
    include: Sequence[str] = (),
) -> RestoreReport:
    """Restore ``snapshot`` on ``restic.shell``'s host into a fresh directory and validate it.

    With ``include``, only those paths are restored and compared.
    """
    shell = restic.shell
    report = RestoreReport(kind="files", host=shell.host, snapshot_id=snapshot.id, point=point)
    report.snapshot_time = snapshot.time.isoformat()
    base = scratch_base.rstrip("/") or "/"
    made = shell.run(
        f"mkdir -p -m 0700 {shlex.quote(base)} && mktemp -d {shlex.quote(base + '/maintctl-restore-XXXXXXXX')}"
    )
    if not made.ok:
        report.error = f"cannot create a scratch directory: {made.tail(2)}"
        return report
    scratch = report.scratch = made.stdout.strip()
    try:
        started, t0 = clock(), time.monotonic()
        restic.restore(snapshot.id, scratch, include=include)
        report.rto_seconds = round(time.monotonic() - t0, 3)
        report.rpo_seconds = round((started - snapshot.time).total_seconds(), 3)
        if manifest is None:
            report.differences.append(f"no manifest was recorded for snapshot {snapshot.short_id}")
        else:
            tops = list(include) or list(snapshot.paths)
            got = mf.take(shell, tops, under=scratch)
            diff = mf.compare(_within(manifest, include), got)
            report.checks.append({"name": "manifest", "ok": diff.ok, "files": diff.compared})
            report.differences += diff.describe()
        if command:
            _custom_command(shell, command, {"MAINTCTL_RESTORE_DIR": scratch}, report)
    except MaintctlError as exc:
        report.error = str(exc)
    finally:
        rm = shell.run(f"rm -rf -- {shlex.quote(scratch)}")
        report.cleaned = rm.ok
        if not rm.ok:
            report.differences.append(f"scratch directory {scratch} left behind: {rm.tail(2)}")
    return report


def _within(manifest: mf.Manifest, include: Sequence[str]) -> mf.Manifest:
    if not include:
        return manifest
    roots = [i.rstrip("/") for i in include]
    return {k: v for k, v in manifest.items() if any(k == r or k.startswith(r + "/") for r in roots)}


def restore_database(
    restic: Restic,
    snapshot: Snapshot,
    target: pg.PgTarget,
    checks: Sequence[pg.SqlCheck],
    *,
    command: str = "",
    clock: Clock = utcnow,
    point: str = "latest",
) -> RestoreReport:
    """Restore a database dump into a scratch database on ``restic.shell``'s host and run the checks."""
    shell = restic.shell
    report = RestoreReport(kind="postgres", host=shell.host, snapshot_id=snapshot.id, point=point)
    report.snapshot_time = snapshot.time.isoformat()
    report.scratch = pg.scratch_name(target.database)
    try:
        with pg.scratch_database(shell, target, report.scratch) as scratch:
            started, t0 = clock(), time.monotonic()
            pg.restore_into(restic, snapshot.id, target, scratch)
            report.rto_seconds = round(time.monotonic() - t0, 3)
            report.rpo_seconds = round((started - snapshot.time).total_seconds(), 3)
            for o in pg.run_checks(shell, target, scratch, checks):
                report.checks.append({"name": o.name, "ok": o.ok, "got": o.got, "expected": o.expected})
                if not o.ok:
                    report.differences.append(f"SQL check {o.name!r} returned {o.got!r}, expected {o.expected}")
            if command:
                _custom_command(shell, command, {"MAINTCTL_SCRATCH_DB": scratch}, report)
        report.cleaned = True
    except CommandFailed as exc:
        report.error = str(exc)
        report.cleaned = "scratch database left behind" not in str(exc) and _gone(shell, target, report.scratch)
    except MaintctlError as exc:
        report.error = str(exc)
        report.cleaned = _gone(shell, target, report.scratch)
    return report


def _gone(shell: Shell, target: pg.PgTarget, name: str) -> bool:
    try:
        # scratch names are made by pg.scratch_name: [a-z0-9_] only
        sql = f"select count(*) from pg_database where datname = '{name}'"  # noqa: S608
        found = pg.query(shell, target, "postgres", sql)
    except MaintctlError:
        return False
    return found == "0"


def repository_check(restic: Restic, subset: str | None) -> RestoreReport:
    """``restic check`` reading ``subset`` (n/t) of the packs, or all data when ``subset`` is "all"."""
    report = RestoreReport(kind="repository", host=restic.shell.host, point=subset or "structure")
    rep = restic.check(read_data_subset=subset if subset not in (None, "all") else None, read_data=subset == "all")
    report.checks.append(
        {
            "name": "restic check",
            "ok": rep.ok,
            "read_data_subset": rep.read_data_subset,
            "packs": list(rep.damaged_packs),
        }
    )
    report.cleaned = True
    if not rep.ok:
        report.differences += [f"damaged pack {p}" for p in rep.damaged_packs]
        report.differences += [f"restic check: {e}" for e in rep.errors[:10]]
        if not report.differences:
            report.differences.append("restic check failed without naming a pack")
    return report
