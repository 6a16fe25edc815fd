"""The batch loop of one run: pre-checks, the kind's work, post-checks, max_errors, cutoff.

Every batch and host state is written to the state store as it changes, and each batch's host
results go to evidence in one durable write before the next batch starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runner.catalogue.model import Check
from runner.engine.checks import CheckResult, TargetFor, run_checks
from runner.engine.kind import HostResult, KindRunner, RunContext, StepResult
from runner.engine.rollout import Rollout
from runner.errors import MaintctlError
from runner.redact import redact, redact_text
from runner.state.base import BatchRecord, HostRecord, StateStore, StepRecord

Emit = Callable[[str, Mapping[str, Any]], None]


@dataclass
class BatchLoop:
    """Runs the rollout's batches in order for one run (see the module docstring)."""

    ctx: RunContext
    kind: KindRunner
    rollout: Rollout
    store: StateStore
    emit: Emit
    clock: Callable[[], datetime]
    target_for: TargetFor
    pre_checks: Sequence[Check] = ()
    post_checks: Sequence[Check] = ()
    halt_reason: Callable[[], str | None] = lambda: None  # lease lost, interrupted by operator, ...
    cancel_at_cutoff: bool = False  # on_cutoff: cancel

    def record_step(self, host: str, step: StepResult) -> None:
        """The on_step sink kinds stream into (through the adapters)."""
        self.store.record_step(StepRecord(
            run_id=self.ctx.run_id, host=host, seq=0, name=redact_text(step.name), status=step.status,
            started=step.started, finished=step.finished, message=redact_text(step.message),
            data=redact(step.data),
        ))
        self.emit("host.step", {"host": host, "name": step.name, "status": step.status})

    def run(self) -> list[HostResult]:
        results: list[HostResult] = []
        for index, batch in enumerate(self.rollout.batches):
            why = self.halt_reason()
            if why:
                self.rollout.stop("halted", why)
                break
            if not self.rollout.may_start(index, self.clock(), self.ctx.deadline):
                break
            results.extend(self._batch(index, batch))
            if self.rollout.stopped:
                break
        self._record_untouched()
        return results

    def _batch(self, index: int, hosts: tuple[str, ...]) -> list[HostResult]:
        ctx, started = self.ctx, self.clock()
        record = BatchRecord(run_id=ctx.run_id, index=index, hosts=hosts, status="running", started=started)
        self.store.record_batch(record)
        for h in hosts:
            self.store.record_host(HostRecord(run_id=ctx.run_id, host=h, batch=index, status="running",
                                              started=started))
        info = {"index": index, "of": len(self.rollout.batches), "hosts": list(hosts)}
        ctx.evidence.record(ctx.bundle_id, "batch.started", info)
        self.emit("batch.started", info)
        checks: list[CheckResult] = []
        results: list[HostResult] = []
        status, message = "done", ""
        failed = self._checks("pre", self.pre_checks, hosts, checks)
        if failed:
            status, message = "check_failed", f"pre-check {failed.name} failed on {failed.host}: {failed.detail}"
            self.rollout.stop("halted", message)
            results = [HostResult(host=h, status="skipped", message=message) for h in hosts]
        else:
            results = self._work(hosts)
            for r in results:
                self.rollout.record(r.host, r.status)
            deadline = ctx.deadline
            if self.cancel_at_cutoff and deadline is not None and self.clock() >= deadline:
                self.rollout.cancel_running(f"cancelled at the cutoff ({deadline.isoformat()})")
                status, message = "cancelled", self.rollout.stop_reason
            failed = self._checks("post", self.post_checks, hosts, checks)
            if failed and status == "done":
                status, message = "check_failed", f"post-check {failed.name} failed on {failed.host}: {failed.detail}"
                self.rollout.stop("halted", message)
            elif status == "done" and self.rollout.check_errors():
                status, message = "halted", self.rollout.stop_reason
        if status == "done" and any(r.status == "not_started" for r in results):
            status, message = "cancelled", "cancelled at the cutoff"
        self._record_results(index, results, started)
        finished = self.clock()
        self.store.record_batch(BatchRecord(
            run_id=ctx.run_id, index=index, hosts=hosts, status=status, started=started, finished=finished,
            message=message, checks=[c.as_dict() for c in checks],
        ))
        end = {"index": index, "status": status, "message": message}
        ctx.evidence.record(ctx.bundle_id, "batch.finished", {**end, "checks": [c.as_dict() for c in checks]})
        self.emit("batch.finished", end)
        return results

    def _work(self, hosts: tuple[str, ...]) -> list[HostResult]:
        try:
            got = self.kind.run_batch(self.ctx, list(hosts))
        except MaintctlError as exc:
            return [HostResult(host=h, status="failed", message=str(exc)) for h in hosts]
        by_host = {r.host: r for r in got}
        # A kind that forgets a host must not make it vanish from the record.
        return [by_host.get(h) or HostResult(host=h, status="failed", message="no result from the kind")
                for h in hosts]

    def _checks(self, phase: str, checks: Sequence[Check], hosts: Sequence[str],
                sink: list[CheckResult]) -> CheckResult | None:
        if not checks:
            return None
        results = run_checks(checks, hosts, self.target_for)
        sink.extend(results)
        for r in results:
            self.emit("check.result", {"phase": phase, **r.as_dict()})
        self.ctx.evidence.record(self.ctx.bundle_id, f"checks.{phase}", {"results": [r.as_dict() for r in results]})
        return next((r for r in results if not r.ok), None)

    def _record_results(self, index: int, results: Sequence[HostResult], started: datetime) -> None:
        ctx, now = self.ctx, self.clock()
        events: list[tuple[str, Mapping[str, Any]]] = []
        for r in results:
            self.store.record_host(HostRecord(run_id=ctx.run_id, host=r.host, batch=index, status=r.status,
                                              started=started, finished=now, message=redact_text(r.message),
                                              data=redact(r.data)))
            events.append(("host.result", host_evidence(r, index)))
            self.emit("host.result", {"host": r.host, "status": r.status, "message": r.message})
        record_many = getattr(ctx.evidence, "record_many", None)
        if record_many is not None:
            record_many(ctx.bundle_id, events)
        else:
            for event, data in events:
                ctx.evidence.record(ctx.bundle_id, event, data)

    def _record_untouched(self) -> None:
        states = self.rollout.final_states()
        for index, batch in enumerate(self.rollout.batches):
            for h in batch:
                if h not in self.rollout.results:
                    self.store.record_host(HostRecord(
                        run_id=self.ctx.run_id, host=h, batch=index, status=states[h],  # type: ignore[arg-type]
                        message=self.rollout.stop_reason,
                    ))


def host_evidence(r: HostResult, batch: int) -> dict[str, Any]:
    return {
        "host": r.host, "batch": batch, "status": r.status, "message": r.message, "data": r.data,
        "steps": [
            {"name": s.name, "status": s.status, "message": s.message, "data": s.data,
             "started": s.started.isoformat() if s.started else None,
             "finished": s.finished.isoformat() if s.finished else None}
            for s in r.steps
        ],
    }
