"""A kind prepared before the run is claimed (``runner.engine.prestart``): the run takes it only if it
was prepared for exactly this run, and whatever the run does not take, or stops before its first batch,
is undone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from runner.catalogue.model import ChangePolicy, Rollout
from runner.engine.ids import new_run_id
from runner.engine.kind import RunContext
from runner.engine.prestart import Prestarted, prestart
from runner.engine.run import RunRequest
from runner.errors import EvidenceError
from runner.estate import private_subdir
from runner.kinds import REGISTRY
from runner.kinds.playbook import PlaybookRunner

from .conftest import LocalEstate
from .test_engine_local import evidence_events

LOG: list[str] = []


class Preparing(PlaybookRunner):
    """The playbook kind, made a ``PreparingKind`` that says what was done to it."""

    def __init__(self) -> None:
        super().__init__()
        self.prepared_for: str | None = None

    def prepare(self, ctx: RunContext) -> None:
        with pytest.raises(EvidenceError):
            ctx.evidence.record(ctx.bundle_id, "too.early", {})
        self.prepared_for = ctx.run_id
        LOG.append(f"prepare {','.join(ctx.hosts)} {'/'.join('+'.join(b) for b in ctx.batches)}")

    def unprepare(self) -> None:
        LOG.append("unprepare")

    def before(self, ctx: RunContext) -> None:
        LOG.append(f"before {'prepared' if self.prepared_for == ctx.run_id else 'fresh'}")
        super().before(ctx)


@pytest.fixture
def preparing(estate: LocalEstate, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalEstate]:
    LOG.clear()
    monkeypatch.setitem(REGISTRY, "preparing", f"{__name__}:Preparing")
    item = estate.catalogue.items[0]
    # One batch of all three: one ansible-playbook per run keeps these tests quick.
    estate.item(settings={**item.settings, "runner": "preparing"}, rollout=Rollout(batch_size="3", max_errors="0"))
    yield estate


def _prestart(estate: LocalEstate) -> Prestarted:
    early = prestart(estate.root, private_subdir(estate.root), estate.catalogue, estate.catalogue.items[0],
                     mode="apply", run_id=new_run_id(datetime.now(UTC)))
    assert early is not None
    return early


def test_the_run_takes_the_kind_prepared_for_it(preparing: LocalEstate) -> None:
    early = _prestart(preparing)
    assert LOG == ["prepare l1,l2,l3 l1+l2+l3"]
    rec = preparing.engine().run(RunRequest(item_id="demo", run_id=early.run_id), early)
    early.close()
    assert rec.status == "succeeded", rec.message
    assert rec.id == early.run_id
    assert LOG == ["prepare l1,l2,l3 l1+l2+l3", "before prepared"], "taken, used, and not undone"
    assert sorted(p.name for p in preparing.out.iterdir()) == ["l1", "l2", "l3"]
    events = evidence_events(preparing, rec.bundle_id)
    assert events.index("run.prestarted") < events.index("change.opened"), "the evidence says Ansible started ahead"


def test_a_kind_prepared_for_another_run_is_undone_and_a_fresh_one_runs(preparing: LocalEstate) -> None:
    early = _prestart(preparing)
    rec = preparing.engine().run(RunRequest(item_id="demo"), early)  # the run chose its own id
    early.close()
    assert rec.status == "succeeded", rec.message
    assert LOG == ["prepare l1,l2,l3 l1+l2+l3", "unprepare", "before fresh"]
    assert "run.prestarted" not in evidence_events(preparing, rec.bundle_id)


def test_a_kind_prepared_for_other_batches_is_undone(preparing: LocalEstate) -> None:
    early = _prestart(preparing)
    preparing.item(rollout=Rollout(batch_size="2", max_errors="0"))
    rec = preparing.engine().run(RunRequest(item_id="demo", run_id=early.run_id), early)
    assert rec.status == "succeeded", rec.message
    assert LOG == ["prepare l1,l2,l3 l1+l2+l3", "unprepare", "before fresh"]


def test_a_refused_change_undoes_the_prepared_kind_before_any_host(preparing: LocalEstate) -> None:
    preparing.item(change=ChangePolicy(type="normal", approval_timeout=timedelta(seconds=1), on_timeout="cancel"))
    early = _prestart(preparing)
    rec = preparing.engine().run(RunRequest(item_id="demo", run_id=early.run_id), early)
    early.close()
    assert rec.status == "cancelled" and "not approved" in rec.message
    assert LOG == ["prepare l1,l2,l3 l1+l2+l3", "unprepare"]
    assert list(preparing.out.iterdir()) == []


def test_a_run_that_never_starts_leaves_the_prestart_to_close(preparing: LocalEstate) -> None:
    early = _prestart(preparing)
    early.close()
    early.close()
    assert LOG == ["prepare l1,l2,l3 l1+l2+l3", "unprepare"], "undone once"


def test_kinds_that_cannot_prepare_are_not_prestarted(estate: LocalEstate) -> None:
    item = estate.catalogue.items[0]
    assert prestart(estate.root, private_subdir(estate.root), estate.catalogue, item, mode="apply",
                    run_id=new_run_id(datetime.now(UTC))) is None
