"""A canary secret sent through every path never reaches the evidence folder or CLI output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner import redact
from runner.cli import main as cli
from runner.errors import EvidenceError
from runner.evidence.recorder import open_recorder

from .conftest import check, evidence_dir, lines

CANARY = "canary-Zq81-declared-secret"
VAULT = "canary-vault-77HH"
AWS = "canary/AWS+secret/KeyKeyKey0123456789abcd"
ACME = "canary-acme-eab-hmac-QQQ"
PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\ncanarypem\n-----END OPENSSH PRIVATE KEY-----"
ALL = (CANARY, VAULT, AWS, ACME, "canarypem", "short")


@pytest.fixture()
def cli_only_mine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMANDS", {"evidence": "runner.cli.evidence", "changes": "runner.cli.changes"})


def _assert_clean(estate: Path, text: str = "") -> None:
    for path in (estate / ".maintctl").rglob("*"):
        if path.is_file() and path.name != "evidence-ed25519.pem":
            data = path.read_bytes()
            for secret in ALL:
                assert secret.encode() not in data, f"{secret} leaked into {path}"
    for secret in ALL:
        assert secret not in text, f"{secret} leaked into CLI output"


def test_canary_never_reaches_evidence(estate: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str], cli_only_mine: None) -> None:  # fmt: skip
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS)
    redact.register([CANARY])  # a variable declared secret in the catalogue
    redact.register_names(["db_admin_pw"])  # declared secret name: masked even when short
    redact.register_mapping({"vault_db": {"password_value": VAULT}})  # vault-decrypted values
    rec = open_recorder(estate)  # registers credentials found in the environment
    bid = rec.open_bundle(
        run_id="r1", item_id="patch-web", occurrence="o",
        asked={"vars": {"api_token": "tok-" + CANARY, "db_admin_pw": "short"}, "reason": f"rotate {CANARY}",
               "plan": {"hosts": ["web1"], "env": {"RESTIC_PASSWORD": VAULT}}},
    )  # fmt: skip
    ansible_event = {
        "event": "runner_on_ok", "stdout": f"ok: [web1] => {{\"secret\": \"{VAULT}\"}}",
        "event_data": {"host": "web1", "task": "set password",
                       "res": {"_ansible_no_log": True, "stdout": CANARY, "changed": True, "msg": VAULT}},
    }  # fmt: skip
    rec.record(bid, "ansible.event", ansible_event)
    rec.record(bid, "ansible.event", {"event_data": {"res": {"censored": "hidden", "cmd": f"echo {CANARY}"}}})
    rec.record(bid, "host.result", {"host": "web1", "message": f"login failed for {CANARY}", "aws": AWS,
                                    "acme": {"eab_hmac_key": ACME}, "key": PEM})  # fmt: skip
    rec.record(bid, "command.output", {"stdout": f"export AWS_SECRET_ACCESS_KEY={AWS}\npassword: {VAULT}\n"})
    rec.artifact(bid, f"log-{CANARY}.txt", f"line1\nusing {CANARY} and {AWS}\n{PEM}\nend\n".encode())
    rec.artifact(bid, "binary", b"\x00\xff" + CANARY.encode() + b"\x80\x81")
    rec.close_bundle(bid, outcome="failed", summary={"error": f"boom {VAULT}", "change_id": "CHG1"})
    _assert_clean(estate)
    assert check(estate).ok
    events = [json.loads(x) for x in lines(estate) if b'"ansible.event"' in x]
    assert events[0]["payload"]["data"]["event_data"]["res"] == {"censored": redact.NO_LOG_MESSAGE,
                                                                  "_ansible_no_log": True}  # fmt: skip
    assert events[0]["payload"]["data"]["stdout"] == redact.MASK
    opened = json.loads(lines(estate)[1])
    assert opened["payload"]["asked"]["vars"]["db_admin_pw"] == redact.MASK

    # The CLI: list/show output and an error message carrying the secret.
    assert cli.main(["--estate", str(estate), "evidence", "show", bid[:10]]) == 0
    assert cli.main(["--estate", str(estate), "evidence", "show", "--json", bid]) == 0
    assert cli.main(["--estate", str(estate), "evidence", "show", f"nothing-{CANARY}"]) == 2
    assert cli.main(["--estate", str(estate), "changes", "show", f"CHG-{AWS}"]) == 1
    out = capsys.readouterr()
    assert "no evidence bundle matches" in out.err and "no change record" in out.err
    _assert_clean(estate, out.out + out.err)


def test_exception_message_is_redacted_by_the_cli(
    estate: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cli_only_mine: None
) -> None:
    from runner.cli import evidence as evidence_cli

    redact.register([CANARY])

    def boom(_args: object) -> Path:
        raise EvidenceError(f"cannot write: token {CANARY} rejected")

    monkeypatch.setattr(evidence_cli, "_root", boom)
    assert cli.main(["--estate", str(estate), "evidence", "pubkey"]) == 1
    err = capsys.readouterr().err
    assert "cannot write: token" in err and CANARY not in err


def test_shapes_masked_without_registration() -> None:
    text = (f"{PEM}\nAKIAIOSFODNN7EXAMPLE https://bob:pa55word@example.org/x Authorization: Bearer abc.def\n"
            "$ANSIBLE_VAULT;1.1;AES256\n6231653462\n--password hunter22 db_password=s3cr3t")  # fmt: skip
    out = redact.redact_text(text)
    for leak in ("canarypem", "AKIAIOSFODNN7EXAMPLE", "pa55word", "abc.def", "6231653462", "hunter22", "s3cr3t"):
        assert leak not in out
    assert "example.org" in out and "db_password=" in out


def test_artifact_bytes_redacted_keep_binary(estate: Path) -> None:
    redact.register([CANARY])
    data = b"\x00\xfe" + CANARY.encode() + b"\xff"
    assert redact.redact_bytes(data) == b"\x00\xfe" + redact.MASK.encode() + b"\xff"
    assert redact.redact_bytes(b"\x00\x01plain") == b"\x00\x01plain"
    assert evidence_dir(estate).name == "evidence"
