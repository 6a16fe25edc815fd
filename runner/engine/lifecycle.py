"""One run from the claimed occurrence to its closed evidence bundle.

Order of effects (each recorded in state and evidence): bundle opened → targets resolved → change
record opened and approved (before the first host is touched) → kind.before → batches → kind.after →
change record closed with the close code the outcome deserves → bundle closed → run finished.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.catalogue.model import Item
from runner.engine.batches import BatchLoop
from runner.engine.kind import ClosingKind, HostResult, KindRunner, PreparingKind, RunContext
from runner.engine.kindload import inventory_paths, load_kind
from runner.engine.rollout import Rollout
from runner.errors import ChangeError, MaintctlError
from runner.state.base import RunRecord

if TYPE_CHECKING:
    from runner.engine.lease import LeaseKeeper
    from runner.engine.prestart import Prestarted
    from runner.engine.run import Claim, Engine, RunRequest


def asked(engine: Engine, item: Item, req: RunRequest, claim: Claim) -> dict[str, Any]:
    from runner.evidence.canonical import plain

    return {
        "item": plain(item),
        "catalogue": {"root": engine.catalogue.root, "files": [{"path": f.path, "sha256": f.sha256}
                                                               for f in engine.catalogue.files]},
        "occurrence": claim.occurrence, "window": claim.window,
        "scheduled_start": claim.scheduled_start.isoformat() if claim.scheduled_start else None,
        "deadline": claim.deadline.isoformat() if claim.deadline else None,
        "adhoc": claim.adhoc, "reason": req.reason, "mode": req.mode, "resumed_from": claim.resumed_from,
        "excluded_hosts": dict(claim.exclude), "freezes_overridden": list(claim.freezes_overridden),
        **({"started_by": req.requested_by} if req.requested_by else {}),
    }


def execute(engine: Engine, item: Item, req: RunRequest, claim: Claim, record: RunRecord,
            keeper: LeaseKeeper, early: Prestarted | None = None) -> RunRecord:
    from runner.estate import private_subdir

    run_id, store, evidence = record.id, engine.store, engine.evidence
    state_dir = engine.state_dir or private_subdir(engine.root)
    bundle = evidence.open_bundle(run_id=run_id, item_id=item.id, occurrence=claim.occurrence,
                                  asked=asked(engine, item, req, claim))
    store.update_run(run_id, status="running", started=engine.clock(), bundle_id=bundle)
    run = _Run(engine, item, req, claim, run_id, bundle, keeper, Path(state_dir))
    run.early = early
    try:
        run.go()
    except MaintctlError as exc:
        run.fail(str(exc))
    except KeyboardInterrupt:
        run.outcome, run.message = "cancelled", "interrupted by the operator"
        run.finish()
        raise
    return run.finish()


class _Run:
    def __init__(self, engine: Engine, item: Item, req: RunRequest, claim: Claim, run_id: str, bundle: str,
                 keeper: LeaseKeeper, state_dir: Path) -> None:
        self.engine, self.item, self.req, self.claim = engine, item, req, claim
        self.run_id, self.bundle, self.keeper, self.state_dir = run_id, bundle, keeper, state_dir
        self.outcome, self.message = "failed", ""
        self.rollout: Rollout | None = None
        self.change_id: str | None = None
        self.kind_summary: dict[str, Any] = {}
        self.results: list[HostResult] = []
        self.early: Prestarted | None = None

    def emit(self, event: str, data: Mapping[str, Any]) -> None:
        self.engine.reporter(event, {"run_id": self.run_id, **data} if event.startswith("run.") else data)

    def cancel(self) -> bool:
        if self.keeper.lost.is_set():
            return True
        deadline = self.claim.deadline
        return (self.item.rollout.on_cutoff == "cancel" and deadline is not None
                and self.engine.clock() >= deadline)

    def go(self) -> None:
        from runner.engine.targets import resolve

        e, item = self.engine, self.item
        resolved = resolve(e.catalogue.inventory, item.targets, item_id=item.id, aws_settings=e.catalogue.settings.aws,
                           run_dir=self.state_dir / "runs" / self.run_id)
        hosts = [h for h in resolved.hosts if h not in self.claim.exclude]
        r = item.rollout
        self.rollout = rollout = Rollout.plan(hosts, r.batch_size, r.canary, r.max_errors)
        plan = {"hosts": hosts, "batches": [list(b) for b in rollout.batches], "max_errors": rollout.max_errors,
                "excluded": dict(self.claim.exclude)}
        e.evidence.record(self.bundle, "run.plan", plan)
        self.emit("run.started", {"item": item.id, "occurrence": self.claim.occurrence, "hosts": hosts,
                                  "batches": len(rollout.batches), "mode": self.req.mode,
                                  "deadline": self.claim.deadline.isoformat() if self.claim.deadline else None})
        for host, state in self.claim.exclude.items():
            self.emit("run.message", {"text": f"{host}: not run again ({state} in an earlier run of this occurrence)"})
        inventory = [*inventory_paths(e.root, e.catalogue),
                     *([resolved.extra_inventory] if resolved.extra_inventory else [])]
        ctx = RunContext(
            run_id=self.run_id, item=item, catalogue=e.catalogue, estate_root=str(e.root),
            state_dir=str(self.state_dir), occurrence=self.claim.occurrence, bundle_id=self.bundle,
            evidence=e.evidence, hosts=hosts, deadline=self.claim.deadline, mode=self.req.mode, emit=e.reporter,
            options={"inventory": [str(p) for p in inventory], "hostvars": dict(resolved.hostvars),
                     "reason": self.req.reason, "adhoc": self.claim.adhoc},
            cancel=self.cancel, state=e.store, batches=rollout.batches,
        )
        if not hosts:
            self.outcome, self.message = "succeeded", "no hosts left to run in this occurrence"
            return
        kind = self.early.take(ctx) if self.early else None
        if kind is not None:
            # Said in the evidence: Ansible was started before the change record, held before any task.
            e.evidence.record(self.bundle, "run.prestarted", {"held": "until the change record lets the run go"})
            self.emit("run.message", {"text": "Ansible started ahead of the change record, held before any task"})
        kind = kind or load_kind(item)
        proceed = False
        try:
            proceed = self._change(ctx, kind, hosts)
        finally:
            if not proceed and isinstance(kind, PreparingKind):
                kind.unprepare()  # a session started early must not wait at its start for ever
        if proceed:
            self._batches(ctx, kind)

    def _batches(self, ctx: RunContext, kind: KindRunner) -> None:
        try:
            self._loop(ctx, kind)
        finally:
            if isinstance(kind, ClosingKind):
                kind.close(ctx)

    def _loop(self, ctx: RunContext, kind: KindRunner) -> None:
        from runner.engine import tools

        assert self.rollout is not None
        loop = BatchLoop(
            ctx=ctx, kind=kind, rollout=self.rollout, store=self.engine.store, emit=self.emit,
            clock=self.engine.clock, target_for=lambda h: tools.ssh_target(ctx, h),
            pre_checks=self.item.rollout.pre_checks, post_checks=self.item.rollout.post_checks,
            cancel_at_cutoff=self.item.rollout.on_cutoff == "cancel",
            halt_reason=lambda: "lease lost: another runner holds this item now" if self.keeper.lost.is_set() else None,
        )
        ctx.on_step = loop.record_step  # before kind.before: its steps (a scan) are part of the run too
        kind.before(ctx)
        self.results = loop.run()
        self.kind_summary = dict(kind.after(ctx, self.results) or {})
        self.outcome, self.message = self.rollout.outcome(), self.rollout.stop_reason

    def _change(self, ctx: RunContext, kind: KindRunner, hosts: list[str]) -> bool:
        from runner.engine.changeflow import open_change

        self.change_id, proceed, why = open_change(self.engine, ctx, kind, self.claim, hosts)
        if not proceed:
            self.outcome, self.message = "cancelled", why
        return proceed

    def fail(self, message: str) -> None:
        self.outcome, self.message = "failed", message
        self.engine.evidence.record(self.bundle, "run.error", {"message": message})

    def finish(self) -> RunRecord:
        from runner.engine.changeflow import close_code

        e = self.engine
        states = self.rollout.final_states() if self.rollout else {}
        if self.outcome == "failed" and self.rollout is not None and not self.rollout.results and not self.message:
            self.message = "failed before any host was touched"
        counts = Counter(states.values())
        summary = {"outcome": self.outcome, "message": self.message, "hosts": states, "counts": dict(counts),
                   "excluded": dict(self.claim.exclude), "kind": self.kind_summary}
        if self.change_id and e.changes is not None:
            code = close_code(self.outcome, counts.get("done", 0))
            notes = f"{self.outcome}: {dict(counts)}" + (f" - {self.message}" if self.message else "")
            try:
                e.changes.close(self.change_id, code, notes, f"evidence:{self.bundle}")
                e.evidence.record(self.bundle, "change.closed", {"id": self.change_id, "code": code, "notes": notes})
                self.emit("change.closed", {"id": self.change_id, "code": code})
            except ChangeError as exc:
                e.evidence.record(self.bundle, "change.close_failed", {"id": self.change_id, "error": str(exc)})
        e.evidence.close_bundle(self.bundle, outcome=self.outcome, summary=summary)
        from runner.redact import redact, redact_text

        rec = e.store.update_run(self.run_id, status=self.outcome, finished=e.clock(),  # type: ignore[arg-type]
                                 message=redact_text(self.message), summary=redact(summary))
        self.emit("run.finished", {"status": self.outcome, "message": self.message, "counts": dict(counts)})
        return rec
