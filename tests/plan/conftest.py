from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runner.catalogue.model import Catalogue, Freeze, FreezeRange, Inventory, Item, Targets, Window

HOUR = timedelta(hours=1)


def item(
    item_id: str,
    window: str,
    *,
    groups: tuple[str, ...] = (),
    hosts: tuple[str, ...] = (),
    expected: timedelta = timedelta(minutes=30),
    emergency: bool = False,
    enabled: bool = True,
) -> Item:
    return Item(
        id=item_id,
        kind="patch",
        targets=Targets(groups=groups, hosts=hosts),
        window=window,
        expected_duration=expected,
        emergency=emergency,
        enabled=enabled,
    )


@pytest.fixture
def catalogue() -> Catalogue:
    windows = {
        "nightly": Window(
            name="nightly", timezone="Europe/Berlin", cron="0 1 * * *", duration=2 * HOUR, cutoff=timedelta(minutes=30)
        ),
        "late": Window(name="late", timezone="UTC", cron="30 0 * * *", duration=HOUR),  # 00:30Z overlaps 01:00 Berlin
        "noon": Window(name="noon", timezone="UTC", cron="0 12 * * *", duration=HOUR),
        "feb30": Window(name="feb30", timezone="UTC", cron="0 2 30 2 *", duration=HOUR),
    }
    freezes = (
        Freeze(
            name="new-year",
            reason="holidays",
            ranges=(FreezeRange(start=datetime(2026, 12, 31, tzinfo=UTC), end=datetime(2027, 1, 2, tzinfo=UTC)),),
        ),
        Freeze(name="db-sundays", groups=("db",), cron="0 0 * * 0", timezone="Europe/Berlin", duration=24 * HOUR),
    )
    items = (
        item("web-patch", "nightly", groups=("web",)),
        item("web-drift", "late", hosts=("web1",)),
        item("db-backup", "nightly", hosts=("db*",), expected=2 * HOUR),
        item("db-emergency", "noon", groups=("db",), emergency=True),
        item("lonely", "noon", hosts=("cache1",)),
        item("never", "feb30", groups=("web",)),
        item("off", "nightly", groups=("web",), enabled=False),
    )
    inventory = Inventory(groups={"web": ("web1", "web2"), "db": ("db1", "db2"), "cache": ("cache1",)})
    return Catalogue(root=".", windows=windows, freezes=freezes, items=items, inventory=inventory)
