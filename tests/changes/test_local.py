"""The local backend's own promises: private file, concurrent writers, CLI, settings factory."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.changes import backend_from_settings
from runner.changes.base import ChangeRequest
from runner.changes.local import LocalChangeBackend
from runner.cli import main as cli
from runner.errors import UsageError

T0 = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


def _req(n: int) -> ChangeRequest:
    return ChangeRequest(item_id=f"item{n}", run_id=f"r{n}", type="normal", short_description="s", description="d",
                         hosts=("h1",), planned_start=T0, planned_end=T0 + timedelta(hours=1),
                         requested_by="runner")  # fmt: skip


OPENER = """
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from runner.changes.base import ChangeRequest
from runner.changes.local import LocalChangeBackend

backend = LocalChangeBackend(Path(sys.argv[1]))
t0 = datetime(2026, 11, 28, 22, 0, tzinfo=timezone.utc)
for i in range(20):
    backend.open(ChangeRequest(item_id=f"item{i}", run_id="r", type="normal", short_description="s", description="d",
                               hosts=("h1",), planned_start=t0, planned_end=t0 + timedelta(hours=1), requested_by="x"))
"""


def test_file_is_private_and_shared_by_processes(tmp_path: Path) -> None:
    backend = LocalChangeBackend(tmp_path)
    assert stat.S_IMODE((tmp_path / "changes.db").stat().st_mode) == 0o600
    procs = [subprocess.Popen([sys.executable, "-c", OPENER, str(tmp_path)]) for _ in range(3)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0]
    ids = [r.id for r in backend.list()]
    assert len(ids) == 60 and len(set(ids)) == 60


def test_factory_accepts_settings_object_and_rejects_unknown(tmp_path: Path) -> None:
    from runner.catalogue.model import Settings

    assert backend_from_settings(Settings(), tmp_path).name == "local"
    with pytest.raises(UsageError, match="servicenow"):
        backend_from_settings({"backend": "servicenow"}, tmp_path)


def test_cli_list_show_approve_reject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setattr(cli, "COMMANDS", {"changes": "runner.cli.changes"})
    monkeypatch.delenv("MAINTCTL_STATE_DIR", raising=False)
    (tmp_path / "maintenance").mkdir()
    state = tmp_path / ".maintctl"
    state.mkdir(mode=0o700)
    backend = LocalChangeBackend(state)
    a, b = backend.open(_req(1)).id, backend.open(_req(2)).id
    est = ["--estate", str(tmp_path)]
    assert cli.main([*est, "changes", "approve", a, "--by", "bob", "--note", "CAB ok"]) == 0
    assert cli.main([*est, "changes", "reject", b, "--by", "carol"]) == 0
    assert cli.main([*est, "changes", "approve", b, "--by", "dave"]) == 1  # already decided
    capsys.readouterr()
    assert cli.main([*est, "changes", "list", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[a]["approver"] == "bob" and rows[a]["state"] == "scheduled"
    assert rows[b]["approval"] == "rejected" and rows[b]["state"] == "cancelled"
    assert cli.main([*est, "changes", "list", "--open"]) == 0
    out = capsys.readouterr().out
    assert a in out and b not in out
    assert cli.main([*est, "changes", "show", a]) == 0
    assert "approved by bob: CAB ok" in capsys.readouterr().out
    assert cli.main([*est, "changes", "show", "CHG9999999"]) == 1
    assert "no change record 'CHG9999999'" in capsys.readouterr().err
