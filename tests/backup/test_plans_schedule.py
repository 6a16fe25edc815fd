"""Plan parsing (catalogue mapping -> typed plan, clear errors) and the verification schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.errors import CatalogueError
from runner.kinds.backup.plans import VerifyPolicy, parse_plan
from runner.kinds.backup.schedule import check_subset, restore_due

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_every_nth_run() -> None:
    p = VerifyPolicy(every=3)
    assert [restore_due(p, n) for n in range(1, 8)] == [True, False, False, True, False, False, True]
    assert not any(restore_due(VerifyPolicy(every=0), n) for n in range(1, 5))
    assert restore_due(VerifyPolicy(every=0), 2, forced=True)


def test_interval_schedule() -> None:
    p = VerifyPolicy(min_interval=timedelta(days=7))
    assert restore_due(p, 5, now=T0, last_verified=None)
    assert not restore_due(p, 5, now=T0, last_verified=T0 - timedelta(days=6, hours=23))
    assert restore_due(p, 5, now=T0, last_verified=T0 - timedelta(days=7))


def test_rotating_check_subset_covers_every_slice() -> None:
    p = VerifyPolicy(read_data_rotate=4)
    assert [check_subset(p, n) for n in range(1, 10)] == ["1/4", "2/4", "3/4", "4/4", "1/4", "2/4", "3/4", "4/4", "1/4"]
    assert check_subset(VerifyPolicy(read_data_subset="10%"), 3) == "10%"
    assert check_subset(VerifyPolicy(), 1) is None


def _plan(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "what": {"paths": ["/srv/app"], "postgres": {"databases": ["appdb"], "run_as": "postgres"}},
        "where": {"restic": {"repository": "s3:http://127.0.0.1:9/b", "password_secret": "BK_PW"}},
        "retention": {"keep_daily": 7, "keep_weekly": 4, "keep_within": "2d"},
        "verification": {"every": "7d", "sql_checks": [{"query": "select 1", "expect": 1},
                                                        {"name": "n", "database": "other", "query": "q", "min": 2}],
                         "max_restore_time": "15m", "max_age": "26h", "point": "random"},
    }  # fmt: skip
    base.update(over)
    return base


def test_parse_plan(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BK_PW", "pw-from-env")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    p = parse_plan("main", _plan(), tmp_path, "backup/plans.yml")
    assert p.paths == ("/srv/app",) and p.databases[0].database == "appdb" and p.databases[0].run_as == "postgres"
    assert p.repository is not None and p.repository.password == "pw-from-env"  # noqa: S105
    assert p.repository.secret_env == {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value"}
    assert "s3cr3t" not in p.repository.prefix() and "pw-from-env" not in p.repository.prefix()
    assert p.retention == {"daily": 7, "weekly": 4} and p.keep_within == "48h"
    v = p.verify
    assert v.min_interval == timedelta(days=7) and v.point == "random"
    assert v.max_restore_time == timedelta(minutes=15) and v.max_age == timedelta(hours=26)
    assert [c.expect for c in v.sql_checks["appdb"]] == ["1"] and v.sql_checks["other"][0].min == 2


def test_plan_errors_name_file_and_field(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BK_PW", raising=False)
    with pytest.raises(CatalogueError, match=r"backup/plans.yml: plans.main.where.restic.password_secret: "
                                             r"environment variable BK_PW is not set"):  # fmt: skip
        parse_plan("main", _plan(), tmp_path, "backup/plans.yml")
    with pytest.raises(CatalogueError, match=r"plans.main.where.restic: files and databases"):
        parse_plan("main", _plan(where={"snapshots": {}}), tmp_path, "backup/plans.yml")
    with pytest.raises(CatalogueError, match=r"plans.cloud.where.snapshots: EBS volumes and RDS"):
        cloud = {"what": {"ebs": {"volume_id": "vol-1"}}, "retention": {"keep_last": 1},
                 "where": {"restic": {"repository": "/r", "host_password_file": "/etc/p"}}}  # fmt: skip
        parse_plan("cloud", cloud, tmp_path, "backup/plans.yml")  # fmt: skip


def test_item_naming_an_unknown_plan(tmp_path: Path) -> None:
    from runner.catalogue.model import Catalogue, Item, Location, Targets
    from runner.kinds.backup.plans import plan_for_item

    item = Item(
        id="b",
        kind="backup",
        targets=Targets(hosts=("h",)),
        window="w",
        expected_duration=timedelta(1),
        settings={"plan": "nope"},
        location=Location(file="maintenance/items.yml", line=7, column=3),
    )
    cat = Catalogue(root=str(tmp_path), windows={}, freezes=(), items=(item,))
    with pytest.raises(CatalogueError, match=r"maintenance/items.yml:7:3: items.b.backup.plan: no backup plan named"):
        plan_for_item(cat, item)
