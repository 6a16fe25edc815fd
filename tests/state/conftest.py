"""State store fixtures: one ``store_factory`` per implementation, the contract suite runs over all."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from typing import Any

import pytest

from runner.state.base import StateStore
from tests.conftest import StoreSpec


@pytest.fixture
def store(store_spec: StoreSpec) -> Iterator[StateStore]:
    s = store_spec[0]()
    yield s
    s.close()


def race(spec: StoreSpec, target: Any, racers: int = 4) -> list[Any]:
    """Run ``target(spec, barrier, n, out)`` in ``racers`` processes released at once (each opens its own
    connection); return what they put on ``out``, having checked that none reported an error."""
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(racers), ctx.Queue()
    procs = [ctx.Process(target=target, args=(spec, barrier, n, out)) for n in range(racers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [r for r in results if r[0] == "error"] == []
    return results
