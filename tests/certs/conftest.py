"""Fixtures for the certificate tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from certs_acme import Pebble, free_port, start_pebble, wait_port  # noqa: E402


@pytest.fixture(scope="session")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    """pebble validating challenges for real (HTTP-01 against our webroot, DNS-01 via challtestsrv)."""
    yield from start_pebble(tmp_path_factory.mktemp("pebble"), always_valid=False)


@pytest.fixture(scope="session")
def pebble_always_valid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    """pebble with PEBBLE_VA_ALWAYS_VALID=1 (validation skipped; exercises the protocol only)."""
    yield from start_pebble(tmp_path_factory.mktemp("pebble-av"), always_valid=True)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
