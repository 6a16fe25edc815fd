"""Fixtures for patch tests: ``store_spec`` opens the estate's state store on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.state.conftest import pg_dsn, store_spec  # noqa: F401 - fixtures, shared with the state contract
