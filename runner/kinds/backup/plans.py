"""Backup plans (backup/*.yml ``plans:``) and an item's ``backup:`` block, as typed values.

The catalogue's JSON Schema checks shapes; this module turns the validated mappings into the
values the backup kind uses, and reports what a schema cannot (a password file that is missing).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from runner.errors import CatalogueError, Problem
from runner.kinds.backup.postgres import PgTarget, SqlCheck
from runner.kinds.backup.restic import Repository

SourceType = Literal["files", "postgres", "ebs", "rds"]
AWS_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@dataclass(frozen=True, kw_only=True)
class VerifyPolicy:
    """When and how restores are proven (see :mod:`runner.kinds.backup.schedule`)."""

    every: int = 1  # restore-test every Nth backup run (1: every run, 0: never)
    point: Literal["latest", "random"] = "latest"
    restore_host: str | None = None  # None: another target host, else the source host
    scratch_dir: str = "/var/tmp"
    command: str = ""
    sql_checks: tuple[SqlCheck, ...] = ()
    check_subset: int = 0  # restic check --read-data-subset n/T rotating over T runs; 0: structure only
    read_all_data: bool = False


@dataclass(frozen=True, kw_only=True)
class Plan:
    name: str
    source: SourceType
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    postgres: PgTarget | None = None
    aws: Mapping[str, Any] = field(default_factory=dict)
    repository: Repository | None = None
    retention: Mapping[str, int] = field(default_factory=dict)
    verify: VerifyPolicy = field(default_factory=VerifyPolicy)
    file: str = ""


def _err(where: str, path: str, message: str) -> CatalogueError:
    return CatalogueError([Problem(file=where, path=path, message=message)])


def _secret_from(spec: Mapping[str, Any], root: Path, where: str, key: str) -> str | None:
    """Read ``<key>_file`` (on the runner, relative to the estate) or ``<key>_env``."""
    if spec.get(f"{key}_file"):
        p = Path(str(spec[f"{key}_file"])).expanduser()
        p = p if p.is_absolute() else root / p
        try:
            return p.read_text().strip()
        except OSError as exc:
            raise _err(where, f"{key}_file", f"cannot read {p}: {exc.strerror}") from exc
    if spec.get(f"{key}_env"):
        name = str(spec[f"{key}_env"])
        value = os.environ.get(name)
        if not value:
            raise _err(where, f"{key}_env", f"environment variable {name} is not set")
        return value
    return None


def repository(spec: Mapping[str, Any], root: Path, where: str) -> Repository:
    url = str(spec["url"])
    password = _secret_from(spec, root, where, "password")
    host_file = spec.get("host_password_file")
    if password is None and not host_file:
        raise _err(where, "repository", "needs password_file, password_env or host_password_file")
    env = {str(k): str(v) for k, v in (spec.get("env") or {}).items()}
    secret_env: dict[str, str] = {}
    if url.startswith("s3:"):
        secret_env = {k: os.environ[k] for k in AWS_KEYS if os.environ.get(k)}
        env.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    return Repository(
        url=url,
        password=password,
        password_file=str(host_file) if host_file else None,
        env=env,
        secret_env=secret_env,
    )


def _verify(spec: Mapping[str, Any]) -> VerifyPolicy:
    checks = tuple(
        SqlCheck(
            name=str(c.get("name") or c["query"]),
            query=str(c["query"]),
            expect=None if c.get("expect") is None else str(c["expect"]),
            min=c.get("min"),
            max=c.get("max"),
        )
        for c in spec.get("sql_checks") or ()
    )
    restore = spec.get("restore_to") or {}
    check = spec.get("repository_check") or {}
    return VerifyPolicy(
        every=int(spec.get("every", 1)),
        point=spec.get("point", "latest"),
        restore_host=restore.get("host"),
        scratch_dir=str(restore.get("path", "/var/tmp")),
        command=str(spec.get("command", "")),
        sql_checks=checks,
        check_subset=int(check.get("rotate_over", 0)),
        read_all_data=bool(check.get("read_all_data", False)),
    )


def parse_plan(name: str, settings: Mapping[str, Any], root: Path, where: str) -> Plan:
    """Build a plan from its validated mapping (``where`` names the file for error messages)."""
    src = settings.get("source") or {}
    kind = src.get("type")
    if kind not in ("files", "postgres", "ebs", "rds"):
        raise _err(where, f"plans.{name}.source.type", f"{kind!r} is not files, postgres, ebs or rds")
    pg = None
    if kind == "postgres":
        pg = PgTarget(
            database=str(src["database"]),
            host=src.get("host"),
            port=src.get("port"),
            user=src.get("user"),
            run_as=src.get("run_as"),
            password=_secret_from(src, root, where, "password"),
            bin_dir=str(src.get("bin_dir", "")),
        )
    repo = None
    if kind in ("files", "postgres"):
        if not settings.get("repository"):
            raise _err(where, f"plans.{name}.repository", "a files or postgres plan needs a repository")
        repo = repository(settings["repository"], root, where)
    if kind == "files" and not src.get("paths"):
        raise _err(where, f"plans.{name}.source.paths", "a files plan needs at least one path")
    return Plan(
        name=name,
        source=kind,
        paths=tuple(src.get("paths") or ()),
        exclude=tuple(src.get("exclude") or ()),
        postgres=pg,
        aws={k: v for k, v in src.items() if k != "type"} if kind in ("ebs", "rds") else {},
        repository=repo,
        retention={str(k): int(v) for k, v in (settings.get("retention") or {}).items()},
        verify=_verify(settings.get("verify") or {}),
        file=where,
    )


def plan_for_item(catalogue: Any, item: Any) -> Plan:
    """The plan an item of kind backup names in its ``backup:`` block, with the item's overrides."""
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
        settings["verify"] = {**(settings.get("verify") or {}), **block["verify"]}
    return parse_plan(name, settings, Path(catalogue.root), str(plan.location))
