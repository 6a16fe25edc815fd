"""Backup plans (backup/*.yml ``plans:``) and an item's ``backup:`` block, as typed values.

The catalogue's JSON Schema (schemas/backup.json, kind-backup.json) checks shapes; this module
turns the validated mappings into the values the backup kind uses and reports what a schema cannot
(a password file that cannot be read, an environment variable that is not set).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from runner.errors import CatalogueError, Problem
from runner.kinds.backup.postgres import PgTarget, SqlCheck
from runner.kinds.backup.restic import Repository

AWS_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_KEEP = ("last", "hourly", "daily", "weekly", "monthly", "yearly")


@dataclass(frozen=True, kw_only=True)
class VerifyPolicy:
    """When and how restores are proven (see :mod:`runner.kinds.backup.schedule`)."""

    every: int = 1  # restore-test every Nth backup run (1: every run, 0: never)
    min_interval: timedelta | None = None  # or: at most one restore test per interval
    point: Literal["latest", "random"] = "latest"
    restore_host: str | None = None  # None: another target host (files) / the same host (databases)
    scratch_dir: str = "/var/tmp"
    commands: tuple[str, ...] = ()
    sql_checks: Mapping[str, tuple[SqlCheck, ...]] = field(default_factory=dict)  # database -> checks
    restore_paths: tuple[str, ...] = ()
    databases: tuple[str, ...] = ()  # which databases to restore-test (default: all)
    restic_check: bool = True
    read_data_subset: str | None = None  # a fixed share ("10%")
    read_data_rotate: int = 0  # n/T rotating over T runs
    max_restore_time: timedelta | None = None  # RTO objective
    max_age: timedelta | None = None  # RPO objective


@dataclass(frozen=True, kw_only=True)
class Plan:
    name: str
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    databases: tuple[PgTarget, ...] = ()
    ebs: Mapping[str, Any] = field(default_factory=dict)
    rds: tuple[str, ...] = ()
    repository: Repository | None = None
    snapshot_tags: Mapping[str, str] = field(default_factory=dict)
    region: str | None = None
    retention: Mapping[str, int] = field(default_factory=dict)
    keep_within: str | None = None
    verify: VerifyPolicy = field(default_factory=VerifyPolicy)
    file: str = ""

    @property
    def keep_count(self) -> int:
        """How many AWS snapshots to keep (the largest keep_* count)."""
        return max(self.retention.values(), default=7)


def _err(where: str, path: str, message: str) -> CatalogueError:
    return CatalogueError([Problem(file=where, path=path, message=message)])


def _secret(spec: Mapping[str, Any], root: Path, where: str, path: str) -> str | None:
    """Read ``password_file`` (on the runner, relative to the estate) or ``password_secret`` (env)."""
    if spec.get("password_file"):
        p = Path(str(spec["password_file"])).expanduser()
        p = p if p.is_absolute() else root / p
        try:
            return p.read_text().strip()
        except OSError as exc:
            raise _err(where, f"{path}.password_file", f"cannot read {p}: {exc.strerror}") from exc
    if spec.get("password_secret"):
        name = str(spec["password_secret"])
        value = os.environ.get(name)
        if not value:
            raise _err(where, f"{path}.password_secret", f"environment variable {name} is not set")
        return value
    return None


def repository(spec: Mapping[str, Any], root: Path, where: str, path: str) -> Repository:
    url = str(spec["repository"])
    password = _secret(spec, root, where, path)
    host_file = spec.get("host_password_file")
    if password is None and not host_file:
        raise _err(where, path, "needs password_file, password_secret or host_password_file")
    env = {str(k): str(v) for k, v in (spec.get("env") or {}).items()}
    secret_env: dict[str, str] = {}
    if url.startswith("s3:"):
        secret_env = {k: os.environ[k] for k in AWS_KEYS if os.environ.get(k)}
        env.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    return Repository(
        url=url, password=password, password_file=str(host_file) if host_file else None,
        env=env, secret_env=secret_env,
    )  # fmt: skip


def _duration(value: Any) -> timedelta | None:
    if value is None:
        return None
    from runner.catalogue.durations import parse_duration

    return parse_duration(str(value))


def _restic_within(value: Any) -> str | None:
    """restic reads ``m`` as months: hand it whole hours."""
    d = _duration(value)
    return None if d is None else f"{max(1, int(d.total_seconds() // 3600))}h"


def _verify(spec: Mapping[str, Any], first_db: str) -> VerifyPolicy:
    checks: dict[str, list[SqlCheck]] = {}
    for c in spec.get("sql_checks") or ():
        check = SqlCheck(
            name=str(c.get("name") or c["query"]), query=str(c["query"]),
            expect=None if c.get("expect") is None else str(c["expect"]), min=c.get("min"), max=c.get("max"),
        )  # fmt: skip
        checks.setdefault(str(c.get("database") or first_db), []).append(check)
    restore = spec.get("restore_to") or {}
    every = spec.get("every", 1)
    return VerifyPolicy(
        every=every if isinstance(every, int) else 1,
        min_interval=None if isinstance(every, int) else _duration(every),
        point=spec.get("point", "latest"),
        restore_host=restore.get("host") or spec.get("host"),
        scratch_dir=str(restore.get("path", "/var/tmp")),
        commands=tuple(spec.get("commands") or ()),
        sql_checks={k: tuple(v) for k, v in checks.items()},
        restore_paths=tuple(spec.get("restore_paths") or ()),
        databases=tuple(spec.get("databases") or ()),
        restic_check=bool(spec.get("restic_check", True)),
        read_data_subset=spec.get("read_data_subset"),
        read_data_rotate=int(spec.get("read_data_rotate", 0)),
        max_restore_time=_duration(spec.get("max_restore_time")),
        max_age=_duration(spec.get("max_age")),
    )


def parse_plan(name: str, settings: Mapping[str, Any], root: Path, where: str) -> Plan:
    """Build a plan from its validated mapping (``where`` names the file for error messages)."""
    what, dest = settings.get("what") or {}, settings.get("where") or {}
    pg = what.get("postgres") or {}
    password = _secret(pg, root, where, f"plans.{name}.what.postgres") if pg else None
    dbs = tuple(
        PgTarget(database=str(db), host=pg.get("host"), port=pg.get("port"), user=pg.get("user"),
                 run_as=pg.get("run_as"), password=password, bin_dir=str(pg.get("bin_dir", "")))
        for db in pg.get("databases") or ()
    )  # fmt: skip
    repo = None
    if dest.get("restic"):
        repo = repository(dest["restic"], root, where, f"plans.{name}.where.restic")
    elif what.get("paths") or dbs:
        raise _err(where, f"plans.{name}.where.restic", "files and databases are backed up into a restic repository")
    snaps = dest.get("snapshots") or {}
    if (what.get("ebs") or what.get("rds")) and "snapshots" not in dest:
        raise _err(where, f"plans.{name}.where.snapshots", "EBS volumes and RDS instances need where.snapshots")
    keep = settings.get("retention") or {}
    return Plan(
        name=name, paths=tuple(what.get("paths") or ()), exclude=tuple(what.get("exclude") or ()),
        databases=dbs, ebs=dict(what.get("ebs") or {}), rds=tuple((what.get("rds") or {}).get("instances") or ()),
        repository=repo, snapshot_tags=dict(snaps.get("tags") or {}), region=snaps.get("region"),
        retention={k: int(keep[f"keep_{k}"]) for k in _KEEP if keep.get(f"keep_{k}")},
        keep_within=_restic_within(keep.get("keep_within")),
        verify=_verify(settings.get("verification") or {}, dbs[0].database if dbs else ""), file=where,
    )  # fmt: skip


def plan_for_item(catalogue: Any, item: Any) -> Plan:
    """The plan an item of kind backup names in its ``backup:`` block, with the item's verify overrides."""
    block = dict(item.settings.get("backup", item.settings) or {})
    name = block.get("plan")
    where = str(item.location)
    if not name:
        raise _err(where, f"items.{item.id}.backup.plan", "a backup item names its plan")
    plan = catalogue.plans.get(name)
    if plan is None:
        raise _err(where, f"items.{item.id}.backup.plan", f"no backup plan named {name!r} in backup/")
    settings = dict(plan.settings)
    if block.get("verify"):
        settings["verification"] = {**(settings.get("verification") or {}), **block["verify"]}
    return parse_plan(name, settings, Path(catalogue.root), str(plan.location))
