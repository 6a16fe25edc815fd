"""``maintctl evidence`` commands, end to end through the CLI entry point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runner.cli import main as cli
from runner.evidence.recorder import LedgerRecorder

from .conftest import evidence_dir, fill, lines, write_lines


@pytest.fixture(autouse=True)
def _only_mine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMANDS", {"evidence": "runner.cli.evidence"})


def run(estate: Path, *args: str) -> int:
    return cli.main(["--estate", str(estate), "evidence", *args])


def test_verify_ok_and_broken(estate: Path, recorder: LedgerRecorder, capsys: pytest.CaptureFixture[str]) -> None:
    fill(recorder)
    assert run(estate, "verify") == 0
    assert capsys.readouterr().out.startswith("OK: ")
    ls = lines(estate)
    ls[5] = ls[5].replace(b'"ok"', b'"KO"')
    write_lines(estate, ls)
    assert run(estate, "verify") == 2
    out = capsys.readouterr().out
    assert out.startswith("BROKEN: first broken record: line 6 (seq 5): record content does not match its hash")
    assert run(estate, "verify", "--full") == 2
    assert "line 6 (seq 5)" in capsys.readouterr().out
    assert run(estate, "verify", "--json") == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["first_broken"]["seq"] == 5 and doc["first_broken"]["line"] == 6


def test_pubkey_and_offline_verify_of_a_copied_folder(estate: Path, recorder: LedgerRecorder, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    fill(recorder)
    key = tmp_path / "key.pem"
    assert run(estate, "pubkey", "--out", str(key)) == 0
    assert key.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert run(estate, "pubkey") == 0
    assert capsys.readouterr().out == key.read_text()
    copy = tmp_path / "auditor" / "evidence"
    shutil.copytree(evidence_dir(estate), copy)
    assert cli.main(["evidence", "verify", "--dir", str(copy), "--pubkey", str(key)]) == 0
    assert cli.main(["evidence", "verify", "--dir", str(copy)]) == 2  # a folder cannot vouch for itself
    assert "needs --pubkey" in capsys.readouterr().err
    assert cli.main(["evidence", "verify", "--dir", str(copy), "--pubkey", str(tmp_path / "none.pem")]) == 2


def test_anchor_option(estate: Path, recorder: LedgerRecorder, tmp_path: Path) -> None:
    fill(recorder)
    saved = tmp_path / "anchor.json"
    shutil.copy(estate / ".maintctl" / "evidence.anchor.json", saved)
    ls = lines(estate)
    cut = max(i for i, raw in enumerate(ls[:-1]) if b'"type":"checkpoint"' in raw) + 1
    write_lines(estate, ls[:cut])
    (estate / ".maintctl" / "evidence.anchor.json").unlink()  # the attacker removed the local anchor too
    key = tmp_path / "k.pem"
    run(estate, "pubkey", "--out", str(key))
    assert run(estate, "verify") == 0
    assert run(estate, "verify", "--anchor", str(saved)) == 2


def test_list_show_filters(estate: Path, recorder: LedgerRecorder, capsys: pytest.CaptureFixture[str]) -> None:
    ids = fill(recorder, bundles=2, events=4)
    other = recorder.open_bundle(run_id="r9", item_id="backup-db", occurrence="o", asked={"plan": {"hosts": ["db1"]}})
    capsys.readouterr()
    assert run(estate, "list", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [*ids, other]
    assert rows[0]["outcome"] == "succeeded" and rows[0]["change_id"] == "CHG0" and rows[0]["approver"] == "alice"
    assert rows[2]["outcome"] == "" and rows[2]["hosts"] == ["db1"]
    assert run(estate, "list", "--json", "--item", "patch-1") == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [ids[1]]
    assert run(estate, "list", "--json", "--host", "db1") == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [other]
    assert run(estate, "list", "--json", "--since", "2999-01-01") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert run(estate, "list", "--json", "--until", "2999-01-01T00:00:00+01:00", "--since", "2000-01-01") == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    assert run(estate, "list") == 0
    table = capsys.readouterr().out
    assert "BUNDLE" in table and "(open)" in table and "patch-0" in table
    assert run(estate, "list", "--since", "last tuesday") == 2
    assert "--since 'last tuesday': not an ISO 8601" in capsys.readouterr().err
    assert run(estate, "show", ids[0]) == 0
    shown = capsys.readouterr().out
    assert "bundle.opened" in shown and "bundle.closed" in shown and "artifacts/" in shown


def test_export_verifies_on_its_own(estate: Path, recorder: LedgerRecorder, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    ids = fill(recorder, bundles=3, events=3)
    out = tmp_path / "export"
    key = tmp_path / "k.pem"
    run(estate, "pubkey", "--out", str(key))
    assert run(estate, "export", ids[1], "--out", str(out)) == 0
    assert cli.main(["evidence", "verify", "--dir", str(out), "--pubkey", str(key)]) == 0
    records = json.loads((out / "bundle.json").read_text())
    assert {r["bundle"] for r in records} == {ids[1]}
    exported = (out / "ledger.jsonl").read_bytes().splitlines()
    assert json.loads(exported[-1])["type"] == "checkpoint" and len(exported) < len(lines(estate))
    assert run(estate, "export", ids[1], "--out", str(out)) == 2  # not into a non-empty folder
    assert run(estate, "export", "zzz", "--out", str(tmp_path / "e2")) == 2
