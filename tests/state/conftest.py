"""State store fixtures: one ``store_factory`` per implementation, the contract suite runs over all."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.state.base import StateStore

from .pgcluster import fresh_database, pg_cluster

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A PostgreSQL server: MAINTCTL_TEST_PG_DSN if set, else a throwaway cluster for the session."""
    given = os.environ.get("MAINTCTL_TEST_PG_DSN")
    if given:
        yield given
        return
    with pg_cluster() as dsn:
        yield dsn


StoreSpec = tuple[Callable[[], StateStore], str]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> StoreSpec:
    """(factory, location): the factory opens another connection to the same store (for races)."""
    if request.param == "sqlite":
        from runner.state.sqlite import SQLiteStateStore

        path = str(tmp_path / "state.db")
        return (lambda: SQLiteStateStore(path)), path
    dsn = request.getfixturevalue("pg_dsn")
    if os.environ.get("MAINTCTL_TEST_PG_DSN"):
        db_dsn = dsn  # a given server: use its database as it is, tables are created if missing
        _truncate(db_dsn)
    else:
        db_dsn = fresh_database(dsn, f"t{os.getpid()}_{next(_counter)}")
    from runner.state.postgres import PostgresStateStore

    return (lambda: PostgresStateStore(db_dsn)), db_dsn


def _truncate(dsn: str) -> None:
    from runner.state.postgres import PostgresStateStore

    PostgresStateStore(dsn).close()
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE runs, batches, hosts, steps, leases, facts, fact_log, fact_counters")


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
