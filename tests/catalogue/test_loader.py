"""load_catalogue and validate_path: the model, every problem at once, cross-references, the cache."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from runner.catalogue.inventory import expand_hosts, load_inventory
from runner.catalogue.loader import check_path, load_catalogue, validate_path
from runner.cli.main import main
from runner.errors import CatalogueError, UsageError

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "tests" / "data" / "bad" / "_base"


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MAINTCTL_STATE_DIR", str(tmp_path / "state"))
    root = tmp_path / "estate"
    shutil.copytree(BASE, root)
    return root


def test_example_estate_validates(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                  tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.setenv("MAINTCTL_STATE_DIR", str(tmp_path / "state"))
    assert main(["validate", str(REPO)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: ") and " windows, " in out and " items in " in out


def test_example_estate_model() -> None:
    cat = load_catalogue(REPO)
    patch = cat.windows["patch-tuesday-plus-4"]
    assert patch.rrule is not None and "BYDAY=+2TU" in patch.rrule
    assert (patch.offset_days, patch.timezone) == (4, "Europe/Berlin")
    assert (patch.duration, patch.cutoff) == (timedelta(hours=3), timedelta(minutes=30))
    assert {i.kind for i in cat.items} == {"patch", "backup", "certificate", "drift"}
    assert any(f.name == "year-end" and f.duration == timedelta(days=15) for f in cat.freezes)
    assert set(cat.inventory.groups["web"]) == {"web1", "web2"} and cat.inventory.groups["db"] == ("db1",)
    for item in cat.items:
        assert item.window in cat.windows
        assert item.location.file == "maintenance/items.yml" and item.location.line > 0
    for source in cat.files:
        assert source.sha256 == hashlib.sha256((REPO / source.path).read_bytes()).hexdigest()


def test_model_fields_and_defaults(estate: Path) -> None:
    (estate / "maintenance" / "freezes.yml").write_text(
        "freezes:\n  move:\n    groups: [db]\n    timezone: Europe/Berlin\n"
        "    ranges:\n      - {start: 2027-03-05, end: \"2027-03-08T06:00:00+01:00\"}\n"
    )
    cat = load_catalogue(estate)
    item = cat.item("patch-web")
    assert item.targets.groups == ("web",) and item.settings == {"baseline": "stable"}
    assert item.rollout.batch_size == "100%" and item.change.type == "standard" and item.enabled
    assert item.location.line == 2
    window = cat.windows["weekly"]
    assert window.location.line == 2 and window.max_start_delay == timedelta(minutes=15)
    assert cat.windows["nightly"].cron == "30 1 * * *"
    (freeze,) = cat.freezes
    assert freeze.ranges[0].start == datetime(2027, 3, 5, tzinfo=ZoneInfo("Europe/Berlin"))
    assert freeze.ranges[0].end.utcoffset() == timedelta(hours=1)
    assert cat.baselines["stable"].settings["approve_after_days"] == 0
    assert cat.plans["db"].settings["retention"] == {"keep_daily": 7}
    with pytest.raises(KeyError):
        cat.item("nope")


def test_every_problem_of_every_file_is_reported(estate: Path) -> None:
    (estate / "maintenance" / "windows.yml").write_text(
        "windows:\n  weekly:\n    cron: 0 2 * * *\n    timezone: Nowhere/City\n    duration: 1h\n    cutoff: 2h\n"
        "  nightly:\n    cron: 99 1 * * *\n    timezone: UTC\n    duration: 2h\n    start_date: 2026-02-30\n"
    )
    (estate / "patching" / "baselines.yml").write_text("baselines:\n  stable:\n    package_manager: pacman\n")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(estate)
    where = [(p.file, p.line, p.path) for p in info.value.problems]
    assert ("maintenance/windows.yml", 4, "windows.weekly.timezone") in where
    assert ("maintenance/windows.yml", 6, "windows.weekly.cutoff") in where
    assert ("maintenance/windows.yml", 8, "windows.nightly.cron") in where
    assert ("maintenance/windows.yml", 11, "windows.nightly.start_date") in where
    assert ("patching/baselines.yml", 3, "baselines.stable.package_manager") in where
    assert info.value.exit_code == 2
    assert "5 problems found" in str(info.value)


def test_references_are_checked_across_files(estate: Path) -> None:
    items = estate / "maintenance" / "items.yml"
    items.write_text(items.read_text().replace("window: nightly", "window: monthly").replace("[web]", "[web, dbs]"))
    problems = validate_path(estate)
    assert [(p.path, p.message) for p in problems] == [
        ("items[0].targets.groups[1]", "unknown inventory group 'dbs'; did you mean 'db'?"),
        ("items[1].window", "unknown window 'monthly' (2 declared, none close)"),
    ]


def test_validate_a_file_or_folder_inside_an_estate_keeps_its_own_problems(estate: Path) -> None:
    (estate / "patching" / "baselines.yml").write_text("baselines:\n  other:\n    package_manager: apt\n")
    everything = validate_path(estate)
    assert {p.file for p in everything} == {"maintenance/items.yml"}  # unknown baseline 'stable'
    assert validate_path(estate / "patching") == []
    assert validate_path(estate / "patching" / "baselines.yml") == []
    assert [p.path for p in validate_path(estate / "maintenance" / "items.yml")] == ["items[0].patch.baseline"]


def test_validate_a_loose_file_checks_schema_and_rules_only(tmp_path: Path) -> None:
    loose = tmp_path / "windows.yml"
    loose.write_text("windows:\n  w:\n    cron: 0 2 * * *\n    timezone: UTC\n    duration: 1h\n")
    result = check_path(loose)
    assert result.problems == [] and not result.cross_checked
    loose.write_text("items:\n  - {id: a, kind: patch, targets: {groups: [x]}, window: none, expected_duration: 1h,"
                     " patch: {baseline: b}}\n")  # fmt: skip
    assert validate_path(loose) == []  # references cannot be checked without an estate
    plans = tmp_path / "plans.yml"
    plans.write_text("plans:\n  p: {what: {paths: [/x]}, where: {path: /y}, retention: {keep_last: 1}}\n")
    assert [p.path for p in validate_path(plans)] == ["plans.p.where.path"]


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        validate_path(tmp_path / "nope")


def test_hidden_files_and_state_folder_are_ignored(estate: Path) -> None:
    (estate / "maintenance" / ".draft.yml").write_text("garbage: [\n")
    (estate / "maintenance" / ".maintctl").mkdir()
    (estate / "maintenance" / ".maintctl" / "x.yml").write_text("garbage: [\n")
    (estate / "maintenance" / "notes.txt").write_text("not yaml: [\n")
    assert validate_path(estate) == []


def test_cache_gives_the_same_catalogue_and_is_private(estate: Path, tmp_path: Path) -> None:
    cold = load_catalogue(estate)
    folder = tmp_path / "state" / "cache" / "catalogue"
    entries = sorted(folder.iterdir())
    assert sorted(e.name.split("-")[0] for e in entries) == [
        "backup", "inventory", "maintenance", "maintenance", "maintenance", "patching",
    ]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(e.stat().st_mode) == 0o600 for e in entries)
    warm = load_catalogue(estate)
    assert warm == cold


def test_warm_load_does_not_import_the_yaml_parser(estate: Path, tmp_path: Path) -> None:
    """A catalogue read from the cache skips PyYAML's and croniter's imports (a noticeable part of a short
    command; croniter's runs a `file` process)."""
    load_catalogue(estate)
    code = (
        "import sys; from pathlib import Path; from runner.catalogue.loader import load_catalogue; "
        f"load_catalogue(Path({str(estate)!r})); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('yaml', 'croniter')))"
    )
    env = {**os.environ, "MAINTCTL_STATE_DIR": str(tmp_path / "state")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "[]"


def test_cached_files_still_get_reference_errors(estate: Path) -> None:
    assert validate_path(estate) == []
    windows = estate / "maintenance" / "windows.yml"
    windows.write_text(windows.read_text().replace("nightly:", "nocturnal:"))
    problems = validate_path(estate)  # items.yml comes from the cache, its reference is checked again
    assert [(p.file, p.path) for p in problems] == [("maintenance/items.yml", "items[1].window")]
    assert problems[0].line == 14


def test_changed_file_is_not_taken_from_the_cache(estate: Path) -> None:
    assert validate_path(estate) == []
    items = estate / "maintenance" / "items.yml"
    items.write_text(items.read_text().replace("expected_duration: 1h", "expected_duration: 1 hour"))
    assert [p.path for p in validate_path(estate)] == ["items[0].expected_duration"]


def test_cache_can_be_turned_off(estate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAINTCTL_NO_CACHE", "1")
    load_catalogue(estate)
    assert not (tmp_path / "state" / "cache").exists()


def test_ini_inventory_with_children_vars_and_ranges(tmp_path: Path) -> None:
    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory" / "hosts").write_text(
        "# lab\nbastion ansible_host=10.0.0.1\n\n[web]\nweb[01:03] ansible_user=root\n\n[db]\ndb1\n\n"
        "[prod:children]\nweb\ndb\n\n[prod:vars]\nenv=prod\n"
    )
    problems: list = []
    inventory, _ = load_inventory(tmp_path, problems)
    assert problems == [] and inventory is not None
    assert inventory.groups["web"] == ("web01", "web02", "web03")
    assert set(inventory.groups["prod"]) == {"web01", "web02", "web03", "db1"}
    assert inventory.groups["ungrouped"] == ("bastion",)
    assert set(inventory.groups["all"]) == {"bastion", "web01", "web02", "web03", "db1"}
    assert inventory.hostvars["web02"]["ansible_user"] == "root"


def test_yaml_inventory_nested_children_and_vault_values(tmp_path: Path) -> None:
    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory" / "hosts.yml").write_text(
        "all:\n  children:\n    lab:\n      children:\n        web:\n          hosts:\n            web[1:2]:\n"
        "        db:\n          hosts:\n            db1:\n              password: !vault |\n"
        "                $ANSIBLE_VAULT;1.1;AES256\n                6162\n"
    )
    problems: list = []
    inventory, files = load_inventory(tmp_path, problems)
    assert problems == [] and inventory is not None and len(files) == 1
    assert set(inventory.groups["lab"]) == {"web1", "web2", "db1"}
    assert inventory.hostvars["db1"]["password"] == "!vault value"  # noqa: S105 - an opaque marker, not a secret


def test_expand_hosts() -> None:
    assert expand_hosts("web[1:3].lab") == ["web1.lab", "web2.lab", "web3.lab"]
    assert expand_hosts("db[08:10]") == ["db08", "db09", "db10"]
    assert expand_hosts("plain") == ["plain"]


def test_window_with_dates_and_inclusive_end(estate: Path) -> None:
    windows = estate / "maintenance" / "windows.yml"
    windows.write_text(windows.read_text() + "  once:\n    cron: 0 4 * * *\n    timezone: UTC\n    duration: 1h\n"
                       "    start_date: 2027-01-01\n    end_date: 2027-01-01\n")  # fmt: skip
    cat = load_catalogue(estate)
    assert cat.windows["once"].start_date == date(2027, 1, 1) == cat.windows["once"].end_date


def test_validate_command_imports_nothing_heavy() -> None:
    code = (
        "import argparse, sys, runner.cli.validate as v; v.register(argparse.ArgumentParser().add_subparsers()); "
        "print(sorted(n for n in ('yaml', 'jsonschema', 'jsonschema_rs', 'dateutil', 'croniter') if n in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert "yaml" not in out and "jsonschema" not in out, out
