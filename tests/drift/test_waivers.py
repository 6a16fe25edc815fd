from __future__ import annotations

from datetime import UTC, date, datetime

from runner.kinds.drift.findings import Finding
from runner.kinds.drift.settings import Waiver
from runner.kinds.drift.waivers import apply, matches, unused


def f(target: str, check: str, status: str = "drift", source: str = "ansible") -> Finding:
    return Finding(item="i", source=source, target=target, check=check, status=status)  # type: ignore[arg-type]


W = Waiver(id="W-1", justification="vendor hotfix", expires=date(2026, 12, 31), host="web2", task="app.conf")


def test_live_waiver_hides_only_its_finding() -> None:
    out = apply([f("web2", "app.conf"), f("web1", "app.conf"), f("web2", "other")], [W], date(2026, 12, 1))
    assert [x.status for x in out] == ["waived", "drift", "drift"]
    assert out[0].note == "waived by W-1 until 2026-12-31: vendor hotfix" and out[0].waiver == "W-1"


def test_expiry_day_is_inclusive_and_expired_waiver_says_so() -> None:
    assert apply([f("web2", "app.conf")], [W], datetime(2026, 12, 31, 23, 59, tzinfo=UTC))[0].status == "waived"
    out = apply([f("web2", "app.conf")], [W], date(2027, 1, 1))[0]
    assert out.status == "drift"
    assert out.note.startswith("waiver expired on 2026-12-31")


def test_unknown_and_unmanaged_can_be_waived_errors_and_in_sync_cannot() -> None:
    any_host = Waiver(id="W-2", justification="j", expires=date(2030, 1, 1), task="reload")
    res = Waiver(id="W-3", justification="j", expires=date(2030, 1, 1), resource="s3://legacy-*")
    found = [
        f("web1", "reload", "unknown"),
        f("web2", "reload", "error"),
        f("web3", "reload", "in_sync"),
        f("s3://legacy-logs", "managed", "unmanaged", "aws"),
        f("s3://new", "managed", "unmanaged", "aws"),
    ]
    assert [x.status for x in apply(found, [any_host, res], date(2026, 1, 1))] == [
        "waived",
        "error",
        "in_sync",
        "waived",
        "unmanaged",
    ]


def test_matching_rules() -> None:
    assert not matches(Waiver(id="x", justification="j", expires=date(2030, 1, 1)), f("web1", "t"))
    assert matches(Waiver(id="x", justification="j", expires=date(2030, 1, 1), host="web*"), f("web1", "t"))
    aws = Waiver(id="x", justification="j", expires=date(2030, 1, 1), resource="s3://b", check="versioning")
    assert matches(aws, f("s3://b", "versioning", source="aws"))
    assert not matches(aws, f("s3://b", "encryption", source="aws"))
    assert not matches(aws, f("s3://b", "versioning"))  # a resource waiver never hides a host finding


def test_unused_waivers_are_listed() -> None:
    out = apply(
        [f("web2", "app.conf")],
        [W, Waiver(id="W-9", justification="j", expires=date(2030, 1, 1), host="db1")],
        date(2026, 1, 1),
    )
    assert unused(out, [W, Waiver(id="W-9", justification="j", expires=date(2030, 1, 1), host="db1")]) == ["W-9"]
