"""`maintctl plan` end to end on a small estate written to a temporary folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner.cli.plan import parse_when, resolve_range
from runner.errors import UsageError

WINDOWS = """\
windows:
  nightly:
    cron: "0 1 * * *"
    timezone: Europe/Berlin
    duration: 2h
    cutoff: 30m
  drift:
    cron: "30 0 * * *"
    timezone: UTC
    duration: 1h
"""
FREEZES = """\
freezes:
  new-year:
    reason: holidays
    ranges:
      - start: "2026-12-31T00:00:00+00:00"
        end: "2027-01-02T00:00:00+00:00"
"""
ITEMS = """\
items:
  - id: backup-web
    kind: backup
    targets: {groups: [web]}
    window: nightly
    expected_duration: 2h
    backup: {plan: p1}
  - id: drift-web
    kind: drift
    targets: {hosts: ["web1"]}
    window: drift
    expected_duration: 10m
    drift: {playbooks: [drift.yml]}
"""
PLANS = """\
plans:
  p1:
    what: {paths: [/etc]}
    where: {restic: {repository: /srv/restic, password_secret: RP}}
    retention: {keep_daily: 7}
"""
INVENTORY = """\
all:
  children:
    web:
      hosts:
        web1:
        web2:
"""


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    for sub in ("maintenance", "backup", "patching", "inventory"):
        (tmp_path / sub).mkdir()
    (tmp_path / "maintenance" / "windows.yml").write_text(WINDOWS)
    (tmp_path / "maintenance" / "freezes.yml").write_text(FREEZES)
    (tmp_path / "maintenance" / "items.yml").write_text(ITEMS)
    (tmp_path / "backup" / "plans.yml").write_text(PLANS)
    (tmp_path / "inventory" / "hosts.yml").write_text(INVENTORY)
    return tmp_path


def _run(estate: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner.cli.main", "--estate", str(estate), "plan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_text_plan(estate: Path) -> None:
    done = _run(estate, "--from", "2026-12-30", "--to", "2027-01-01")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "backup-web (backup) window nightly, 2 host(s), 3 occurrence(s)" in out
    assert "2026-12-31 01:00 +0100 Europe/Berlin" in out and "2026-12-31 00:00Z" in out
    assert "TOO-SHORT" in out and "FROZEN (new-year)" in out and "OVERLAP with drift-web" in out


def test_json_and_strict(estate: Path) -> None:
    done = _run(estate, "--from", "2026-12-30T00:00:00Z", "--to", "2027-01-01", "--json", "--strict")
    assert done.returncode == 2  # conflicts with --strict
    doc = json.loads(done.stdout)
    assert doc["version"] == 1 and doc["has_conflicts"] is True
    first = doc["items"][0]
    assert first["id"] == "backup-web" and first["hosts"] == ["web1", "web2"]
    assert first["occurrences"][0]["utc_start"] == "2026-12-30T00:00:00+00:00"
    assert doc["conflicts"]["overlaps"][0]["hosts"] == ["web1"]


def test_ics_file(estate: Path, tmp_path: Path) -> None:
    target = tmp_path / "plan.ics"
    done = _run(estate, "--from", "2026-12-30", "--to", "2026-12-31", "--item", "drift-web", "--ics", str(target))
    assert done.returncode == 0, done.stderr
    data = target.read_bytes()
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.count(b"BEGIN:VEVENT") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "yesterday"], "--from 'yesterday': expected YYYY-MM-DD"),
        (["--from", "2026-02-30"], "--from '2026-02-30'"),
        (["--from", "2027-01-02", "--to", "2027-01-01"], "must be after"),
        (["--item", "nope"], "unknown item 'nope'"),
    ],
)
def test_bad_arguments_exit_2_without_traceback(estate: Path, args: list[str], message: str) -> None:
    done = _run(estate, *args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_dates() -> None:
    assert parse_when("2026-03-29", "--from").isoformat() == "2026-03-29T00:00:00+00:00"
    assert parse_when("2026-03-29", "--to", end_of_day=True).isoformat() == "2026-03-30T00:00:00+00:00"
    assert parse_when("2026-03-29T02:30+02:00", "--from").isoformat() == "2026-03-29T02:30:00+02:00"
    assert parse_when("2026-03-29T02:30", "--from").isoformat() == "2026-03-29T02:30:00+00:00"
    lo, hi = resolve_range(None, None, parse_when("2026-01-01", "x"))
    assert (hi - lo).days == 14
    with pytest.raises(UsageError):
        parse_when("03/29/2026", "--from")


def test_summary(estate: Path) -> None:
    done = _run(estate, "--from", "2026-12-30", "--to", "2027-01-01", "--summary")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    row = next(line for line in lines if line.startswith("backup-web"))
    assert row.split()[:5] == ["backup-web", "backup", "nightly", "2", "3"]
    assert "FROZEN x2" in row and "OVERLAP x3" in row and "TOO-SHORT x3" in row
    assert "Overlapping item pairs: 1; windows that never fire: 0" in lines
