"""Change-record backends under test: every implementation runs the same contract suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.changes import backend_from_settings
from runner.changes.base import ChangeBackend

BACKENDS = ["local"]  # servicenow and jira join here (marked) when they exist


class Reviewer:
    """Approves or rejects on a backend the way a human would (through the backend's own UI/API)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def approve(self, change_id: str, by: str) -> None:
        self.backend.approve(change_id, by)

    def reject(self, change_id: str, by: str) -> None:
        self.backend.reject(change_id, by)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChangeBackend]:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    yield backend_from_settings({"backend": request.param}, state)


@pytest.fixture()
def reviewer(backend: ChangeBackend) -> Reviewer:
    return Reviewer(backend)
