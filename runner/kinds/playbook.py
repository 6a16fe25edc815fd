"""The generic kind: run the item's playbook on each batch through the Ansible adapter.

Item settings: ``playbook`` (path under the estate's playbooks/ folder), optional ``extravars``,
``tags``, ``skip_tags``, ``diff`` (default true) and ``check`` (default: the run's mode). Any item can
use it with ``settings.runner: playbook``; items whose kind has no runner yet use it when they name a
playbook. The batch's Ansible output is stored as an evidence artifact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runner.engine import tools
from runner.engine.kind import HostResult, RunContext
from runner.errors import UsageError


class PlaybookRunner:
    name = "playbook"

    def __init__(self) -> None:
        self.batches = 0
        self.events = 0

    def _settings(self, ctx: RunContext) -> dict[str, Any]:
        settings = dict(ctx.item.settings)
        if not settings.get("playbook"):
            raise UsageError(f"item {ctx.item.id}: settings.playbook is required by the playbook runner")
        return settings

    def needs_change_record(self, ctx: RunContext) -> bool:
        return ctx.mode == "apply" and not self._settings(ctx).get("check", False)

    def before(self, ctx: RunContext) -> None:
        path = tools.playbook_path(ctx, str(self._settings(ctx)["playbook"]))
        if not path.is_file():
            raise UsageError(f"item {ctx.item.id}: settings.playbook: {path} does not exist")

    def run_batch(self, ctx: RunContext, hosts: Sequence[str]) -> list[HostResult]:
        s = self._settings(ctx)
        self.batches += 1
        result = tools.playbook(
            ctx, hosts, str(s["playbook"]), extravars=dict(s.get("extravars") or {}),
            check=bool(s["check"]) if "check" in s else None, diff=bool(s.get("diff", True)),
            tags=tuple(s.get("tags") or ()), skip_tags=tuple(s.get("skip_tags") or ()),
            label=f"batch{self.batches}",
        )
        self.events += result.events
        ctx.evidence.artifact(ctx.bundle_id, f"ansible-batch{self.batches}.log", result.stdout_tail(1_000_000).encode())
        out = []
        for h in hosts:
            r = result.hosts[h]
            if result.status == "canceled" and r.status == "not_started":
                r.message = "cancelled at the cutoff"
            out.append(r)
        return out

    def after(self, ctx: RunContext, results: Sequence[HostResult]) -> dict[str, Any]:
        return {"playbook": str(self._settings(ctx)["playbook"]), "batches": self.batches, "events": self.events}
