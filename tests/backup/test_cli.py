"""``maintctl backup list | status | restore-test`` on a real estate folder with local hosts."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import pytest

from runner.cli import backup as cli

ITEMS = """
items:
  - id: app-files
    kind: backup
    targets: {hosts: [h1]}
    window: nightly
    expected_duration: 10m
    change: {type: none}
    backup: {plan: app}
"""


def _estate(tmp: Path) -> Path:
    root = tmp / "estate"
    for d in ("maintenance", "backup", "inventory"):
        (root / d).mkdir(parents=True)
    (root / "maintenance" / "windows.yml").write_text(
        'windows:\n  nightly:\n    cron: "30 1 * * *"\n    timezone: UTC\n    duration: 2h\n'
    )
    (root / "maintenance" / "items.yml").write_text(ITEMS)
    data = tmp / "srv" / "app"
    data.mkdir(parents=True)
    (data / "a.txt").write_text("a\n")
    (data / "b.bin").write_bytes(os.urandom(30_000))
    (root / "restic.pass").write_text("cli-canary-pw-2024\n")
    (root / "backup" / "plans.yml").write_text(f"""
plans:
  app:
    what: {{paths: ["{data}"]}}
    where: {{restic: {{repository: "{tmp / "repo"}", password_file: restic.pass}}}}
    retention: {{keep_daily: 3}}
    verification: {{every: 1, read_data_rotate: 1, restore_to: {{host: h2, path: "{tmp / "scratch"}"}}}}
""")
    (root / "inventory" / "hosts.yml").write_text(
        "all:\n  hosts:\n    h1: {ansible_connection: local}\n    h2: {ansible_connection: local}\n"
    )
    return root


def _cli(root: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--estate")
    sub = parser.add_subparsers()
    cli.register(sub)
    args = parser.parse_args(["--estate", str(root), *argv])
    rc: int = args.func(args)
    return rc


def _backup_once(root: Path) -> None:
    from runner.catalogue.loader import load_catalogue
    from runner.engine.kind import RunContext
    from runner.evidence.recorder import open_recorder
    from runner.kinds.backup.runner import BackupRunner

    cat = load_catalogue(root)
    item = cat.item("app-files")
    rec = open_recorder(root)
    bundle = rec.open_bundle(run_id="r", item_id=item.id, occurrence="o", asked={})
    ctx = RunContext(
        run_id="r",
        item=item,
        catalogue=cat,
        estate_root=str(root),
        state_dir=str(root / ".maintctl"),
        occurrence="o",
        bundle_id=bundle,
        evidence=rec,
        hosts=["h1", "h2"],
        deadline=None,
    )
    kind = BackupRunner()
    kind.before(ctx)
    [res] = kind.run_batch(ctx, ["h1"])
    assert res.status == "changed", res.message
    kind.after(ctx, [res])
    rec.close_bundle(bundle, outcome="succeeded", summary={})


def test_list_status_restore_test(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _estate(tmp_path)
    assert _cli(root, "backup", "restore-test", "app-files") == 1  # nothing backed up yet: loud
    assert "FAIL h1: repository check: restic check failed" in capsys.readouterr().out
    _backup_once(root)
    assert _cli(root, "backup", "list") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["ITEM", "PLAN", "LAST"] and "app-files" in out
    assert _cli(root, "backup", "restore-test", "app-files", "--point", "random") == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS files from h1 restored on h2: snapshot ") and "(random)" in out
    assert _cli(root, "backup", "status", "app-files", "--json") == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["plan"] == "app" and row["last_verified_restore"]["restore_host"] == "h2"
    assert row["last_check"]["subset"] == "1/1" and row["runs"] == 1
    assert list((tmp_path / "scratch").iterdir()) == []


def test_restore_test_names_damaged_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _estate(tmp_path)
    _backup_once(root)
    packs = [p for p in (tmp_path / "repo" / "data").rglob("*") if p.is_file()]
    victim = max(packs, key=lambda p: p.stat().st_size)
    victim.chmod(0o600)
    with victim.open("r+b") as fh:
        fh.seek(50)
        fh.write(b"\x00garbage\x00")
    assert _cli(root, "backup", "restore-test", "app-files", "--json") == 1
    res: dict[str, Any] = json.loads(capsys.readouterr().out)
    [host] = res["results"]
    assert host["status"] == "failed" and victim.name in host["message"]


def test_unknown_item_is_a_usage_error(tmp_path: Path) -> None:
    from runner.errors import UsageError

    with pytest.raises(UsageError, match="not a backup item: nope"):
        _cli(_estate(tmp_path), "backup", "status", "nope")


def test_status_after_an_upgrade_shows_what_the_earlier_version_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.backup.test_store import _legacy

    for var in ("MAINTCTL_STATE_DIR", "MAINTCTL_STATE_DB", "MAINTCTL_STATE_DSN"):
        monkeypatch.delenv(var, raising=False)
    root = _estate(tmp_path)
    _legacy(root / ".maintctl", item="app-files")
    assert _cli(root, "backup", "status", "app-files", "--json") == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["runs"] == 5 and row["last_backup"]["snapshot_id"] == "snap0003"
    assert row["last_verified_restore"]["restore_host"] == "h2" and row["last_check"]["subset"] == "1/3"
    assert sorted(p.name for p in (root / ".maintctl").iterdir() if "backup" in p.name) == ["backup.sqlite.imported"]
