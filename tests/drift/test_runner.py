"""The drift kind through the engine's contract: real local-connection hosts, a real evidence ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from drift_helpers import app_conf, catalogue_for, drift_item, local_estate

from runner.engine.kind import RunContext
from runner.kinds import REGISTRY

HOSTS = ["h1", "h2", "h3"]


def make_ctx(tmp: Path, mode: str, waivers: list[dict[str, Any]] | None = None, remediate: bool = False) -> RunContext:
    from runner.evidence.recorder import open_recorder

    root = local_estate(tmp, HOSTS)
    item = drift_item("app-drift", {"playbooks": ["drift-app.yml"], "waivers": waivers or [], "remediate": remediate})
    cat = catalogue_for(root, [item], {"all": tuple(HOSTS)})
    recorder = open_recorder(root)
    bundle = recorder.open_bundle(run_id="r1", item_id=item.id, occurrence="now", asked={"why": "test"})
    return RunContext(
        run_id="r1",
        item=item,
        catalogue=cat,
        estate_root=str(root),
        state_dir=str(root / ".maintctl"),
        occurrence="now",
        bundle_id=bundle,
        evidence=recorder,
        hosts=HOSTS,
        deadline=None,
        mode=mode,  # type: ignore[arg-type]
        options={"now": datetime(2026, 11, 24, tzinfo=UTC)},
    )


def kind() -> Any:
    import importlib

    module, cls = REGISTRY["drift"].split(":")
    return getattr(importlib.import_module(module), cls)()


def ledger_events(ctx: RunContext) -> list[dict[str, Any]]:
    from runner.evidence.query import iter_records

    return [r for _n, r in iter_records(Path(ctx.state_dir) / "evidence") if r.get("type") == "event"]


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAINTCTL_STATE_DIR", str(tmp_path / "estate" / ".maintctl"))


def test_check_mode_reports_per_host_and_records_evidence(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "check")
    conf = tmp_path / "hosts" / "h2" / "app.conf"
    conf.write_text(app_conf("h2", workers=16))
    k = kind()
    assert k.needs_change_record(ctx) is False
    k.before(ctx)
    results = k.run_batch(ctx, HOSTS)
    assert [(r.host, r.status) for r in results] == [("h1", "ok"), ("h2", "changed"), ("h3", "ok")]
    assert conf.read_text() == app_conf("h2", workers=16)  # check mode changed nothing
    summary = k.after(ctx, results)
    assert summary["exit_code"] == 2  # drift on h2, and the shell task is unknown everywhere
    assert summary["drift"]["drift"] == 1 and summary["drift"]["unknown"] == 3
    events = ledger_events(ctx)
    h2 = next(
        e["payload"]["data"]
        for e in events
        if e["payload"]["event"] == "drift.host" and e["payload"]["data"]["host"] == "h2"
    )
    assert {f["check"]: f["status"] for f in h2["findings"]}["app.conf"] == "drift"
    assert h2["diff_sha256"]
    from runner.evidence.artifacts import artifact_path

    text = artifact_path(Path(ctx.state_dir) / "evidence", h2["diff_sha256"]).read_text()
    assert "-workers = 16" in text and "+workers = 4" in text


def test_apply_mode_remediates_drifted_hosts_only(tmp_path: Path) -> None:
    waive = [{"id": "W-1", "task": "app config self-test", "justification": "read-only probe", "expires": "2027-01-01"}]
    ctx = make_ctx(tmp_path, "apply", waive, remediate=True)
    for h in ("h1", "h3"):
        (tmp_path / "hosts" / h / "app.conf").write_text("hand edited\n")
    untouched = (tmp_path / "hosts" / "h2" / "app.conf").stat().st_mtime_ns
    k = kind()
    assert k.needs_change_record(ctx) is True
    k.before(ctx)
    results = k.run_batch(ctx, HOSTS)
    assert all(r.status == "ok" for r in results), [(r.host, r.message) for r in results]
    assert (tmp_path / "hosts" / "h1" / "app.conf").read_text() == app_conf("h1")
    assert (tmp_path / "hosts" / "h2" / "app.conf").stat().st_mtime_ns == untouched
    summary = k.after(ctx, results)
    assert summary["exit_code"] == 0 and summary["drift"]["waived"] == 3
    report = json.dumps(summary)
    assert "drift" in report
    notes = [s.message for r in results for s in r.steps if s.name == "app.conf"]
    assert notes.count("remediated: was drifted") == 2


def test_scheduled_apply_run_only_checks_unless_the_item_remediates(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "apply")
    conf = tmp_path / "hosts" / "h1" / "app.conf"
    conf.write_text("hand edited\n")
    k = kind()
    assert k.needs_change_record(ctx) is False  # changes nothing: no change record
    k.before(ctx)
    results = k.run_batch(ctx, HOSTS)
    assert [r.status for r in results] == ["changed", "ok", "ok"]
    assert conf.read_text() == "hand edited\n"
    from runner.kinds.drift.runner import REMEDIATE_REQUESTED

    REMEDIATE_REQUESTED.add(ctx.item.id)  # what `maintctl drift --remediate` asks for
    try:
        assert k.needs_change_record(ctx) is True
    finally:
        REMEDIATE_REQUESTED.discard(ctx.item.id)
