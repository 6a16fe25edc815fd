"""One host's backup run: restic backups of files and databases, retention, repository check,
and the restore tests that prove them. Returns a HostResult; never leaves scratch targets behind.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from runner.engine.kind import HostResult, RunContext, StepResult
from runner.errors import MaintctlError
from runner.kinds.backup import manifest as mf
from runner.kinds.backup import postgres as pg
from runner.kinds.backup import verify
from runner.kinds.backup.plans import Plan
from runner.kinds.backup.restic import Restic
from runner.kinds.backup.schedule import check_subset
from runner.kinds.backup.shell import Shell
from runner.kinds.backup.store import BackupStore

MANIFEST_FILE = "maintctl-manifest.json"
MANIFEST_TAG = "maintctl-manifest-of="


def repository_manifest(restic: Restic, snapshot_id: str, host: str) -> dict[str, Any] | None:
    """The manifest stored next to ``snapshot_id`` in the repository, if there is one."""
    snaps = restic.snapshots(tags=[MANIFEST_TAG + snapshot_id[:8]], host=host)
    if not snaps:
        return None
    data: dict[str, Any] = json.loads(restic.dump(snaps[-1].id, "/" + MANIFEST_FILE))
    return data


def item_tags(ctx: RunContext, plan: Plan) -> list[str]:
    return [f"maintctl-item={ctx.item.id}", f"maintctl-plan={plan.name}"]


@dataclass
class HostFlow:
    """Everything one host's backup needs; ``shells`` makes a Shell for any host name."""

    ctx: RunContext
    plan: Plan
    store: BackupStore
    shells: Callable[[str], Shell]
    run_number: int
    verify_now: bool
    check_now: bool
    rng: random.Random = field(default_factory=random.Random)
    steps: list[StepResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def step(self, host: str, name: str, fn: Callable[[], Any]) -> Any:
        """Run one step, stream it to the engine, and turn a MaintctlError into a failed step."""
        started = datetime.now(UTC)
        try:
            out = fn()
            status, message = "changed", ""
        except MaintctlError as exc:
            out, status, message = None, "failed", str(exc)
            self.problems.append(f"{name}: {exc}")
        st = StepResult(name=name, status=status, started=started, finished=datetime.now(UTC),  # type: ignore[arg-type]
                        message=message)  # fmt: skip
        self.steps.append(st)
        self.ctx.on_step(host, st)
        return out

    def record(self, event: str, data: dict[str, Any]) -> None:
        self.ctx.evidence.record(self.ctx.bundle_id, event, data)

    def run(self, host: str) -> HostResult:
        assert self.plan.repository is not None
        restic = Restic(shell=self.shells(host), repo=self.plan.repository)
        self.step(host, "restic init", restic.init)
        if self.problems:
            return self.result(host)
        tags = item_tags(self.ctx, self.plan)
        ok_before = len(self.problems)
        if self.plan.paths:
            self.step(host, "backup files", lambda: self.backup_files(host, restic, tags))
        for db in self.plan.databases:
            self.step(host, f"backup database {db.database}", partial(self.backup_db, host, restic, db, tags))
        if (self.plan.retention or self.plan.keep_within) and len(self.problems) == ok_before:
            # prune only after every backup of this host succeeded
            kept = self.step(
                host,
                "retention",
                lambda: restic.forget(self.plan.retention, tags=tags[:1], within=self.plan.keep_within),
            )
            self.facts["retention"] = kept
        if self.check_now:
            self.step(host, "repository check", lambda: self.repository_check(restic))
        if self.verify_now and len(self.problems) == ok_before:
            self.restore_tests(host, tags)
        return self.result(host)

    def prove(self, host: str) -> HostResult:
        """Restore-test the latest (or a random) recovery point of ``host`` without a new backup."""
        assert self.plan.repository is not None
        if self.check_now:
            restic = Restic(shell=self.shells(host), repo=self.plan.repository)
            self.step(host, "repository check", lambda: self.repository_check(restic))
        self.restore_tests(host, item_tags(self.ctx, self.plan))
        return self.result(host)

    def result(self, host: str) -> HostResult:
        status = "failed" if self.problems else "changed"
        msg = "; ".join(self.problems[:5])
        return HostResult(host=host, status=status, steps=self.steps, message=msg, data=self.facts)  # type: ignore[arg-type]

    def backup_files(self, host: str, restic: Restic, tags: list[str]) -> None:
        manifest = mf.take(restic.shell, list(self.plan.paths))
        summary = restic.backup(self.plan.paths, tags=[*tags, "files"], host=host, exclude=self.plan.exclude)
        self.store.save_manifest(snapshot_id=summary.snapshot_id, item=self.ctx.item.id, host=host, manifest=manifest)
        # alongside the snapshot too, so that any runner (another state folder) can verify it
        restic.backup_bytes(mf.to_bytes(manifest), MANIFEST_FILE, host=host,
                            tags=[*tags, "manifest", f"{MANIFEST_TAG}{summary.snapshot_id[:8]}"])  # fmt: skip
        digest = self.ctx.evidence.artifact(self.ctx.bundle_id, f"manifest-{host}-{summary.snapshot_id[:8]}.json",
                                            mf.to_bytes(manifest), "application/json")  # fmt: skip
        data = {"host": host, "kind": "files", "summary": summary.__dict__, "manifest_sha256": digest,
                "files": len(manifest)}  # fmt: skip
        self.record("backup.snapshot", data)
        self.store.record_backup(item=self.ctx.item.id, host=host, plan=self.plan.name, at=_now(),
                                 snapshot_id=summary.snapshot_id, ok=True, details=data)  # fmt: skip
        self.facts.setdefault("snapshots", []).append(summary.snapshot_id)

    def backup_db(self, host: str, restic: Restic, db: pg.PgTarget, tags: list[str]) -> None:
        summary = pg.backup_database(restic, db, tags=[*tags, f"db={db.database}"], host=host)
        data = {"host": host, "kind": "postgres", "database": db.database, "summary": summary.__dict__}
        self.record("backup.snapshot", data)
        self.store.record_backup(item=self.ctx.item.id, host=host, plan=self.plan.name, at=_now(),
                                 snapshot_id=summary.snapshot_id, ok=True, details=data)  # fmt: skip
        self.facts.setdefault("snapshots", []).append(summary.snapshot_id)

    def repository_check(self, restic: Restic) -> None:
        subset = check_subset(self.plan.verify, self.run_number)
        rep = verify.repository_check(restic, subset)
        self.record("backup.repository_check", rep.to_dict())
        self.store.record_check(item=self.ctx.item.id, at=_now(), subset=subset, ok=rep.ok, details=rep.to_dict())
        self.facts["repository_check"] = rep.to_dict()
        if not rep.ok:
            raise MaintctlError("restic check failed: " + "; ".join(rep.differences[:5]))

    def restore_tests(self, host: str, tags: list[str]) -> None:
        v = self.plan.verify
        if self.plan.paths:
            target = v.restore_host or other_host(host, self.ctx.hosts)
            self.step(host, f"restore test files on {target}", lambda: self.restore_files(host, target, tags))
        for db in self.plan.databases:
            if v.databases and db.database not in v.databases:
                continue
            target = v.restore_host if v.restore_host and not self.plan.paths else host
            self.step(host, f"restore test database {db.database} on {target}",
                      partial(self.restore_db, host, target, db, tags))  # fmt: skip

    def restore_files(self, host: str, target: str, tags: list[str]) -> None:
        assert self.plan.repository is not None
        restic = Restic(shell=self.shells(target), repo=self.plan.repository)
        snaps = restic.snapshots(tags=[",".join([*tags, "files"])], host=host)
        snap = verify.choose_point(snaps, self.plan.verify.point, self.rng)
        manifest = self.store.manifest(snap.id) or repository_manifest(restic, snap.id, host)
        rep = verify.restore_files(restic, snap, manifest, command="\n".join(self.plan.verify.commands),
                                   scratch_base=self.plan.verify.scratch_dir, point=self.plan.verify.point,
            include=self.plan.verify.restore_paths)  # fmt: skip
        self.finish_report(host, rep)

    def restore_db(self, host: str, target: str, db: pg.PgTarget, tags: list[str]) -> None:
        assert self.plan.repository is not None
        restic = Restic(shell=self.shells(target), repo=self.plan.repository)
        snaps = restic.snapshots(tags=[",".join([*tags, f"db={db.database}"])], host=host)
        snap = verify.choose_point(snaps, self.plan.verify.point, self.rng)
        checks = self.plan.verify.sql_checks.get(db.database, ())
        rep = verify.restore_database(restic, snap, db, checks, command="\n".join(self.plan.verify.commands),
                                      point=self.plan.verify.point)  # fmt: skip
        self.finish_report(host, rep)

    def finish_report(self, host: str, rep: verify.RestoreReport) -> None:
        objectives(rep, self.plan)
        data = rep.to_dict()
        self.record("backup.restore_test", {"source_host": host, **data})
        self.store.record_restore(item=self.ctx.item.id, host=host, report=data, at=_now())
        self.facts.setdefault("restore_tests", []).append(data)
        if not rep.ok:
            what = rep.error or "; ".join(rep.differences[:5])
            raise MaintctlError(f"restore test of {rep.kind} from {host} on {rep.host} failed: {what}")


def objectives(rep: verify.RestoreReport, plan: Plan) -> None:
    """Compare the measured RTO and RPO with the plan's max_restore_time and max_age."""
    v = plan.verify
    if (
        v.max_restore_time is not None
        and rep.rto_seconds is not None
        and rep.rto_seconds > v.max_restore_time.total_seconds()
    ):
        rep.differences.append(f"restore took {rep.rto_seconds:.1f}s, over max_restore_time "
                               f"{v.max_restore_time.total_seconds():g}s")  # fmt: skip
    if v.max_age is not None and rep.rpo_seconds is not None and rep.rpo_seconds > v.max_age.total_seconds():
        rep.differences.append(f"restored point is {rep.rpo_seconds:.0f}s old, over max_age "
                               f"{v.max_age.total_seconds():g}s")  # fmt: skip


def other_host(host: str, hosts: Sequence[str]) -> str:
    """The next target host after ``host`` (cyclic), so a restore proves the data off its source."""
    others = [h for h in hosts if h != host]
    if not others:
        return host
    order = list(hosts)
    i = order.index(host) if host in order else -1
    for h in order[i + 1 :] + order[: i + 1]:
        if h != host:
            return h
    return others[0]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
