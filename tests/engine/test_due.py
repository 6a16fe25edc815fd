"""`run --due` / `serve` passes: run what is open, record what was missed since the previous pass."""

from __future__ import annotations

from datetime import timedelta

from runner.engine.due import due_pass

from .conftest import T_OPEN, LocalEstate


def test_due_pass_runs_open_occurrences_once(estate: LocalEstate) -> None:
    engine = estate.engine()
    (first,) = due_pass(engine, estate.clock())
    assert first.run is not None and first.run.status == "succeeded"
    assert due_pass(engine, estate.clock()) == []  # already ran: nothing to do


def test_first_pass_records_nothing_then_downtime_is_recorded_as_missed(estate: LocalEstate) -> None:
    engine = estate.engine()
    estate.clock.set(T_OPEN - timedelta(hours=1))  # before the window: nothing due, nothing missed
    assert due_pass(engine, estate.clock()) == []
    assert engine.store.list_runs() == []
    # the runner was down for two days: only occurrences since the previous pass (max 24 h) are missed
    estate.clock.set(T_OPEN + timedelta(days=2, hours=-1))
    assert due_pass(engine, estate.clock()) == []
    missed = engine.store.list_runs()
    assert [r.status for r in missed] == ["missed"]
    assert missed[0].occurrence.startswith("nightly@2026-03-11T02:00")
    assert list(estate.out.iterdir()) == []  # never caught up


def test_disabled_items_are_not_run(estate: LocalEstate) -> None:
    estate.item(enabled=False)
    assert due_pass(estate.engine(), estate.clock()) == []
