"""Prestart: start a one-shot run's Ansible session before the engine's bookkeeping, held at its start.

``maintctl run ITEM`` is one process: before the first host it opens the state store and the evidence
ledger, claims the occurrence, takes the lease, opens the evidence bundle and the change record. That
is a few tenths of a second of one core, and ansible-playbook's own start-up (interpreter, Ansible's
imports, inventory, playbooks) is about a second of another core; one after the other they add up.
So, as soon as the catalogue is loaded, the item's kind may start its session (``PreparingKind``)
for the hosts and batches the run will have, held before its first play; the engine then does its
bookkeeping while Ansible loads, and the kind's ``before`` releases the session.

Nothing is decided here: the run takes the prepared kind only if its hosts, batches, inventory and
mode are exactly the ones it computed itself after the claim (``take``); otherwise (a resumed run
excludes hosts, the lease is held, the change is refused, ...) the session is told to stop at its
start gate, before any task of any play, and its folder is removed (``close``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.catalogue.model import Catalogue, Item
from runner.engine.kind import KindRunner, PreparingKind, RunContext
from runner.errors import EvidenceError


class NoEvidence:
    """The evidence of a context built before the run is claimed: there is no bundle to write to yet."""

    def _refuse(self) -> None:
        raise EvidenceError("evidence written before the run was claimed (a kind's prepare must record nothing)")

    def open_bundle(self, *, run_id: str, item_id: str, occurrence: str, asked: Mapping[str, Any]) -> str:
        self._refuse()
        return ""

    def record(self, bundle_id: str, event: str, data: Mapping[str, Any]) -> None:
        self._refuse()

    def artifact(self, bundle_id: str, name: str, content: bytes, media_type: str = "text/plain") -> str:
        self._refuse()
        return ""

    def close_bundle(self, bundle_id: str, *, outcome: str, summary: Mapping[str, Any]) -> None:
        self._refuse()

    def mark_interrupted(self, bundle_id: str, reason: str) -> None:
        self._refuse()


@dataclass
class Prestarted:
    """A kind prepared for run ``run_id`` on ``hosts`` in ``batches``; see the module docstring."""

    run_id: str
    kind: KindRunner
    hosts: tuple[str, ...]
    batches: tuple[tuple[str, ...], ...]
    inventory: tuple[str, ...]
    mode: str
    taken: bool = False
    closed: bool = False

    def take(self, ctx: RunContext) -> KindRunner | None:
        """The prepared kind if ``ctx`` is the run it was prepared for (else it is closed, and None)."""
        same = (ctx.run_id == self.run_id and tuple(ctx.hosts) == self.hosts
                and tuple(tuple(b) for b in ctx.batches) == self.batches
                and tuple(ctx.options.get("inventory") or ()) == self.inventory and ctx.mode == self.mode
                and not ctx.options.get("hostvars"))
        if not same or self.taken or self.closed:
            self.close()
            return None
        self.taken = True
        return self.kind

    def close(self) -> None:
        """Stop and remove what was prepared unless the run took it (then the run closes it)."""
        if not self.taken and not self.closed and isinstance(self.kind, PreparingKind):
            self.closed = True
            self.kind.unprepare()


def prestart(root: Path, state_dir: Path, catalogue: Catalogue, item: Item, *, mode: str,
             run_id: str) -> Prestarted | None:
    """Prepare ``item``'s kind for run ``run_id`` when it can be (a ``PreparingKind``, inventory
    targets only); None otherwise. Errors are left for the run itself to meet and report."""
    from runner.engine.kindload import inventory_paths, load_kind
    from runner.engine.rollout import Rollout
    from runner.engine.targets import resolve
    from runner.errors import MaintctlError

    if item.targets.aws_tags or not item.enabled:
        return None
    inventory = inventory_paths(root, catalogue)
    try:
        kind = load_kind(item)
        if not isinstance(kind, PreparingKind):
            return None
        resolved = resolve(catalogue.inventory, item.targets, item_id=item.id, aws_settings=catalogue.settings.aws,
                           run_dir=state_dir / "runs" / run_id)
        if not resolved.hosts or resolved.extra_inventory or resolved.hostvars:
            return None
        r = item.rollout
        rollout = Rollout.plan(resolved.hosts, r.batch_size, r.canary, r.max_errors)
        ctx = RunContext(
            run_id=run_id, item=item, catalogue=catalogue, estate_root=str(root), state_dir=str(state_dir),
            occurrence="", bundle_id="", evidence=NoEvidence(), hosts=list(resolved.hosts), deadline=None,
            mode="check" if mode == "check" else "apply", options={"inventory": [str(p) for p in inventory]},
            batches=rollout.batches,
        )
        kind.prepare(ctx)
    except (MaintctlError, OSError):
        return None
    return Prestarted(run_id=run_id, kind=kind, hosts=tuple(resolved.hosts),
                      batches=tuple(tuple(b) for b in rollout.batches),
                      inventory=tuple(str(p) for p in inventory), mode=ctx.mode)
