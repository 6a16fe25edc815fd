"""Session fixtures shared by every test area.

`lab`: the lab of real hosts (tests/lab). Started once per session if it is not already up, shared with
other sessions running at the same time (each registers in tests/lab/run/.users/), and stopped at the end
only by the session that started it and only when no other session still uses it. LAB_KEEP=1 leaves it up.
"""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

LAB_DIR = Path(__file__).resolve().parent / "lab"
if str(LAB_DIR) not in sys.path:
    sys.path.insert(0, str(LAB_DIR))

from labkit.config import RUN_DIR  # noqa: E402  (honours LAB_INSTANCE)
from labkit.handle import Lab  # noqa: E402

from runner.state.base import StateStore  # noqa: E402
from tests.state.pgcluster import fresh_database, pg_cluster  # noqa: E402


def _lab_sh(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MAINTCTL_LAB_SELF=str(os.getpid()))  # our own registration does not count
    return subprocess.run(["bash", str(LAB_DIR / "lab.sh"), *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The running lab (see tests/lab/README.md): hosts, addresses, SSH files, URLs, helpers."""
    if os.geteuid() != 0:
        pytest.fail("the lab needs root (network namespaces, mounts); run the lab tests as root")
    # Register before looking, so a session finishing meanwhile does not take the lab down under us.
    users = RUN_DIR / ".users"
    users.mkdir(parents=True, exist_ok=True)
    me = users / str(os.getpid())
    me.write_text("pytest\n")
    started = False
    if _lab_sh("status").returncode != 0:
        up = _lab_sh("up")
        if up.returncode != 0:
            me.unlink(missing_ok=True)
            pytest.fail(f"lab up failed:\n{up.stderr[-4000:]}")
        started = True
    try:
        yield Lab.load(RUN_DIR / "lab.json")
    finally:
        me.unlink(missing_ok=True)
        others = [p for p in users.iterdir() if p.name.isdigit() and _alive(int(p.name))]
        if started and not others and os.environ.get("LAB_KEEP") != "1":
            _lab_sh("down")


@pytest.fixture
def lab_env(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> Lab:
    """The lab, with AWS_* (moto) and LAB_* variables set in os.environ for the test."""
    for key, value in lab.env().items():
        monkeypatch.setenv(key, value)
    return lab


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# The state store on both backends, for the contract suite and every kind store built on it. Defined here,
# once, so that one session starts one throwaway PostgreSQL cluster however many folders use it.
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
