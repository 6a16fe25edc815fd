"""Classification of check+diff events: recorded events from a real run, and fresh real runs."""

from __future__ import annotations

from pathlib import Path

from drift_helpers import FIXTURES, load_events

from runner.kinds.drift.ansible_check import run_playbook, spec_for
from runner.kinds.drift.classify import classify, classify_event
from runner.kinds.drift.findings import Finding

DESIRED = "listen = 8080\nworkers = 4\n"


def by(findings: list[Finding]) -> dict[tuple[str, str], Finding]:
    return {(f.target, f.check): f for f in findings}


def test_recorded_events_classify_per_host_and_task() -> None:
    events, reasons = load_events("events-check.json")
    f = by(classify("cfg", events, reasons, hosts=["insync", "drifted", "gone"]))
    assert f[("insync", "app.conf content")].status == "in_sync"
    drifted = f[("drifted", "app.conf content")]
    assert drifted.status == "drift"
    assert "-workers = 8" in drifted.diff and "+workers = 4" in drifted.diff
    assert drifted.location == "playbooks/check.yml:7"
    # A shell task is skipped in check mode: unknown, never in sync.
    assert f[("insync", "reload marker")].status == "unknown"
    assert "check mode" in f[("insync", "reload marker")].message
    assert f[("drifted", "real-run only step")].status == "unknown"
    assert f[("insync", "only on canaries")].status == "in_sync"
    assert f[("drifted", "only on canaries")].status == "not_applicable"
    assert f[("gone", "app.conf content")].status == "error"
    assert "unreachable" in f[("gone", "app.conf content")].message


def test_skip_without_reported_reason_is_unknown_not_in_sync() -> None:
    events, _ = load_events("events-check.json")
    findings = classify("cfg", events, skip_reasons=None)
    skipped = [f for f in findings if f.check in ("reload marker", "real-run only step")]
    skipped.append(next(f for f in findings if (f.target, f.check) == ("drifted", "only on canaries")))
    assert len(skipped) == 5 and all(f.status == "unknown" for f in skipped)
    shell = next(f for f in skipped if f.check == "reload marker")
    assert "check mode not supported" in shell.message


def test_ok_result_flagged_skipped_for_check_mode_is_unknown() -> None:
    event = {
        "event": "runner_on_ok",
        "event_data": {
            "host": "h",
            "task": "t",
            "task_action": "community.general.foo",
            "task_uuid": "u",
            "res": {
                "skipped": True,
                "changed": False,
                "msg": "remote module (foo) does not support check mode",
            },
        },
    }
    finding = classify_event("i", event)
    assert finding is not None and finding.status == "unknown"


def test_failed_task_is_error_and_missing_host_is_error() -> None:
    event = {
        "event": "runner_on_failed",
        "event_data": {"host": "h", "task": "t", "res": {"msg": "boom\nmore"}},
    }
    findings = classify("i", [event], hosts=["h", "other"])
    assert {(f.target, f.status) for f in findings} == {("h", "error"), ("other", "error")}
    assert next(f for f in findings if f.target == "h").message == "failed: boom"


def test_handlers_are_not_findings() -> None:
    events = [
        {"event": "playbook_on_handler_task_start", "event_data": {"task_uuid": "hx"}},
        {
            "event": "runner_on_ok",
            "event_data": {"host": "h", "task": "restart", "task_uuid": "hx", "res": {"changed": True}},
        },
    ]
    assert classify("i", events) == []


def test_real_run_local_hosts(tmp_path: Path) -> None:
    from drift_helpers import local_inventory

    paths = {f"h{i}": tmp_path / f"h{i}.conf" for i in range(4)}
    for p in paths.values():
        p.write_text(DESIRED)
    paths["h2"].write_text("listen = 9090\nworkers = 4\n")
    paths["h3"].unlink()
    inv = local_inventory(tmp_path, {k: str(v) for k, v in paths.items()})
    run = run_playbook(spec_for(FIXTURES / "check.yml", inv, forks=4))
    f = by(classify("cfg", run.events, run.skip_reasons, hosts=list(paths)))
    assert f[("h0", "app.conf content")].status == "in_sync"
    assert f[("h1", "app.conf content")].status == "in_sync"
    assert f[("h2", "app.conf content")].status == "drift"
    assert "-listen = 9090" in f[("h2", "app.conf content")].diff
    assert f[("h3", "app.conf content")].status == "drift"  # missing file: would be created
    assert "+workers = 4" in f[("h3", "app.conf content")].diff
    assert all(f[(h, "reload marker")].status == "unknown" for h in paths)
    # check mode changed nothing
    assert paths["h2"].read_text().startswith("listen = 9090") and not paths["h3"].exists()


def test_real_run_after_remediation_is_in_sync(tmp_path: Path) -> None:
    from drift_helpers import local_inventory

    target = tmp_path / "x.conf"
    target.write_text("drifted\n")
    inv = local_inventory(tmp_path, {"x": str(target)})
    applied = run_playbook(spec_for(FIXTURES / "check.yml", inv, check=False))
    assert applied.rc == 0 and target.read_text() == DESIRED
    again = classify("cfg", run_playbook(spec_for(FIXTURES / "check.yml", inv)).events)
    assert by(again)[("x", "app.conf content")].status == "in_sync"


def test_same_task_name_twice_keeps_both_findings() -> None:
    def ok(path: str, changed: bool) -> dict[str, object]:
        return {
            "event": "runner_on_ok",
            "event_data": {"host": "h", "task": "conf", "task_path": path, "res": {"changed": changed}},
        }

    found = classify("i", [ok("a.yml:3", False), ok("b.yml:9", True), ok("b.yml:9", False)])
    assert sorted((f.check, f.status) for f in found) == [("conf @ a.yml:3", "in_sync"), ("conf @ b.yml:9", "drift")]
