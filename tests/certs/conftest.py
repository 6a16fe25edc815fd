"""Fixtures for the certificate tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from certs_acme import Pebble, start_pebble  # noqa: E402


@pytest.fixture(scope="session")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    """pebble validating challenges for real (HTTP-01 against our webroot, DNS-01 via challtestsrv)."""
    yield from start_pebble(tmp_path_factory.mktemp("pebble"), always_valid=False)


@pytest.fixture(scope="session")
def pebble_always_valid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    """pebble with PEBBLE_VA_ALWAYS_VALID=1 (validation skipped; exercises the protocol only)."""
    yield from start_pebble(tmp_path_factory.mktemp("pebble-av"), always_valid=True)
