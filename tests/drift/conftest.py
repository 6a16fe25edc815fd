from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _venv_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # ansible-runner shells out to ansible-playbook from the venv.
    bindir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", bindir + ":" + os.environ.get("PATH", ""))
