"""The contract between the engine and the four kinds of maintenance.

The engine owns everything shared: lease, change record, target resolution, batching (canary,
batch size, max_errors), cutoff, pre/post checks, progress and evidence of the run as a whole.
A kind owns what happens to one batch of hosts, plus optional whole-run steps before and after.

A kind is looked up by name in ``runner.kinds.REGISTRY`` (name -> "module:Class"), imported lazily.
Kinds reach Ansible, SSH and AWS through ``runner.engine.tools`` (``playbook``, ``ssh``, ``aws``), which
apply the estate's inventory, known_hosts and settings and stream steps into the run as they happen.
``ctx.options["inventory"]`` lists the inventory sources of this run (the estate's, plus hosts resolved
from AWS tags).

What a kind remembers across runs (first sightings of package versions, backup counters, restore
tests) goes into the estate's state store as kind facts (``StateStore.put_fact`` and friends, see
``runner.state.base``), never into files of its own: runners sharing a PostgreSQL store then share
it. The engine passes its store as ``ctx.state``; a context built outside the engine (``maintctl patch
scan``, an on-demand restore test, a test) may leave it None, and the kind then opens the estate's
store from ``settings.state`` itself (``runner.kinds.facts.KindFacts.for_run``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from runner.catalogue.model import Catalogue, Item
    from runner.evidence.port import EvidenceRecorder
    from runner.state.base import StateStore

HostStatus = Literal["ok", "changed", "failed", "unreachable", "skipped", "not_started"]


@dataclass(kw_only=True)
class StepResult:
    """One step on one host (an Ansible task, a command, a check)."""

    name: str
    status: HostStatus
    started: datetime | None = None
    finished: datetime | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class HostResult:
    """What happened to one host in one run. ``data`` holds the kind's own per-host facts."""

    host: str
    status: HostStatus
    steps: list[StepResult] = field(default_factory=list)
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "unreachable")


@dataclass(kw_only=True)
class RunContext:
    """Everything a kind may use while it runs. Built by the engine, one per run."""

    run_id: str
    item: Item
    catalogue: Catalogue
    estate_root: str
    state_dir: str
    occurrence: str
    bundle_id: str
    evidence: EvidenceRecorder
    hosts: Sequence[str]
    deadline: datetime | None  # no new work after this instant (window end - cutoff)
    mode: Literal["apply", "check"] = "apply"
    emit: Callable[[str, Mapping[str, Any]], None] = lambda _event, _data: None
    options: dict[str, Any] = field(default_factory=dict)
    # Added for the engine's tools (runner.engine.tools); kinds pass them on to the adapters:
    # ``on_step(host, step)`` streams a step into state and progress as it happens; ``cancel()`` turns
    # True when the run must stop now (cutoff with on_cutoff: cancel, lease lost, operator interrupt).
    on_step: Callable[[str, StepResult], None] = lambda _host, _step: None
    cancel: Callable[[], bool] = lambda: False
    # The engine's state store, for the kind's facts; owned (and closed) by whoever built the context.
    state: StateStore | None = None
    # The rollout's batches, in order (the engine's plan): a kind may run the whole rollout as one
    # Ansible session (``runner.engine.tools.session``); run_batch is still called batch by batch.
    batches: Sequence[tuple[str, ...]] = ()


class KindRunner(Protocol):
    """What every kind implements. Every method may raise ``MaintctlError`` subclasses."""

    name: str

    def needs_change_record(self, ctx: RunContext) -> bool:
        """Whether this run changes anything (drift in check mode does not)."""
        ...

    def before(self, ctx: RunContext) -> None:
        """Whole-run preparation before the first batch (scan, issue certificates, ...)."""
        ...

    def run_batch(self, ctx: RunContext, hosts: Sequence[str]) -> list[HostResult]:
        """Do the kind's work on one batch and return one result per host, in order."""
        ...

    def after(self, ctx: RunContext, results: Sequence[HostResult]) -> dict[str, Any]:
        """Whole-run finish (reports, compliance summary); returns a summary for evidence."""
        ...


@runtime_checkable
class ClosingKind(Protocol):
    """A kind holding something for the whole run (an Ansible session): the engine calls ``close``
    once after the batches, whatever happened (halt, cutoff, error, interrupt)."""

    def close(self, ctx: RunContext) -> None:
        ...


@runtime_checkable
class PreparingKind(Protocol):
    """A kind that can start its long start-up before the engine's bookkeeping (``runner.engine.prestart``).

    ``prepare`` gets a context without evidence (nothing is claimed yet) and must not touch a host: it
    starts what it holds (an Ansible session) held at its start; ``before`` then lets it go. When the
    run does not take the prepared kind, ``unprepare`` stops and removes what ``prepare`` started.
    """

    def prepare(self, ctx: RunContext) -> None:
        ...

    def unprepare(self) -> None:
        ...
