from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _venv_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # ansible-runner shells out to ansible-playbook from the venv.
    bindir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", bindir + ":" + os.environ.get("PATH", ""))


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from drift_helpers import start_moto

    proc, endpoint = start_moto(Path(sys.executable).parent)
    try:
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A clean moto account for one test; AWS_ENDPOINT_URL points boto3 at it."""
    import urllib.request

    reset = urllib.request.Request(moto_endpoint + "/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(reset, timeout=5)  # noqa: S310 - the local test server
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield moto_endpoint
